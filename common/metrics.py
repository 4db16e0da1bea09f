"""Prometheus metrics of every process: names, labels, buckets, and how they are served.

Every nameko service serves `/metrics` on `METRICS_PORT` (`Telemetry` in common/telemetry.py starts
the server); the gateway serves `GET /metrics` on its own app. Gauges read from outside the process
(outbox backlog, queue depths) are refreshed every `METRICS_POLL_SECONDS` (default 15).

Multi-process: with `PROMETHEUS_MULTIPROC_DIR` set (one empty directory per service, shared by that
service's processes on one host, wiped before they start), every process writes its samples there
and whichever process serves `/metrics` reports the sum over all of them (histograms and counters
add up; gauges read from shared state report the maximum over live processes). Processes of one
service on one host may share `METRICS_PORT`: the first binds it, the others only write.

Clock metrics are defined here and fed by the code that runs the clocks (`clock_met`,
`clock_breached`, `clock_stopped_late`, `set_open_cases`). Their buckets sit at the commitments in
calendar time: 24 h (acknowledgement), 9 days (7 working days: a working week plus a weekend;
longer across a public holiday), 14, 21 and 42 days (the tier targets' 10, 15 and 30 working days),
60 days (mediation). Whether a clock breached is decided by the clock on the working-day calendar,
so compliance comes from the exact counters (met vs breached), the histogram shows the spread.
See docs/observability.md.

A leaf of the platform layer: it imports nothing of `common`. What it reads of a service it finds on
the container by shape (docs/architecture.md): an entrypoint's `queue` (or its `rpc_consumer`'s) and
its `watched_queues`, a dependency's `outbox_backlog()`.
"""

from __future__ import annotations

import contextlib
import logging
import os
from datetime import UTC, datetime
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

log = logging.getLogger(__name__)

HOUR = 3600.0
DAY = 24 * HOUR
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
ACKNOWLEDGEMENT_SECONDS = 24 * HOUR
SEVEN_WORKING_DAYS_SECONDS = 9 * DAY  # calendar approximation; see the module docstring
MEDIATION_SECONDS = 60 * DAY
CLOCK_BUCKETS = (
    1 * HOUR,
    4 * HOUR,
    12 * HOUR,
    ACKNOWLEDGEMENT_SECONDS,
    2 * DAY,
    3 * DAY,
    5 * DAY,
    7 * DAY,
    SEVEN_WORKING_DAYS_SECONDS,
    14 * DAY,
    21 * DAY,
    30 * DAY,
    42 * DAY,
    MEDIATION_SECONDS,
    90 * DAY,
)
NO_TIER = "platform"  # a clock before any unit is responsible (the acknowledgement)

HTTP_REQUEST_SECONDS = Histogram(
    "disputes_http_request_duration_seconds",
    "Gateway request latency by route template, method and status.",
    ["route", "method", "status"],
    buckets=LATENCY_BUCKETS,
)
HANDLER_SECONDS = Histogram(
    "disputes_handler_duration_seconds",
    "nameko worker latency by entrypoint; outcome ok | rejected (an expected error) | error.",
    ["service", "entrypoint", "kind", "outcome"],
    buckets=LATENCY_BUCKETS,
)
CLOCK_SECONDS = Histogram(
    "disputes_clock_duration_seconds",
    "How long a clock ran (calendar seconds, pauses included) when it stopped.",
    ["clock", "tier", "city"],
    buckets=CLOCK_BUCKETS,
)
CLOCKS_MET = Counter(
    "disputes_clocks_met",
    "Clocks stopped within their deadline.",
    ["clock", "tier", "city"],
)
CLOCK_BREACHES = Counter(
    "disputes_clock_breaches",
    "Clocks that passed their deadline (counted once, when they turn red).",
    ["clock", "tier", "city"],
)
OPEN_CASES = Gauge(
    "disputes_open_cases",
    "Running clocks of open cases by clock, colour and the responsible tier (a case with two clocks "
    "running counts once per clock; filter on `clock` for a count of cases).",
    ["clock", "colour", "tier", "city"],
    multiprocess_mode="livemax",
)
OUTBOX_BACKLOG = Gauge(
    "disputes_outbox_backlog",
    "Events written to the service's outbox and not yet confirmed by the broker.",
    ["service"],
    multiprocess_mode="livemax",
)
OUTBOX_OLDEST_SECONDS = Gauge(
    "disputes_outbox_oldest_age_seconds",
    "Age of the oldest unpublished outbox row (0 when empty).",
    ["service"],
    multiprocess_mode="livemax",
)
DEAD_LETTERS = Counter(
    "disputes_dead_letters",
    "Messages given up: events moved to dead-letters (reason poison | exhausted), and deliveries "
    "notification gave up (queue delivery.<channel>).",
    ["service", "queue", "reason"],
)
QUEUE_MESSAGES = Gauge(
    "disputes_queue_messages",
    "Ready messages in the service's queues (a passive declare on the broker).",
    ["service", "queue"],
    multiprocess_mode="livemax",
)
QUEUE_CONSUMERS = Gauge(
    "disputes_queue_consumers",
    "Consumers on the service's queues.",
    ["service", "queue"],
    multiprocess_mode="livemax",
)
OFFICIAL_CALENDAR_MISSING = Gauge(
    "disputes_official_calendar_missing",
    "1 while a year that should have its official schedule (this year; next year from 1 December) "
    "counts on the fallback: neither entered by the platform admin nor in the chinesecalendar package.",
    ["year"],
    multiprocess_mode="livemax",
)


