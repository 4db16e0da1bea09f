"""Settings from environment variables, with the defaults documented in the README."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


@dataclass(frozen=True)
class Settings:
    amqp_uri: str = field(default_factory=lambda: _env("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/disputes"))
    database_url: str = field(
        default_factory=lambda: _env("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/disputes")
    )
    jwt_secret: str = field(default_factory=lambda: _env("JWT_SECRET", "change-me-outside-demo"))
    token_ttl_seconds: int = field(default_factory=lambda: int(_env("TOKEN_TTL_SECONDS", "900")))
    refresh_ttl_seconds: int = field(default_factory=lambda: int(_env("REFRESH_TTL_SECONDS", str(7 * 24 * 3600))))
    login_window_seconds: int = field(default_factory=lambda: int(_env("LOGIN_WINDOW_SECONDS", "900")))
    login_failures_per_username: int = field(default_factory=lambda: int(_env("LOGIN_FAILURES_PER_USERNAME", "5")))
    login_failures_per_ip: int = field(default_factory=lambda: int(_env("LOGIN_FAILURES_PER_IP", "20")))
    demo_mode: bool = field(default_factory=lambda: _env("DEMO_MODE", "0") == "1")
    demo_password: str = field(default_factory=lambda: _env("DEMO_PASSWORD", "demo-password"))
    rpc_timeout_seconds: float = field(default_factory=lambda: float(_env("RPC_TIMEOUT_SECONDS", "10")))
    max_submissions_in_flight: int = field(default_factory=lambda: int(_env("MAX_SUBMISSIONS_IN_FLIGHT", "16")))
    max_body_bytes: int = field(default_factory=lambda: int(_env("MAX_BODY_BYTES", str(64 * 1024))))
    max_upload_bytes: int = field(default_factory=lambda: int(_env("MAX_UPLOAD_BYTES", str(32 * 1024 * 1024))))


def settings() -> Settings:
    return Settings()
