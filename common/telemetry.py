"""Traces and per-worker metrics: one OpenTelemetry trace per complaint, across every hop.

The W3C trace context travels in AMQP message headers as nameko context data
(`nameko.traceparent`, `nameko.tracestate`):

- the gateway opens a SERVER span per request (`AsgiTelemetry`, which also continues a
  `traceparent` the client sent) and a CLIENT span per RPC call, injected into the call's headers
  by `gateway.rpc.RpcClient` (`rpc_client_span`);
- `Telemetry`, a nameko DependencyProvider on every service class, opens a SERVER (RPC) or
  CONSUMER (event) span per worker from the context data, makes it current, and writes it back
  into the worker's context data, so nameko forwards it on onward RPC calls;
- `UnitOfWork.emit` stores the current context in the outbox row's headers (`trace_headers`), the
  relay publishes them under a PRODUCER span (`producer_span`), and the consumer continues the trace;
- `instrument_engine` adds a span per SQL statement, only inside a sampled span.

The exporter follows the standard variables: `OTEL_TRACES_EXPORTER` = `none` (the default: no
provider, nothing recorded), `otlp` (OTLP over HTTP/protobuf, `OTEL_EXPORTER_OTLP_ENDPOINT`), or
`console` (one JSON line per span on stdout); `OTEL_SERVICE_NAME`, `OTEL_TRACES_SAMPLER`,
`OTEL_BSP_*` as usual. Spans are exported in batches off the hot path. See docs/observability.md.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from nameko.extensions import DependencyProvider
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from common import metrics
from common.config import ServiceSettings

log = logging.getLogger(__name__)

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
HEADER_PREFIX = "nameko."
MAX_STATEMENT_CHARS = 2000

_propagator = TraceContextTextMapPropagator()
_tracer = trace.get_tracer("disputes")  # a proxy: it follows the provider once one is installed
_lock = threading.Lock()
_configured = False
_enabled = False


# --- setup ------------------------------------------------------------------------------------------


def exporters_from_env() -> list[str]:
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    names = os.environ.get("OTEL_TRACES_EXPORTER", "none").strip().lower()
    return [name.strip() for name in names.split(",") if name.strip() and name.strip() != "none"]


def enabled() -> bool:
    """Whether this process records spans (decided once, from the environment)."""
    return _enabled if _configured else bool(exporters_from_env())


def _exporter(name: str):
    if name == "otlp":
        protocol = os.environ.get(
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
        )
        if protocol == "grpc":
            try:
                from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
            except ImportError:
                log.warning("OTLP/gRPC exporter not installed; exporting OTLP over HTTP/protobuf instead")
            else:
                return OTLPSpanExporter()
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter(out=sys.stdout, formatter=lambda span: span.to_json(indent=None) + "\n")
    raise ValueError(f"OTEL_TRACES_EXPORTER: unknown exporter {name!r} (otlp, console or none)")


def setup_tracing(service_name: str | None = None) -> bool:
    """Install this process's tracer provider from the OTEL_* variables, once. Returns whether
    spans are recorded. Without an exporter nothing is installed and every span is a no-op."""
    global _configured, _enabled
    with _lock:
        if not _configured:
            # nameko sets dependencies up concurrently: `enabled()` reads the environment until done
            _enabled = _install(service_name)
            _configured = True
        return _enabled


def _install(service_name: str | None) -> bool:
    names = exporters_from_env()
    if not names:
        return False
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    attributes = {}
    if service_name and not os.environ.get("OTEL_SERVICE_NAME"):
        attributes["service.name"] = service_name
    provider = TracerProvider(resource=Resource.create(attributes))  # the sampler: OTEL_TRACES_SAMPLER
    try:
        for name in names:
            provider.add_span_processor(BatchSpanProcessor(_exporter(name)))
    except Exception:
        log.exception("tracing disabled: the exporter could not be set up")
        return False
    trace.set_tracer_provider(provider)
    return True


def flush(timeout_millis: int = 5000) -> None:
    provider = trace.get_tracer_provider()
    if hasattr(provider, "force_flush"):
        provider.force_flush(timeout_millis)


# --- carrying the context -------------------------------------------------------------------------------


def context_from(data: dict[str, Any] | None, prefix: str = ""):
    """The trace context in `data` (nameko context data, or message headers with `prefix`)."""
    if not data:
        return otel_context.Context()
    parent = data.get(prefix + TRACEPARENT)
    if not parent:
        return otel_context.Context()
    carrier = {TRACEPARENT: parent}
    state = data.get(prefix + TRACESTATE)
    if state:
        carrier[TRACESTATE] = state
    return _propagator.extract(carrier)


def inject(target: dict[str, Any], prefix: str = HEADER_PREFIX, ctx=None) -> dict[str, Any]:
    """Write the current (or `ctx`'s) span context into `target` as `<prefix>traceparent`."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier, context=ctx)
    for key, value in carrier.items():
        target[prefix + key] = value
    return target


def trace_headers(headers: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """What an outbox row keeps: `headers` plus the current trace context, if a span is recording."""
    if not _enabled or not trace.get_current_span().get_span_context().is_valid:
        return headers
    return inject(dict(headers or {}))


@contextmanager
def producer_span(source: str, event_type: str, headers: dict[str, Any] | None) -> Iterator[dict[str, Any]]:
    """The outbox relay publishing a row: a PRODUCER span under the context stored with the row,
    whose context replaces it in the published headers. Without a stored context: the headers as
    they are, no span."""
    headers = headers or {}
    if not _enabled or not headers.get(HEADER_PREFIX + TRACEPARENT):
        yield headers
        return
    parent = context_from(headers, HEADER_PREFIX)
    span = _tracer.start_span(
        f"publish {event_type}",
        context=parent,
        kind=SpanKind.PRODUCER,
        attributes={
            "messaging.system": "rabbitmq",
            "messaging.operation.type": "publish",
            "messaging.destination.name": f"{source}.events",
            "messaging.rabbitmq.destination.routing_key": event_type,
        },
    )
    try:
        yield inject(dict(headers), ctx=trace.set_span_in_context(span, parent))
    except BaseException as exc:
        span.record_exception(exc)
        span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
        raise
    finally:
        span.end()


@contextmanager
def rpc_client_span(service: str, method: str, headers: dict[str, Any]) -> Iterator[None]:
    """A CLIENT span around an RPC call made outside nameko (the gateway); its context goes into
    `headers` as `nameko.traceparent`, which the service's `Telemetry` continues."""
    if not _enabled:
        yield
        return
    with _tracer.start_as_current_span(
        f"{service}.{method}",
        kind=SpanKind.CLIENT,
        attributes={"rpc.system": "nameko", "rpc.service": service, "rpc.method": method},
    ):
        inject(headers)
        yield


# --- database spans ----------------------------------------------------------------------------------------


def instrument_engine(engine) -> None:
    """A CLIENT span per SQL statement, only inside a recording span (a pool ping or the relay's
    idle poll records nothing). Nothing is attached when tracing is off."""
    if not enabled():
        return
    from sqlalchemy import event

    key = "_otel_span"
    database = engine.url.database or ""

    @event.listens_for(engine, "before_cursor_execute")
    def _start(conn, cursor, statement, parameters, context, executemany):
        if context is None or not trace.get_current_span().is_recording():
            return
        operation = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "SQL"
        span = _tracer.start_span(
            f"{operation} {database}".strip(),
            kind=SpanKind.CLIENT,
            attributes={
                "db.system.name": "postgresql",
                "db.namespace": database,
                "db.operation.name": operation,
                # placeholders only: parameters (which may hold personal data) are never recorded
                "db.query.text": statement[:MAX_STATEMENT_CHARS],
            },
        )
        setattr(context, key, span)

    @event.listens_for(engine, "after_cursor_execute")
    def _end(conn, cursor, statement, parameters, context, executemany):
        span = getattr(context, key, None)
        if span is not None:
            if cursor is not None and cursor.rowcount is not None and cursor.rowcount >= 0:
                span.set_attribute("db.response.returned_rows", cursor.rowcount)
            span.end()
            setattr(context, key, None)

    @event.listens_for(engine, "handle_error")
    def _error(exception_context):
        context = exception_context.execution_context
        span = getattr(context, key, None) if context is not None else None
        if span is not None:
            error = exception_context.original_exception
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            span.set_attribute("error.type", type(error).__name__)
            span.end()
            setattr(context, key, None)


# --- nameko --------------------------------------------------------------------------------------------------


_SPAN_KINDS = {"rpc": SpanKind.SERVER, "event": SpanKind.CONSUMER}


class Telemetry(DependencyProvider):
    """Observability of one nameko service, one line on the service class (`telemetry = Telemetry()`):

    - a span per worker (RPC: SERVER, event: CONSUMER) continuing the trace in the context data,
      current while the worker runs and written back into the context data for onward calls;
      timers start no trace (their polls would be noise): what they emit starts its own;
    - the handler latency histogram (`disputes_handler_duration_seconds`);
    - `/metrics` on `METRICS_PORT` with the outbox backlog and the service's queue depths, read
      every `METRICS_POLL_SECONDS` (common/metrics.py)."""

    def __init__(self) -> None:
        self._workers: dict[Any, tuple[float, Any, Any]] = {}

    def setup(self) -> None:
        self.tracing = setup_tracing(self.container.service_name)
        self.service = self.container.service_name
        config = ServiceSettings()
        self.exporter = metrics.ServiceMetrics(
            self.container,
            port=config.metrics_port,
            host=config.metrics_host,
            poll_seconds=config.metrics_poll_seconds,
        )

    def start(self) -> None:
        self.exporter.start()

    def stop(self) -> None:
        self.exporter.stop()
        if self.tracing:
            flush(2000)

    def kill(self) -> None:
        self.exporter.stop()

    def get_dependency(self, worker_ctx) -> None:
        return None

    def worker_setup(self, worker_ctx) -> None:
        started = time.perf_counter()
        span = token = None
        if self.tracing:
            kind = metrics.entrypoint_kind(worker_ctx.entrypoint)
            if kind in _SPAN_KINDS:
                data = worker_ctx.data
                parent = context_from(data)
                method = worker_ctx.entrypoint.method_name
                span = _tracer.start_span(f"{self.service}.{method}", context=parent, kind=_SPAN_KINDS[kind])
                ctx = trace.set_span_in_context(span, parent)
                token = otel_context.attach(ctx)
                if span.is_recording():  # not sampled: no attributes, and onward calls keep the parent's context
                    span.set_attributes(self._attributes(worker_ctx.entrypoint, kind))
                    # nameko forwards context data on onward RPC calls: they continue from this span
                    inject(data, prefix="", ctx=ctx)
        self._workers[worker_ctx] = (started, span, token)

    def _attributes(self, entrypoint, kind: str) -> dict[str, str]:
        method = entrypoint.method_name
        attributes = {"nameko.service": self.service, "nameko.entrypoint": method}
        if kind == "rpc":
            attributes.update({"rpc.system": "nameko", "rpc.service": self.service, "rpc.method": method})
        else:
            attributes.update(
                {
                    "messaging.system": "rabbitmq",
                    "messaging.operation.type": "process",
                    "messaging.destination.name": f"{entrypoint.source_service}.events",
                    "messaging.rabbitmq.destination.routing_key": entrypoint.event_type,
                }
            )
        return attributes

    def worker_result(self, worker_ctx, result=None, exc_info=None) -> None:
        state = self._workers.get(worker_ctx)
        if state is None:
            return
        started, span, _ = state
        if exc_info is None:
            outcome = "ok"
        elif isinstance(exc_info[1], worker_ctx.entrypoint.expected_exceptions):
            outcome = "rejected"  # an expected error (not found, forbidden, invalid input)
        else:
            outcome = "error"
        self.exporter.observe_handler(worker_ctx.entrypoint, time.perf_counter() - started, outcome)
        if span is not None and exc_info is not None:
            span.set_attribute("error.type", type(exc_info[1]).__name__)
            if outcome == "error":
                span.record_exception(exc_info[1])
                span.set_status(Status(StatusCode.ERROR, type(exc_info[1]).__name__))

    def worker_teardown(self, worker_ctx) -> None:
        state = self._workers.pop(worker_ctx, None)
        if state is None:
            return
        _, span, token = state
        if span is not None:
            span.end()
        if token is not None:
            otel_context.detach(token)


# --- the gateway (ASGI) ----------------------------------------------------------------------------------


class AsgiTelemetry:
    """Pure ASGI middleware: a SERVER span per HTTP request (continuing a `traceparent` header)
    unless the framework already opened one, and the request latency histogram by route template,
    method and status."""

    def __init__(self, app, service_name: str = "gateway") -> None:
        self.app = app
        self.tracing = setup_tracing(service_name)
        self.observe = metrics.observe_request

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def send_wrapper(message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        method = scope.get("method", "GET")
        span = token = None
        # FastAPI >= 0.16x opens its own SERVER span when a tracer provider is installed: then that
        # one is current and the request continues in it; older versions get this middleware's span
        if self.tracing and not trace.get_current_span().get_span_context().is_valid:
            headers = {}
            for key, value in scope.get("headers") or ():
                if key in (b"traceparent", b"tracestate"):
                    headers[key.decode("latin-1")] = value.decode("latin-1")
            parent = context_from(headers)
            span = _tracer.start_span(
                f"{method} {scope.get('path', '')}",
                context=parent,
                kind=SpanKind.SERVER,
                attributes={"http.request.method": method, "url.path": scope.get("path", "")},
            )
            token = otel_context.attach(trace.set_span_in_context(span, parent))
        try:
            await self.app(scope, receive, send_wrapper)
        except BaseException as exc:
            if span is not None:
                span.record_exception(exc)
            raise
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.observe(template, method, status[0], time.perf_counter() - started)
            if span is not None:
                span.update_name(f"{method} {template}")
                span.set_attribute("http.route", template)
                span.set_attribute("http.response.status_code", status[0])
                if status[0] >= 500:
                    span.set_status(Status(StatusCode.ERROR))
                span.end()
                otel_context.detach(token)


def instrument_app(app) -> None:
    """The gateway's telemetry: the ASGI middleware (outermost) and `GET /metrics`."""
    from fastapi import Response

    app.add_middleware(AsgiTelemetry)

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics() -> Response:
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)