# --- feeding ----------------------------------------------------------------------------------------------


def city_of(code: str | None) -> str:
    """The `city` label: the tenant city's six-digit code of a unit or division code (an agency id
    `330681-police` gives its unit's city). Bounded by the number of cities, unlike unit codes."""
    return code[:6] if code and code[:6].isdigit() else "unknown"


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    HTTP_REQUEST_SECONDS.labels(route, method, str(status)).observe(seconds)


def clock_met(clock: str, tier: str, city: str, seconds: float) -> None:
    """A clock stopped before its deadline."""
    CLOCK_SECONDS.labels(clock, tier, city).observe(seconds)
    CLOCKS_MET.labels(clock, tier, city).inc()


def clock_breached(clock: str, tier: str, city: str) -> None:
    """A clock passed its deadline: call once per clock, when it turns red."""
    CLOCK_BREACHES.labels(clock, tier, city).inc()


def clock_stopped_late(clock: str, tier: str, city: str, seconds: float) -> None:
    """A clock stopped after its deadline (its breach was counted when it turned red)."""
    CLOCK_SECONDS.labels(clock, tier, city).observe(seconds)


def clock_stopped(clock: str, tier: str, city: str, seconds: float, *, in_time: bool, breach_counted: bool) -> None:
    """A clock stopped: met, or late (counting the breach now unless it was counted already)."""
    if in_time:
        clock_met(clock, tier, city, seconds)
        return
    clock_stopped_late(clock, tier, city, seconds)
    if not breach_counted:
        clock_breached(clock, tier, city)


def set_open_cases(counts: dict[tuple[str, str, str, str], int]) -> None:
    """Replace the open-case gauge with `{(clock, colour, tier, city): count}` (series absent from
    `counts` are removed, so a colour that emptied does not keep its old value)."""
    OPEN_CASES.clear()
    for (clock, colour, tier, city), count in counts.items():
        OPEN_CASES.labels(clock, colour, tier, city).set(count)


def set_official_calendar_missing(year: int, missing: bool) -> None:
    OFFICIAL_CALENDAR_MISSING.labels(str(year)).set(1 if missing else 0)


def dead_lettered(service: str, queue: str, reason: str) -> None:
    DEAD_LETTERS.labels(service, queue, reason).inc()


def observe_handler_seconds(service: str, entrypoint: str, kind: str, outcome: str, seconds: float) -> None:
    HANDLER_SECONDS.labels(service, entrypoint, kind, outcome).observe(seconds)


# --- serving -----------------------------------------------------------------------------------------------


def multiprocess_dir() -> str | None:
    # prometheus_client's own variable: it decides there where values are written (docs/settings.md)
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def registry() -> CollectorRegistry:
    """What a scrape reports: this process's registry, or every process's files in multi-process mode."""
    if multiprocess_dir() is None:
        return REGISTRY
    from prometheus_client import multiprocess

    collecting = CollectorRegistry()
    multiprocess.MultiProcessCollector(collecting)
    return collecting


def render() -> tuple[bytes, str]:
    return generate_latest(registry()), CONTENT_TYPE_LATEST


def wsgi_app(environ, start_response):
    if environ.get("PATH_INFO", "/") not in ("/", "/metrics"):
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found; try /metrics\n"]
    body, content_type = render()
    start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


def entrypoint_kind(entrypoint) -> str:
    """rpc | event | timer | other: the `kind` label of a nameko entrypoint (also the span kind)."""
    kind = getattr(entrypoint, "_telemetry_kind", None)
    if kind is None:
        from nameko.events import EventHandler
        from nameko.rpc import Rpc
        from nameko.timer import Timer

        kinds = ((Rpc, "rpc"), (EventHandler, "event"), (Timer, "timer"))
        kind = next((name for cls, name in kinds if isinstance(entrypoint, cls)), "other")
        entrypoint._telemetry_kind = kind  # one entrypoint instance per container
    return kind


