"""Engine errors. Each maps to one HTTP status in the API and one exit code in the CLI."""
from __future__ import annotations


class EngineError(Exception):
    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidInput(EngineError):
    """Input that does not validate; ``path`` is the JSON path of the offending value."""

    status = 422

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.detail = message


class NotFound(EngineError):
    status = 404


class Conflict(EngineError):
    """A stale version (optimistic locking) or a duplicate; nothing was written."""

    status = 409


class Refused(EngineError):
    """An event that makes no sense in the dossier's state, or a value outside the law's range."""

    def __init__(self, message: str, status: int = 409):
        super().__init__(message)
        self.status = status


class ProcessDeploymentError(EngineError):
    """A BPMN file that does not parse or validate (names file, line and reason)."""

    status = 500
