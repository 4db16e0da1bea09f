"""The pure rules at the edge: the window of plausible dates, control characters, the secrets a
platform outside demo mode needs, the client address behind proxies, and the growing login delay."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import TypeAdapter, ValidationError

from common import bounds
from common.config import missing_secrets
from gateway.identity import growing_delay
from gateway.plain_text import _json_fields, _pairs_fields
from gateway.throttle import forwarded_client, trusted_proxies

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def test_the_window_runs_from_2000_to_ten_years_ahead():
    assert bounds.latest(date(2026, 12, 4)) == date(2036, 12, 4)
    assert bounds.latest(date(2028, 2, 29)) == date(2038, 2, 28)
    assert bounds.window_problem(date(2000, 1, 1)) is None
    assert bounds.window_problem(date(1999, 12, 31)).startswith("must lie between 2000-01-01")
    assert bounds.window_problem(bounds.latest() + timedelta(days=1)) is not None


@pytest.mark.parametrize("value", ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00", "1999-12-31T23:00:00Z"])
def test_implausible_times_are_refused(value):
    with pytest.raises(ValidationError, match="must lie between"):
        TypeAdapter(bounds.PlausibleDatetime).validate_python(value)


def test_a_plausible_time_passes():
    assert TypeAdapter(bounds.PlausibleDatetime).validate_python("2026-05-01T09:30:00+08:00").year == 2026


@pytest.mark.parametrize(
    ("value", "ok"), [("2026-11", True), ("9999-12", False), ("1999-12", False), ("2026-13", False)]
)
def test_months(value, ok):
    adapter = TypeAdapter(bounds.PlausibleMonth)
    if ok:
        assert adapter.validate_python(value) == value
    else:
        with pytest.raises(ValidationError):
            adapter.validate_python(value)


@pytest.mark.parametrize(
    ("text", "found"),
    [("abc", None), ("a\x00b", "U+0000"), ("bell\x07", "U+0007"), ("del\x7f", "U+007F"), ("lone \ud800", "U+D800")],
)
def test_control_characters(text, found):
    assert bounds.control_character(text) == found


def test_free_text_keeps_its_line_breaks_and_tabs():
    assert bounds.control_character("第一行\n第二行\r\n\t完") is None


def test_json_strings_and_keys_are_named_by_their_place():
    body = b'{"complainant": {"name": "a\\u0000"}, "terms": [{"description": "ok"}, {"description": "\\u0007"}]}'
    assert [f for f, _ in _json_fields(body)] == ["complainant.name", "terms.1.description"]
    assert [f for f, _ in _json_fields(b'{"k\\u0000": 1}')] == ["body"]
    assert _json_fields(b"{not json") == []  # FastAPI answers that one


def test_query_and_form_fields_are_named():
    assert [f for f, _ in _pairs_fields([("after", "a\x00"), ("limit", "5")], "query")] == ["after"]
    assert [f for f, _ in _pairs_fields([("a\x00", "x")], "query")] == ["query"]


def test_secrets_outside_demo_mode():
    assert missing_secrets({"DEMO_MODE": "1"}) == []
    assert [m.split()[0] for m in missing_secrets({})] == ["JWT_SECRET"]
    assert missing_secrets({"JWT_SECRET": "s"}) == []
    sms = {"JWT_SECRET": "s", "SMS_PROVIDER": "http"}
    assert [m.split()[0] for m in missing_secrets(sms)] == ["SMS_SECRET"]
    assert missing_secrets({**sms, "SMS_SECRET": "t"}) == []
    hook = {"JWT_SECRET": "s", "WEBHOOK_URL": "https://x/{tenant}"}
    assert [m.split()[0] for m in missing_secrets(hook)] == ["WEBHOOK_SECRET"]


PROXIES = trusted_proxies("10.0.0.0/8, 192.168.1.5")


@pytest.mark.parametrize(
    ("peer", "header", "client"),
    [
        ("203.0.113.9", "1.2.3.4", "203.0.113.9"),  # an untrusted peer's header counts for nothing
        ("10.1.1.1", None, "10.1.1.1"),
        ("10.1.1.1", "1.2.3.4", "1.2.3.4"),
        ("10.1.1.1", "6.6.6.6, 1.2.3.4", "1.2.3.4"),  # the client wrote 6.6.6.6 itself
        ("10.1.1.1", "6.6.6.6, 1.2.3.4, 192.168.1.5", "1.2.3.4"),  # through two proxies
        ("10.1.1.1", "10.2.2.2, 192.168.1.5", "10.2.2.2"),  # every hop a proxy: the first
    ],
)
def test_the_client_is_the_rightmost_address_no_proxy_wrote(peer, header, client):
    assert forwarded_client(peer, header, PROXIES) == client


def test_no_proxy_is_trusted_by_default():
    assert trusted_proxies("") == ()
    assert forwarded_client("127.0.0.1", "1.2.3.4", trusted_proxies("")) == "127.0.0.1"


def ago(*seconds: float) -> list[datetime]:
    return [NOW - timedelta(seconds=s) for s in seconds]


def test_the_first_failures_cost_nothing():
    assert growing_delay(ago(1, 2, 3, 4), 5, 30, 900, NOW) is None


def test_the_delay_doubles_from_the_newest_failure_up_to_the_window():
    assert growing_delay(ago(10, 20, 30, 40, 50), 5, 30, 900, NOW) == 20
    assert growing_delay(ago(10, 20, 30, 40, 50, 60), 5, 30, 900, NOW) == 50
    assert growing_delay(ago(*range(10, 200, 10)), 5, 30, 900, NOW) == 890  # capped at the window
    assert growing_delay(ago(40, 50, 60, 70, 80), 5, 30, 900, NOW) is None


def test_failures_outside_the_window_are_forgotten():
    assert growing_delay(ago(1, 2, 3, 4, 1000), 5, 30, 900, NOW) is None