def _queue_names(container) -> list[str]:
    """The queues of the container's entrypoints, and those they name in `watched_queues` (an event
    handler of common/messaging.py names the dead-letter queue it feeds)."""
    names: set[str] = set()
    for entrypoint in container.entrypoints:
        queue = getattr(entrypoint, "queue", None)
        consumer = getattr(entrypoint, "rpc_consumer", None)
        if queue is None and consumer is not None:
            queue = getattr(consumer, "queue", None)
        if queue is not None and getattr(queue, "name", None):
            names.add(queue.name)
        names.update(getattr(entrypoint, "watched_queues", ()))
    return sorted(names)


class ServiceMetrics:
    """One nameko container's metrics: the handler histogram, the `/metrics` server and the
    periodic gauges (outbox backlog from the service's own outbox table, queue depths by a passive
    `queue_declare`, which creates nothing)."""

    def __init__(self, container, *, port: int, host: str, poll_seconds: float) -> None:
        self.container = container
        self.service = container.service_name
        self.port = port  # 0: no /metrics server
        self.host = host
        self.poll_seconds = poll_seconds
        self._children: dict[tuple[str, str], Any] = {}
        self._socket = None
        self._running = False
        self._threads: list[Any] = []

    # the hot path: one dict lookup and one observe
    def observe_handler(self, entrypoint, seconds: float, outcome: str) -> None:
        key = (entrypoint.method_name, outcome)
        child = self._children.get(key)
        if child is None:
            kind = entrypoint_kind(entrypoint)
            child = self._children[key] = HANDLER_SECONDS.labels(self.service, entrypoint.method_name, kind, outcome)
        child.observe(seconds)

    def start(self) -> None:
        self._running = True
        if self.port:
            import eventlet

            try:
                self._socket = eventlet.listen((self.host, self.port))
            except OSError as exc:
                # another process of this service serves the port (multi-process mode), or a clash
                level = logging.INFO if multiprocess_dir() else logging.WARNING
                log.log(level, "metrics: %s:%s not served by this process: %s", self.host, self.port, exc)
            else:
                self._threads.append(self.container.spawn_managed_thread(self._serve, identifier="metrics-server"))
        if self.port or multiprocess_dir():
            self._threads.append(self.container.spawn_managed_thread(self._poll, identifier="metrics-poll"))

    def stop(self) -> None:
        self._running = False
        while self._threads:
            self._threads.pop().kill()
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.close()
            self._socket = None
        if multiprocess_dir():
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(os.getpid())

    def _serve(self) -> None:
        import eventlet.wsgi

        try:
            eventlet.wsgi.server(self._socket, wsgi_app, log_output=False, max_size=16)
        except (OSError, ValueError):
            if self._running:
                log.exception("metrics server stopped")

    def _poll(self) -> None:
        import eventlet

        while self._running:
            try:
                self.collect()
            except Exception:
                log.warning("metrics: a periodic read failed", exc_info=True)
            eventlet.sleep(self.poll_seconds)

    def collect(self) -> None:
        self.collect_outbox()
        self.collect_queues()

    def collect_outbox(self) -> None:
        # the service's database dependency (common/db.py) reads its outbox, when it has one
        for dependency in self.container.dependencies:
            read = getattr(dependency, "outbox_backlog", None)
            backlog = read() if read is not None else None
            if backlog is not None:
                break
        else:
            return
        count, oldest = backlog
        OUTBOX_BACKLOG.labels(self.service).set(count or 0)
        age = (datetime.now(UTC) - oldest).total_seconds() if oldest is not None else 0.0
        OUTBOX_OLDEST_SECONDS.labels(self.service).set(max(0.0, age))

    def collect_queues(self) -> None:
        from kombu import Connection

        names = _queue_names(self.container)
        with Connection(self.container.config["AMQP_URI"], connect_timeout=5) as connection:
            channel = connection.channel()
            try:
                for name in names:
                    try:
                        _, messages, consumers = channel.queue_declare(queue=name, passive=True)
                    except Exception:  # not declared (yet; the dead-letters queue until first used)
                        messages, consumers = 0, 0  # a passive declare failing closes the channel
                        channel = connection.channel()
                    QUEUE_MESSAGES.labels(self.service, name).set(messages)
                    QUEUE_CONSUMERS.labels(self.service, name).set(consumers)
            finally:
                with contextlib.suppress(Exception):
                    channel.close()
