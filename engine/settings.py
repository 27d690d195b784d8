"""Settings from the environment (``INBURGERING_*``), with embedded defaults."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite:///var/inburgering.db"


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    jwt_secret: str = "dev-only-signing-key-change-me-in-production"
    jwt_issuer: str = "inburgering"
    token_hours: int = 12
    demo_data: bool = True
    sweep_hour: int = 2
    #: Dossiers kept loaded between units of work (engine/cache.py); 0 switches the cache off.
    cache_size: int = 4096
    #: The business clock a new store gets (engine/clock.py StoreClock): "wall" (production) or
    #: "manual" (a demo or simulation store, moved by `sweep --until` and `clock advance`).
    clock_mode: str = "wall"
    #: Where a new store's manual clock starts (ISO 8601 instant with offset; default: the wall clock now).
    clock_start: str | None = None
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        env = os.environ
        values = {
            "database_url": env.get("INBURGERING_DATABASE_URL", DEFAULT_DATABASE_URL),
            "jwt_secret": env.get("INBURGERING_JWT_SECRET", cls.jwt_secret),
            "cache_size": _int(env, "INBURGERING_CACHE_SIZE", cls.cache_size),
            "clock_mode": _choice(env, "INBURGERING_CLOCK", ("wall", "manual"), cls.clock_mode),
            "clock_start": env.get("INBURGERING_CLOCK_START") or None,
            "demo_data": env.get("INBURGERING_DEMO_DATA", "1") not in ("0", "false", "no"),
            # The web UI's development sign-in lets anyone choose a role: switch it off in production.
            "extra": {"dev_login": env.get("INBURGERING_DEV_LOGIN", "1") not in ("0", "false", "no")},
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def _choice(env, name: str, choices: tuple[str, ...], default: str) -> str:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw not in choices:
        raise ValueError(f"{name}={raw!r}: expected one of {', '.join(choices)}")
    return raw


def _int(env, name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r}: expected a whole number") from None
    if value < 0:
        raise ValueError(f"{name}={raw!r}: must be 0 or more")
    return value


def ensure_sqlite_dir(url: str) -> None:
    """Create the folder of a file-based SQLite URL (``sqlite:///var/x.db``)."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
