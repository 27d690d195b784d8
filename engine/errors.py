"""Engine errors. Each maps to one HTTP status in the API and one exit code in the CLI.

Every error carries a stable ``code`` and its ``params`` (plain JSON values), besides an
English ``message`` for logs and developers. Doors render the code in the reader's
language from one catalogue (``api/web/i18n.py``, keys ``code.<code>``, rendered by
``api/web/messages.py``; ``tests/api/test_error_codes.py`` fails for a raise site without a
code or a code without a Dutch text); the code and the params are the
contract, the English text is not.
"""
from __future__ import annotations

from typing import Any


class EngineError(Exception):
    status = 400
    #: the code used when a raise site names none (one per class)
    default_code = "error"

    def __init__(self, message: str, *, code: str | None = None, params: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.params = dict(params or {})


class InvalidInput(EngineError):
    """Input that does not validate; ``path`` is the JSON path of the offending value."""

    status = 422
    default_code = "invalid_input"

    def __init__(self, path: str, message: str, *, code: str | None = None, params: dict[str, Any] | None = None):
        super().__init__(f"{path}: {message}", code=code, params={"path": path, "detail": message, **(params or {})})
        self.path = path
        self.detail = message


class NotFound(EngineError):
    status = 404
    default_code = "not_found"


class Conflict(EngineError):
    """A stale version (optimistic locking) or a duplicate; nothing was written."""

    status = 409
    default_code = "conflict"


class Refused(EngineError):
    """An event that makes no sense in the dossier's state, or a value outside the law's range."""

    default_code = "refused"

    def __init__(self, message: str, status: int = 409, *, code: str | None = None,
                 params: dict[str, Any] | None = None):
        super().__init__(message, code=code, params=params)
        self.status = status


class ProcessDeploymentError(EngineError):
    """A BPMN file that does not parse or validate (names file, line and reason)."""

    status = 500
    default_code = "process_deployment"
