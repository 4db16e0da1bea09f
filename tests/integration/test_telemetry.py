"""Traces and metrics of the running platform: one submission is one trace across gateway, intake,
routing, notification and reporting; every process's /metrics has the expected series.

The platform exports spans to an in-process OTLP receiver (tests/otlp_sink.py) with the sampler
`parentbased_always_off`: only requests that send a sampled `traceparent`, as these tests do, are
recorded, so every span the receiver holds belongs to a trace started here."""

from __future__ import annotations

import re
import secrets

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import complaint, wait_for

pytestmark = pytest.mark.integration

PHONE = "13912345678"


@pytest.fixture(scope="module")
def traced_submission(api, otlp_sink):
    trace_id, client_span = secrets.token_hex(16), secrets.token_hex(8)
    body = complaint(complainant={"name": "李四", "phone": PHONE})
    response = api.post("/api/v1/complaints", json=body, headers={"traceparent": f"00-{trace_id}-{client_span}-01"})
    assert response.status_code == 201, response.text
    expected = {
        ("gateway", "POST /api/v1/complaints"),
        ("intake", "intake.submit"),
        ("routing", "routing.on_complaint_received"),
        ("notification", "notification.on_complaint_received"),
        ("reporting", "reporting.on_complaint_received"),
        ("intake", "intake.on_complaint_routed"),
        ("intake", "intake.on_message_recorded"),
    }

    def complete():
        # every expected span is there, and every span's parent too (spans arrive in batches per
        # process, a child may come before its parent)
        spans = otlp_sink.spans(trace_id)
        ids = {s["span_id"] for s in spans} | {client_span}
        connected = all(s["parent_span_id"] in ids for s in spans)
        return spans if connected and expected <= {(s["service"], s["name"]) for s in spans} else None

    spans = wait_for(complete, timeout=20, interval=0.3)
    return {"trace_id": trace_id, "client_span": client_span, "receipt": response.json(), "spans": spans}


def by_name(spans, service, name):
    found = [s for s in spans if s["service"] == service and s["name"] == name]
    assert found, f"no span {name} from {service}"
    return found[0]


def ancestors(spans, span) -> list[str]:
    parents = {s["span_id"]: s["parent_span_id"] for s in spans}
    found, current = [], span["parent_span_id"]
    while current in parents:
        found.append(current)
        current = parents[current]
    return found


def test_one_submission_is_one_trace_across_the_services(traced_submission, otlp_sink):
    spans = traced_submission["spans"]
    assert {s["service"] for s in spans} >= {"gateway", "intake", "routing", "notification", "reporting"}
    # nothing sampled started a trace of its own: the receiver holds this trace only
    assert {s["trace_id"] for s in otlp_sink.spans()} == {traced_submission["trace_id"]}
    # one tree: every span's parent is the client's span or another span of the trace
    ids = {s["span_id"] for s in spans}
    for span in spans:
        assert span["parent_span_id"] in ids | {traced_submission["client_span"]}, span
    request = by_name(spans, "gateway", "POST /api/v1/complaints")
    assert request["kind"] == "SERVER"
    assert request["parent_span_id"] == traced_submission["client_span"]
    assert request["attributes"]["http.route"] == "/api/v1/complaints"
    assert request["attributes"]["http.response.status_code"] == 201


def test_rpc_and_event_hops_are_linked(traced_submission):
    spans = traced_submission["spans"]
    request = by_name(spans, "gateway", "POST /api/v1/complaints")
    call = by_name(spans, "gateway", "intake.submit")
    submit = by_name(spans, "intake", "intake.submit")
    # under the request span (FastAPI may put a span of the endpoint in between)
    assert call["kind"] == "CLIENT" and request["span_id"] in ancestors(spans, call)
    assert (submit["kind"], submit["parent_span_id"]) == ("SERVER", call["span_id"])
    assert submit["attributes"]["rpc.system"] == "nameko"
    # the event leaves intake's outbox under a PRODUCER span and each consumer continues from it
    publish = by_name(spans, "intake", "publish complaint.received.v1")
    assert (publish["kind"], publish["parent_span_id"]) == ("PRODUCER", submit["span_id"])
    for service in ("routing", "notification", "reporting"):
        consumer = by_name(spans, service, f"{service}.on_complaint_received")
        assert consumer["kind"] == "CONSUMER"
        assert consumer["parent_span_id"] == publish["span_id"]
        assert consumer["attributes"]["messaging.rabbitmq.destination.routing_key"] == "complaint.received.v1"
    # and back: routing's decision and notification's record reach intake in the same trace
    routed = by_name(spans, "intake", "intake.on_complaint_routed")
    routing_publish = by_name(spans, "routing", "publish complaint.routed.v1")
    assert routed["parent_span_id"] == routing_publish["span_id"]


