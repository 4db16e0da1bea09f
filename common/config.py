"""Settings from environment variables: one pydantic-settings model per process kind.

- `PlatformSettings`: what every process reads (broker, database, demo mode);
- `GatewaySettings`: the gateway (tokens, login throttling, limits, RPC);
- `ServiceSettings`: every nameko service (nameko.yaml, metrics, clock watch), and one subclass per
  service that has settings of its own (`IntakeSettings`, `RoutingSettings`, `NotificationSettings`,
  `ReportingSettings`; mediation has none beyond `ServiceSettings`);
- `RunnerSettings`: `make run` (`ops/run.py`), which starts all of them; `AccountsSettings`: the
  accounts command.

A variable keeps its exact name (upper case) and default. docs/settings.md is generated from these
models (`python -m ops.settings_doc`); tests/unit/test_settings.py fails when it is out of date. The
libraries' own variables are listed there, not modelled here: the OpenTelemetry SDK's `OTEL_*`
(common/telemetry.py reads them as the SDK does) and prometheus_client's `PROMETHEUS_MULTIPROC_DIR`.
This module is of the platform layer: it imports nothing of the platform's own.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from typing import Annotated, Any, Self
from urllib.parse import urlsplit, urlunsplit

from pydantic import BeforeValidator, Field, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict


def _on_when_one(value: Any) -> Any:
    """A switch is on only when set to `1`, as it always was (`true` or an empty value is off)."""
    return value == "1" if isinstance(value, str) else value


Switch = Annotated[bool, BeforeValidator(_on_when_one)]


def _empty_is_zero(value: Any) -> Any:
    return value or 0


class _Environment(BaseSettings):
    model_config = SettingsConfigDict(
        case_sensitive=True,
        alias_generator=str.upper,  # the variable is the field's name in upper case
        populate_by_name=True,
        extra="ignore",
        frozen=True,
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # the environment only: no .env file or secrets directory the platform never had
        return init_settings, env_settings

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self:
        """The settings of a process given `env` (e.g. what a runner starts its children with): a
        variable in `env` wins over the process's own environment, which wins over the default."""
        names = {field.alias for field in cls.model_fields.values()}
        return cls(**{name: value for name, value in env.items() if name in names})


class PlatformSettings(_Environment):
    """Every process: the gateway, the five services, `make run`, migrations and the command-line tools."""

    amqp_uri: str = Field(
        "amqp://guest:guest@127.0.0.1:5672/disputes", description="RabbitMQ; the vhost is created if missing"
    )
    amqp_quorum_queues: Switch = Field(
        False,
        description="`1`: every durable queue is a quorum queue, for a broker of several nodes "
        "([deploy.md](deploy.md#quorum-queues))",
    )
    database_url: str = Field(
        "postgresql://postgres@127.0.0.1:5432/disputes", description="PostgreSQL; the database is created if missing"
    )
    demo_mode: Switch = Field(False, description="`1` (`make run`'s default): load the demo accounts")
    demo_password: str = Field("demo-password", description="password of every demo account")


class GatewaySettings(PlatformSettings):
    """The gateway (`uvicorn gateway.app:app`)."""

    jwt_secret: str = Field(
        "",
        repr=False,
        description="signs staff tokens; the same in every gateway process. Unset: a random one of this "
        "process, in demo mode only: outside it the gateway (and `make run`) refuses to start without it, "
        "and without `SMS_SECRET` when `SMS_PROVIDER` is not `log`, or `WEBHOOK_SECRET` when `WEBHOOK_URL` "
        "is set ([identity.md](identity.md#secrets))",
    )
    token_ttl_seconds: int = Field(900, description="lifetime of a staff access token")
    refresh_ttl_seconds: int = Field(7 * 24 * 3600, description="lifetime of a refresh token (7 days)")
    login_failures_per_username: int = Field(
        5, description="failed logins of a username from one address before a growing delay"
    )
    login_failures_per_ip: int = Field(20, description="failed logins from one address before 429 for the window")
    login_delay_seconds: int = Field(
        30, description="the first delay after those failures, doubled with each further one"
    )
    login_window_seconds: int = Field(900, description="the login throttling window")
    forwarded_allow_ips: str = Field(
        "",
        description="proxies (addresses or networks, comma-separated) whose `X-Forwarded-For` names the client; "
        "its rightmost entry that is no such proxy counts ([identity.md](identity.md#login-throttling))",
    )
    rpc_timeout_seconds: float = Field(
        10,
        description="how long the gateway waits for a service; a request still queued or not yet committed then "
        "is dropped, never done later ([architecture.md](architecture.md#failure-policy))",
    )
    max_submissions_in_flight: int = Field(
        16,
        description="complaints one gateway process lets wait on intake at once; one more is answered 503 "
        "`overloaded` with `Retry-After` at once ([performance.md](performance.md#admission-control))",
    )
    max_body_bytes: int = Field(64 * 1024, description="largest request body the gateway reads")
    max_upload_bytes: int = Field(
        32 * 1024 * 1024,
        description="largest body of an evidence upload or a raw e-mail, 32 MiB ([intake.md](intake.md))",
    )

    @field_validator("jwt_secret")
    @classmethod
    def _random_when_unset(cls, value: str) -> str:
        return value or secrets.token_urlsafe(32)


