"""Settings from the environment (``INBURGERING_*``), with embedded defaults.

Identity is secure by default (ENGINEERING.md principle 14): there is no built-in signing
key and no development sign-in. ``inburgering serve`` refuses to start without a configured
identity — a signing secret of at least 32 bytes (``INBURGERING_JWT_SECRET``) or an OIDC
issuer (``INBURGERING_OIDC_ISSUER`` with ``INBURGERING_OIDC_AUDIENCE``) — unless it runs as
an explicit demo (``serve --demo``: development sign-in, demo data, a random signing key kept
in the store). :func:`identity_problem` says what is missing, naming the setting.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite:///var/inburgering.db"
#: The key earlier releases signed with when none was configured; refused everywhere now.
RETIRED_DEFAULT_SECRET = "dev-only-signing-key-change-me-in-production"
MIN_SECRET_BYTES = 32


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    #: HS256 signing key of ``inburgering token`` and the demo sign-in; "" = none (then only OIDC tokens).
    jwt_secret: str = ""
    jwt_issuer: str = "inburgering"
    #: Lifetime of the tokens this service issues (``inburgering token``, the demo sign-in).
    token_hours: int = 12
    #: Longest lifetime (exp - iat) of any token accepted, ours or the OIDC provider's.
    max_token_hours: int = 12
    demo_data: bool = True
    #: The explicit demo (``serve --demo``): development sign-in and a banner in the web interface.
    demo: bool = False
    sweep_hour: int = 2
    #: Dossiers kept loaded between units of work (engine/cache.py); 0 switches the cache off.
    cache_size: int = 4096
    #: Of those, how many are kept as live objects; the others are kept packed (their rows as
    #: written) and rebuilt when used, so Python's full garbage collections stay short.
    cache_live: int = 128
    #: The business clock a new store gets (engine/clock.py StoreClock): "wall" (production) or
    #: "manual" (a demo or simulation store, moved by `sweep --until` and `clock advance`).
    clock_mode: str = "wall"
    #: Where a new store's manual clock starts (ISO 8601 instant with offset; default: the wall clock now).
    clock_start: str | None = None
    #: Largest request body accepted, in bytes (413 beyond, enforced while reading).
    max_body_bytes: int = 1_000_000
    # ----- OIDC (api/oidc.py); off while oidc_issuer is "" -----
    oidc_issuer: str = ""
    #: Discovery document; default ``{issuer}/.well-known/openid-configuration``.
    oidc_discovery_url: str = ""
    #: JWKS URL; default: the discovery document's ``jwks_uri``.
    oidc_jwks_url: str = ""
    #: The ``aud`` API bearer tokens must carry.
    oidc_audience: str = ""
    #: Browser sign-in (authorization code + PKCE) when set; ID tokens carry it as ``aud``.
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_scopes: str = "openid profile"
    #: Claims naming the user, the role and the agency.
    oidc_user_claim: str = "sub"
    oidc_role_claim: str = "role"
    oidc_agency_claim: str = "agency"
    #: Provider values → our roles/agencies, e.g. ``{"inburgering-caseworkers": "caseworker"}``.
    oidc_role_map: dict = field(default_factory=dict)
    oidc_agency_map: dict = field(default_factory=dict)
    #: The address browsers reach this service at (``https://host``), for the OIDC redirect URI and
    #: the CSRF origin check behind a proxy; default: the request's own address.
    public_url: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def oidc(self) -> bool:
        return bool(self.oidc_issuer)

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        env = os.environ
        values = {
            "database_url": env.get("INBURGERING_DATABASE_URL", DEFAULT_DATABASE_URL),
            "jwt_secret": env.get("INBURGERING_JWT_SECRET", ""),
            "token_hours": _int(env, "INBURGERING_TOKEN_HOURS", cls.token_hours),
            "max_token_hours": _int(env, "INBURGERING_MAX_TOKEN_HOURS", cls.max_token_hours),
            "cache_size": _int(env, "INBURGERING_CACHE_SIZE", cls.cache_size),
            "cache_live": _int(env, "INBURGERING_CACHE_LIVE", cls.cache_live),
            "clock_mode": _choice(env, "INBURGERING_CLOCK", ("wall", "manual"), cls.clock_mode),
            "clock_start": env.get("INBURGERING_CLOCK_START") or None,
            "max_body_bytes": _int(env, "INBURGERING_MAX_BODY_BYTES", cls.max_body_bytes),
            "demo_data": env.get("INBURGERING_DEMO_DATA", "1") not in ("0", "false", "no"),
            "oidc_issuer": env.get("INBURGERING_OIDC_ISSUER", "").rstrip("/"),
            "oidc_discovery_url": env.get("INBURGERING_OIDC_DISCOVERY_URL", ""),
            "oidc_jwks_url": env.get("INBURGERING_OIDC_JWKS_URL", ""),
            "oidc_audience": env.get("INBURGERING_OIDC_AUDIENCE", ""),
            "oidc_client_id": env.get("INBURGERING_OIDC_CLIENT_ID", ""),
            "oidc_client_secret": env.get("INBURGERING_OIDC_CLIENT_SECRET", ""),
            "oidc_scopes": env.get("INBURGERING_OIDC_SCOPES", cls.oidc_scopes),
            "oidc_user_claim": env.get("INBURGERING_OIDC_USER_CLAIM", cls.oidc_user_claim),
            "oidc_role_claim": env.get("INBURGERING_OIDC_ROLE_CLAIM", cls.oidc_role_claim),
            "oidc_agency_claim": env.get("INBURGERING_OIDC_AGENCY_CLAIM", cls.oidc_agency_claim),
            "oidc_role_map": _mapping(env, "INBURGERING_OIDC_ROLE_MAP"),
            "oidc_agency_map": _mapping(env, "INBURGERING_OIDC_AGENCY_MAP"),
            "public_url": env.get("INBURGERING_PUBLIC_URL", "").rstrip("/"),
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
def identity_problem(settings: Settings) -> str | None:
    """Why a non-demo server may not start with these settings (naming the setting), or None."""
    if settings.token_hours < 1 or settings.token_hours > settings.max_token_hours:
        return (f"INBURGERING_TOKEN_HOURS={settings.token_hours} must be between 1 and "
                f"INBURGERING_MAX_TOKEN_HOURS={settings.max_token_hours}")
    secret = secret_problem(settings.jwt_secret) if settings.jwt_secret else None
    if secret:
        return secret
    if settings.oidc:
        if not settings.oidc_audience:
            return "INBURGERING_OIDC_AUDIENCE is not set: OIDC tokens are accepted only for a configured audience"
        return None
    if not settings.jwt_secret:
        return ("no identity configured: set INBURGERING_JWT_SECRET (at least 32 random bytes) or "
                "INBURGERING_OIDC_ISSUER and INBURGERING_OIDC_AUDIENCE, or run `inburgering serve --demo`")
    return None


def secret_problem(secret: str) -> str | None:
    if secret == RETIRED_DEFAULT_SECRET:
        return "INBURGERING_JWT_SECRET is the published default of an earlier release: choose a random one"
    if len(secret.encode()) < MIN_SECRET_BYTES:
        return (f"INBURGERING_JWT_SECRET is {len(secret.encode())} bytes; it must be at least "
                f"{MIN_SECRET_BYTES} (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)")
    return None


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


def _mapping(env, name: str) -> dict:
    """``a=b,c=d`` → ``{"a": "b", "c": "d"}``."""
    raw = env.get(name, "").strip()
    if not raw:
        return {}
    pairs = {}
    for item in raw.split(","):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ValueError(f"{name}={raw!r}: expected provider-value=our-value pairs separated by commas")
        pairs[key.strip()] = value.strip()
    return pairs


def ensure_sqlite_dir(url: str) -> None:
    """Create the folder of a file-based SQLite URL (``sqlite:///var/x.db``)."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