def test_database_spans_without_parameters(traced_submission):
    spans = traced_submission["spans"]
    submit = by_name(spans, "intake", "intake.submit")
    statements = [s for s in spans if s["attributes"].get("db.system.name") == "postgresql"]
    assert {s["service"] for s in statements} >= {"intake", "routing", "notification"}
    inserts = [s for s in statements if s["service"] == "intake" and s["attributes"]["db.operation.name"] == "INSERT"]
    assert inserts and all(s["kind"] == "CLIENT" for s in inserts)
    assert any(s["parent_span_id"] == submit["span_id"] for s in inserts)
    # statements carry placeholders only: no personal data reaches the trace backend
    assert not [s for s in statements if PHONE in str(s["attributes"])]


# --- metrics ------------------------------------------------------------------------------------------


def scrape(url: str) -> dict[tuple[str, frozenset], float]:
    response = httpx.get(url, timeout=5)
    assert response.status_code == 200, url
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
        samples[("__family__", frozenset({("name", family.name)}))] = 1.0
    return samples


def value(samples, name: str, **labels: str) -> float | None:
    wanted = set(labels.items())
    found = [v for (n, ls), v in samples.items() if n == name and wanted <= ls]
    return sum(found) if found else None


def families(samples) -> set[str]:
    return {dict(ls)["name"] for (n, ls) in samples if n == "__family__"}


def service_metrics(platform, service: str) -> dict:
    return scrape(f"http://127.0.0.1:{platform.metrics_ports[service]}/metrics")


def test_gateway_metrics(platform, api, login, traced_submission):
    case = api.get(f"/api/v1/complaints/{traced_submission['receipt']['id']}", headers=login("330681"))
    assert case.status_code == 200
    samples = scrape(f"{platform.url}/metrics")
    count = value(
        samples, "disputes_http_request_duration_seconds_count", route="/api/v1/complaints", method="POST", status="201"
    )
    assert count is not None and count >= 1
    total = value(samples, "disputes_http_request_duration_seconds_sum", route="/api/v1/complaints", method="POST")
    assert 0 < total < 60 * count
    # a route template, never a concrete path (bounded label values)
    routes = {dict(ls).get("route") for (n, ls) in samples if n.startswith("disputes_http")}
    assert "/api/v1/complaints/{complaint_id}" in routes
    assert not [r for r in routes if r and re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-|/TS\d", r)]


def test_every_service_serves_its_metrics(platform, traced_submission):
    expected_handlers = {
        "intake": ("submit", "rpc"),
        "routing": ("on_complaint_received", "event"),
        "notification": ("on_complaint_received", "event"),
        "reporting": ("on_complaint_received", "event"),
        "mediation": ("ping", "rpc"),
    }
    for service, (entrypoint, kind) in expected_handlers.items():

        def ready(service=service, entrypoint=entrypoint, kind=kind):
            samples = service_metrics(platform, service)
            handled = value(
                samples, "disputes_handler_duration_seconds_count", service=service, entrypoint=entrypoint, kind=kind
            )
            # read from the broker every METRICS_POLL_SECONDS (2 s here)
            consumers = value(samples, "disputes_queue_consumers", service=service, queue=f"rpc-{service}")
            return samples if handled and consumers else None

        samples = wait_for(ready, timeout=15, interval=0.5)
        assert value(samples, "disputes_queue_messages", service=service, queue=f"rpc-{service}") >= 0
        assert value(samples, "disputes_queue_messages", service=service, queue="dead-letters") is not None
        assert {
            "disputes_clock_duration_seconds",
            "disputes_clock_breaches",
            "disputes_clocks_met",
            "disputes_open_cases",
            "disputes_dead_letters",
        } <= families(samples)
        if service != "reporting":  # reporting has no outbox
            backlog = value(samples, "disputes_outbox_backlog", service=service)
            assert backlog is not None and 0 <= backlog < 1000
            assert value(samples, "disputes_outbox_oldest_age_seconds", service=service) >= 0


def _with_acknowledgement(samples):
    met = value(samples, "disputes_clocks_met_total", clock="acknowledgement", tier="platform", city="330681")
    return samples if met else None


def test_acknowledgement_clock_is_measured(platform, traced_submission):
    # intake runs the clock and stops it when notification records the acknowledgement
    samples = wait_for(lambda: _with_acknowledgement(service_metrics(platform, "intake")), timeout=20)
    met = value(samples, "disputes_clocks_met_total", clock="acknowledgement", tier="platform", city="330681")
    assert met is not None and met >= 1
    buckets = {
        dict(ls)["le"]
        for (n, ls) in samples
        if n == "disputes_clock_duration_seconds_bucket" and ("clock", "acknowledgement") in ls
    }
    # boundaries at the commitments: 24 hours, 7 working days (9 calendar days), 60 days
    assert {"86400.0", "777600.0", "5.184e+06"} <= buckets
    within_a_day = value(samples, "disputes_clock_duration_seconds_bucket", clock="acknowledgement", le="86400.0")
    assert within_a_day == value(samples, "disputes_clock_duration_seconds_count", clock="acknowledgement")