class ServiceSettings(PlatformSettings):
    """Every nameko service (`nameko run --config deploy/nameko.yaml services.<name>.service:...`)."""

    database_read_url: str = Field(
        "",
        description="a standby (or a pooler in front of the standbys) for the reads that may be seconds behind: "
        "reports, disclosure figures, the case list; unset: `DATABASE_URL` "
        "([deploy.md](deploy.md#scaling-each-piece)). Read by nameko through deploy/nameko.yaml",
    )
    max_workers: int = Field(10, description="nameko workers per service process (deploy/nameko.yaml)")
    event_batch_window_seconds: float = Field(
        0.05,
        description="a batched event handler (intake's, routing's and notification's busiest) waits this long "
        "after an event for others of its queue and handles them in one transaction "
        "([architecture.md](architecture.md#failure-policy))",
    )
    log_level: str = Field("INFO", description="service log level (deploy/nameko.yaml)")
    metrics_port: Annotated[int, BeforeValidator(_empty_is_zero)] = Field(
        0,
        description="where the service serves Prometheus `/metrics`; 0: nowhere (`make run` sets it from "
        "`METRICS_PORT_BASE`) ([observability.md](observability.md))",
    )
    metrics_host: str = Field("127.0.0.1", description="the address `/metrics` listens on")
    metrics_poll_seconds: float = Field(
        15.0, description="how often the outbox backlog and queue depths are read for `/metrics`"
    )
    clock_watch_interval_seconds: float = Field(
        5,
        description="how often intake, routing and mediation look for clocks turning yellow or red (and mediation "
        "for cases past their 60 days) ([observability.md](observability.md#clock-warning-lights))",
    )
    open_cases_interval_seconds: float = Field(
        30, description="how often each of them recounts its running clocks for the `disputes_open_cases` gauge"
    )
    official_calendar_refresh_seconds: float = Field(
        30,
        description="how often each process of intake, routing and mediation looks at its service's copy of the "
        "official calendar ([tenants.md](tenants.md#the-official-calendar))",
    )


class IntakeSettings(ServiceSettings):
    """The intake service."""

    evidence_dir: str = Field(
        "", description="where the filesystem evidence store keeps files; unset: `var/evidence` in the checkout"
    )


class RoutingSettings(ServiceSettings):
    """The routing service."""

    routing_tree_check_seconds: float = Field(
        10, description="how often a routing process checks its tenant tree against the registry (another changed it)"
    )
    official_calendar_check_seconds: float = Field(
        300,
        description="how often routing checks that this year and (from 1 December) next year have an official schedule",
    )


class TenantDefaults(_Environment):
    """Notification's defaults of every tenant's own settings (services/notification/settings.py), apart
    because they are read for every message planned: a model of two fields reads quickly."""

    sms_quiet_hours: str = Field(
        "21:00-08:00",
        description="`HH:MM-HH:MM` (Asia/Shanghai) or `off` (also when empty): a non-time-critical SMS waits "
        "until the window ends; a tenant's `quiet_hours` wins",
    )
    webhook_url: str = Field(
        "", description="agencies' webhook (`{tenant}` is replaced); an agency's own `webhook_url` setting wins"
    )


