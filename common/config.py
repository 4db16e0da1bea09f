"""Settings from environment variables, with the defaults documented in the README."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


@dataclass(frozen=True)
class Settings:
    amqp_uri: str = field(default_factory=lambda: _env("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/disputes"))
    database_url: str = field(
        default_factory=lambda: _env("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/disputes")
    )
    # unset: a random one of this process (demo mode only: elsewhere the gateway refuses to start)
    jwt_secret: str = field(default_factory=lambda: os.environ.get("JWT_SECRET") or secrets.token_urlsafe(32))
    token_ttl_seconds: int = field(default_factory=lambda: int(_env("TOKEN_TTL_SECONDS", "900")))
    refresh_ttl_seconds: int = field(default_factory=lambda: int(_env("REFRESH_TTL_SECONDS", str(7 * 24 * 3600))))
    login_window_seconds: int = field(default_factory=lambda: int(_env("LOGIN_WINDOW_SECONDS", "900")))
    login_failures_per_username: int = field(default_factory=lambda: int(_env("LOGIN_FAILURES_PER_USERNAME", "5")))
    login_failures_per_ip: int = field(default_factory=lambda: int(_env("LOGIN_FAILURES_PER_IP", "20")))
    login_delay_seconds: int = field(default_factory=lambda: int(_env("LOGIN_DELAY_SECONDS", "30")))
    # proxies whose X-Forwarded-For names the client (gateway/throttle.py); none by default
    forwarded_allow_ips: str = field(default_factory=lambda: _env("FORWARDED_ALLOW_IPS", ""))
    demo_mode: bool = field(default_factory=lambda: _env("DEMO_MODE", "0") == "1")
    demo_password: str = field(default_factory=lambda: _env("DEMO_PASSWORD", "demo-password"))
    # durable queues as quorum queues (replicated over the broker's nodes): common/messaging.py
    amqp_quorum_queues: bool = field(default_factory=lambda: _env("AMQP_QUORUM_QUEUES", "0") == "1")
    rpc_timeout_seconds: float = field(default_factory=lambda: float(_env("RPC_TIMEOUT_SECONDS", "10")))
    max_submissions_in_flight: int = field(default_factory=lambda: int(_env("MAX_SUBMISSIONS_IN_FLIGHT", "16")))
    max_body_bytes: int = field(default_factory=lambda: int(_env("MAX_BODY_BYTES", str(64 * 1024))))
    max_upload_bytes: int = field(default_factory=lambda: int(_env("MAX_UPLOAD_BYTES", str(32 * 1024 * 1024))))


def settings() -> Settings:
    return Settings()


def service_role(service: str) -> str:
    """The database role a service connects as: it owns the service's schema and nothing else
    (common.migrations.own_service_schemas)."""
    return f"{service}_service"


def service_database_url(service: str, database_url: str | None = None, setting: str = "DATABASE_URL") -> str:
    """Where `service` connects: `<SERVICE>_DATABASE_URL` (`<SERVICE>_DATABASE_READ_URL` for the
    standby's `setting`), or else `database_url` (by default DATABASE_URL) with the service's role as
    the user and the same password."""
    explicit = os.environ.get(f"{service.upper()}_{setting}")
    if explicit:
        return explicit
    parts = urlsplit(database_url or settings().database_url)
    _, at, host = parts.netloc.rpartition("@")
    password = parts.password
    user = service_role(service) + (f":{password}" if password is not None else "")
    return urlunsplit(parts._replace(netloc=f"{user}@{host if at else parts.netloc}"))


def missing_secrets(env: Mapping[str, str] | None = None) -> list[str]:
    """The secrets a platform outside demo mode must be given and is not, each with what it is for."""
    env = os.environ if env is None else env
    if env.get("DEMO_MODE", "0") == "1":
        return []
    missing = []
    if not env.get("JWT_SECRET"):
        missing.append("JWT_SECRET (signs staff tokens: a long random string, the same in every gateway process)")
    if env.get("SMS_PROVIDER", "log") != "log" and not env.get("SMS_SECRET"):
        missing.append("SMS_SECRET (signs the SMS sent to SMS_ENDPOINT and verifies the provider's delivery reports)")
    if env.get("WEBHOOK_URL") and not env.get("WEBHOOK_SECRET"):
        missing.append("WEBHOOK_SECRET (signs what agencies' systems get at WEBHOOK_URL)")
    return missing


def refusal(missing: list[str]) -> str:
    """Why the platform does not start, and what to set."""
    return (
        "refusing to start outside demo mode (DEMO_MODE=0) without these settings: "
        + "; ".join(missing)
        + ". Set them in the environment (e.g. JWT_SECRET=$(openssl rand -base64 32)), or DEMO_MODE=1 for a demo."
    )