class NotificationSettings(ServiceSettings, TenantDefaults):
    """The notification service: channels, retries, quiet hours ([notification.md](notification.md))."""

    sms_provider: str = Field("log", description="`log` (a file, demo) or `http` (`SMS_ENDPOINT`)")
    sms_endpoint: str = Field("", description="the SMS provider's URL (`SMS_PROVIDER=http`)")
    sms_secret: str = Field(
        "", repr=False, description="signs the SMS sent to `SMS_ENDPOINT` and verifies the provider's delivery reports"
    )
    sms_log_file: str = Field(
        "var/sms.log",
        description="demo SMS log (`SMS_PROVIDER=log`): every SMS as a JSON line, one-time codes included "
        "([parties.md](parties.md))",
    )
    email_provider: str = Field("log", description="`log` (demo) or `smtp`")
    smtp_host: str = Field("127.0.0.1", description="the mail server (`EMAIL_PROVIDER=smtp`)")
    smtp_port: int = Field(25, description="its port")
    smtp_from: str = Field("noreply@disputes.local", description="the sender address")
    smtp_starttls: Switch = Field(False, description="`1`: STARTTLS")
    smtp_user: str = Field("", description="login at the mail server, if it asks")
    smtp_password: str = Field("", repr=False, description="its password")
    webhook_secret: str = Field(
        "", repr=False, description="signs what agencies' systems get; an agency's own `webhook_secret` wins"
    )
    portal_url: str = Field(
        "/business/", description="where the SMS inviting a business sends it (the portal's business page)"
    )
    notification_delivery_interval_seconds: float = Field(1, description="how often due messages are sent")
    notification_max_attempts: int = Field(6, description="attempts before a message fails")
    notification_retry_base_seconds: float = Field(
        30, description="the first retry's delay, doubled with each attempt (with jitter)"
    )
    notification_retry_max_seconds: float = Field(3600, description="the longest delay between attempts")
    notification_lease_seconds: float = Field(
        60, description="how long a process holds a message it is sending before another may take it"
    )
    agency_reminder_seconds: float = Field(
        86400, description="how often an agency that has not acknowledged a handover is reminded"
    )
    agency_max_reminders: int = Field(3, description="at most this many reminders")


class ReportingSettings(ServiceSettings):
    """The reporting service ([reporting.md](reporting.md))."""

    reporting_monthly_interval_seconds: float = Field(
        3600, description="how often reporting produces the monthly reports of the month just ended"
    )
    reporting_fold_interval_seconds: float = Field(
        1, description="how often the rollup deltas are folded into the rollups"
    )
    reporting_batch_window_seconds: float = Field(
        0.25,
        description="an event handler waits this long after an event for others of its queue, and folds "
        "them in one transaction",
    )


class RunnerSettings(PlatformSettings):
    """`make run` (`python -m ops.run`), which starts the services and the gateway with its own environment."""

    gateway_host: str = Field("127.0.0.1", description="where the gateway listens")
    gateway_port: int = Field(8000, description="its port")
    metrics_port_base: int = Field(
        9101,
        description="the services serve `/metrics` on this port and the next four (intake, routing, mediation, "
        "notification, reporting); the gateway on its own port",
    )
    service_processes: str = Field(
        "",
        description="processes per service, e.g. `routing=3,intake=2`; unset: one each "
        "([deploy.md](deploy.md#several-processes-of-a-service))",
    )


class AccountsSettings(PlatformSettings):
    """The accounts command (`python -m gateway.accounts`, [identity.md](identity.md))."""

    new_user_password: str = Field(
        "", repr=False, description="`create-user`: the new account's password; unset: it is asked for"
    )


# every model, in the order docs/settings.md shows them
MODELS: tuple[type[PlatformSettings], ...] = (
    PlatformSettings,
    GatewaySettings,
    ServiceSettings,
    IntakeSettings,
    RoutingSettings,
    NotificationSettings,
    ReportingSettings,
    RunnerSettings,
    AccountsSettings,
)


def settings() -> PlatformSettings:
    """What every process reads, from the environment now."""
    return PlatformSettings()


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
