"""Reporting's pure parts: contributions and their differences, figure definitions, the event log's
stripping of personal data, monthly periods, downloads and charts."""

from __future__ import annotations

import io
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from common.contracts import ComplaintAccepted, ComplaintReceived, MediationTransitioned, Unit
from common.errors import InvalidInput
from services.reporting import exports, folding, monthly, rollups, views
from services.reporting.rollups import Contribution, Ending, FactState

T0 = datetime(2026, 3, 2, 1, tzinfo=UTC)  # a Monday, 09:00 in Shanghai
VILLAGE, TOWNSHIP, CITY = "330681109290", "330681109", "330681"


def fact(**overrides) -> FactState:
    base = {
        "received_at": T0,
        "channel": "web",
        "category": "product_quality",
        "claim_amount": Decimal("100"),
        "unit_code": VILLAGE,
        "tier": "village",
        "status": "routed",
        "business_key": "91330681MA2B0C3D1H|某店",
    }
    return FactState(**{**base, **overrides})


def metrics(contributions) -> dict[tuple[str, str], int]:
    return {(c.metric, c.key): c.n for c in contributions}


def test_a_contribution_counts_for_the_unit_and_every_unit_above():
    rows = rollups.expand([Contribution(VILLAGE, T0.date(), "volume", "total")])
    assert {key[0] for key in rows} == {VILLAGE, TOWNSHIP, CITY}
    assert rollups.ancestors(TOWNSHIP) == [CITY, TOWNSHIP]
    assert rollups.parent_of(CITY) is None and rollups.parent_of(VILLAGE) == TOWNSHIP


def test_a_move_leaves_the_village_and_enters_the_township_only():
    before = rollups.fact_contributions(fact())
    after = rollups.fact_contributions(fact(unit_code=TOWNSHIP, tier="township"))
    diff = rollups.difference(before, after)
    day = date(2026, 3, 2)
    assert diff[(VILLAGE, day, "volume", "total")] == (-1, Decimal("-100"))
    assert diff[(TOWNSHIP, day, "tier", "township")] == (1, Decimal(0))
    assert (TOWNSHIP, day, "volume", "total") not in diff  # inside the township all along
    assert not any(key[0] == CITY and key[2] == "volume" for key in diff)
    assert rollups.difference(before, before) == {}


def test_mediation_duration_counts_from_acceptance_to_the_ending():
    ended = Ending(VILLAGE, "agreement", T0 + timedelta(days=3))
    mediation = [
        c
        for c in rollups.fact_contributions(fact(accepted_at=T0, endings=(ended,)))
        if c.metric == "duration:mediation"
    ]
    assert mediation[0].key == "72" and mediation[0].amount == Decimal(72 * 3600)
    assert mediation[0].unit == VILLAGE


def test_no_clock_is_judged_from_the_facts_only_the_clocks_verdicts_count():
    # a decision 20 days after receipt was late on any calendar; the acceptance clock says so itself
    late = fact(decided_at=T0 + timedelta(days=20), decided_unit=VILLAGE, accepted_at=T0 + timedelta(days=20))
    assert not any(c.metric.startswith("clock:") for c in rollups.fact_contributions(late))
    assert rollups.REPORTED_CLOCKS["mediation_end_notice"] == "end_notice"
    assert set(rollups.REPORTED_CLOCKS.values()) == set(views.CLOCKS)


def test_duration_buckets_and_percentiles():
    assert rollups.duration_bucket(0) == "1" and rollups.duration_bucket(3600 * 25) == "36"
    assert rollups.duration_bucket(3600 * 10_000) == rollups.OVERFLOW_BUCKET
    assert rollups.percentile({"1": 50, "24": 45, "72": 5}, 0.5) == 1.0
    assert rollups.percentile({"1": 50, "24": 45, "72": 5}, 0.95) == 24.0
    assert rollups.percentile({}, 0.5) is None


def rows(**pairs) -> views.Rows:
    out: views.Rows = {}
    for name, (n, amount) in pairs.items():
        metric, _, key = name.partition("__")
        out[(metric.replace("_", ":", 1) if metric.startswith("clock_") else metric, key)] = (n, Decimal(amount))
    return out


def test_success_rate_leaves_out_refused_consent_and_withdrawals():
    own = rows(
        mediation__agreement=(3, 0),
        mediation__failed=(1, 0),
        mediation__consent_refused=(5, 0),
        mediation__withdrawn=(2, 0),
        recovered__agreed=(3, "1200.5"),
    )
    figures = views.assemble(TOWNSHIP, None, None, own, {}, {}, [])
    assert figures["mediation"]["ended"] == 11 and figures["mediation"]["mediated"] == 4
    assert figures["mediation"]["success_rate"] == 0.75
    assert figures["money_recovered"]["agreed"] == "1200.50"


def test_township_escalation_rate_against_the_line():
    own = {("decision", "accepted"): (20, Decimal(0)), ("escalated_from:township", "staff_request"): (3, Decimal(0))}
    own[("escalated_from:village", "mediation_failed")] = (9, Decimal(0))  # its villages': not its own
    own[("arrived", "routed")] = (40, Decimal(0))  # cases that came, accepted or not: not the disputes
    own[("decision", "refused")] = (20, Decimal(0))
    entry = views.escalation_entry(TOWNSHIP, own)
    assert entry == {
        "unit": TOWNSHIP,
        "tier": "township",
        "escalated": 3,
        "disputes": 20,
        "rate": 0.15,
        "within_line": False,
    }
    own[("decision", "accepted")] = (30, Decimal(0))
    assert views.escalation_entry(TOWNSHIP, own)["within_line"] is True


def test_on_time_rates_and_satisfaction():
    own = {
        ("clock:acceptance", "met"): (9, Decimal(0)),
        ("clock:acceptance", "missed"): (1, Decimal(0)),
        ("satisfaction", "5"): (3, Decimal(15)),
        ("satisfaction", "2"): (1, Decimal(2)),
    }
    figures = views.assemble(CITY, None, None, own, {}, {}, [])
    assert figures["on_time"]["acceptance"] == {"met": 9, "missed": 1, "rate": 0.9}
    assert figures["on_time"]["mediation"]["rate"] is None
    assert figures["satisfaction"] == {"responses": 4, "average": 4.25, "by_score": {"2": 1, "5": 3}}


def test_period_parsing():
    assert views.parse_period("2026-01-01", "2026-01-31") == (date(2026, 1, 1), date(2026, 1, 31))
    assert views.parse_period(None, "") == (None, None)
    with pytest.raises(InvalidInput):
        views.parse_period("2026-02-01", "2026-01-01")
    with pytest.raises(InvalidInput):
        views.parse_period("yesterday", None)


def test_a_period_reads_whole_months_from_the_monthly_rollups():
    d = date
    assert views.split_period(None, None) == ([], (None, None))
    assert views.split_period(d(2026, 1, 1), d(2026, 1, 31)) == ([], (d(2026, 1, 1), d(2026, 1, 1)))
    assert views.split_period(d(2026, 1, 15), d(2026, 3, 10)) == (
        [(d(2026, 1, 15), d(2026, 1, 31)), (d(2026, 3, 1), d(2026, 3, 10))],
        (d(2026, 2, 1), d(2026, 2, 1)),
    )
    assert views.split_period(d(2026, 1, 5), d(2026, 1, 20)) == ([(d(2026, 1, 5), d(2026, 1, 20))], None)
    assert views.split_period(d(2026, 1, 15), None) == ([(d(2026, 1, 15), d(2026, 1, 31))], (d(2026, 2, 1), None))
    assert views.split_period(None, d(2026, 3, 10)) == ([(d(2026, 3, 1), d(2026, 3, 10))], (None, d(2026, 2, 1)))
    assert views.split_period(d(2025, 12, 1), d(2026, 1, 31)) == ([], (d(2025, 12, 1), d(2026, 1, 1)))


def test_the_event_log_keeps_no_personal_data():
    event = ComplaintReceived(
        complaint_id=uuid.uuid4(), tracking_no="TS1", channel="web", received_at=T0, category="c",
        incident_division_code=VILLAGE, complainant_name="张三", complainant_phone="13800138000",
        complainant_division_code=VILLAGE, business_name="某店",
    )  # fmt: skip
    kept = folding.strip(event.model_dump(mode="json"))
    assert "张三" not in str(kept) and "13800138000" not in str(kept) and kept["business_name"] == "某店"
    assert ComplaintReceived.model_validate(kept).complaint_id == event.complaint_id  # replayable
    accepted = ComplaintAccepted(
        complaint_id=uuid.uuid4(), tracking_no="T", unit=Unit(code=VILLAGE, name="v", tier="village"),
        accepted_at=T0, accepted_by="clerk-wang", category="c", business_name="b", complainant_name="李四",
        complainant_phone="13900000000",
    )  # fmt: skip
    assert "clerk-wang" not in str(folding.strip(accepted.model_dump(mode="json")))
    moved = MediationTransitioned(
        complaint_id=uuid.uuid4(), unit=Unit(code=VILLAGE, name="v", tier="village"), action="assign",
        from_state="awaiting_assignment", to_state="assigned", actor="sup-li", mediator="med-zhao", at=T0,
        detail={"mediator": "med-zhao", "picked": "load_and_skill"},
    )  # fmt: skip
    kept = folding.strip(moved.model_dump(mode="json"))
    assert "med-zhao" not in str(kept) and "sup-li" not in str(kept) and kept["detail"] == {"picked": "load_and_skill"}


def test_months():
    assert monthly.parse_month("2026-11") == date(2026, 11, 1)
    for bad in ("2026-13", "2026-1", "november"):
        with pytest.raises(InvalidInput):
            monthly.parse_month(bad)
    assert monthly.month_end(date(2024, 2, 1)) == date(2024, 2, 29)
    assert monthly.month_end(date(2026, 12, 1)) == date(2026, 12, 31)
    # 2026-01-31 20:00 UTC is already February in Shanghai
    assert monthly.previous_month(datetime(2026, 1, 31, 20, tzinfo=UTC)) == date(2026, 1, 1)
    assert monthly.previous_month(datetime(2026, 1, 15, tzinfo=UTC)) == date(2025, 12, 1)
    with pytest.raises(InvalidInput):
        monthly.require_past(date(2026, 2, 1), datetime(2026, 2, 10, tzinfo=UTC))
    monthly.require_past(date(2026, 1, 1), datetime(2026, 2, 10, tzinfo=UTC))


def report(unit: str, total: int, channels: dict[str, int]) -> dict:
    return {"unit": unit, "figures": {"total": total, "name": None, "by_channel": channels, "mediation": {}}}


def test_side_by_side_table_csv_and_xlsx():
    from openpyxl import load_workbook

    table = exports.table([report(TOWNSHIP, 5, {"web": 5}), report(VILLAGE, 2, {"hotline": 2})])
    assert table[0] == ["figure", TOWNSHIP, VILLAGE]
    assert ["投诉总量 complaints", 5, 2] in table
    assert ["渠道 channel: hotline", 0, 2] in table and ["渠道 channel: web", 5, 0] in table
    assert exports.to_csv(table).splitlines()[0] == f"figure,{TOWNSHIP},{VILLAGE}"
    sheet = load_workbook(io.BytesIO(exports.to_xlsx(table, "月报"))).active
    assert sheet["A1"].value == "figure" and sheet["B2"].value == 5


def test_charts_are_well_formed_svg():
    svg = exports.trend_chart(CITY, [("2026-01", 10, 4), ("2026-02", 0, 0)])
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg") and "2026-02" in svg
    figures = {
        "on_time": {"acceptance": {"rate": 0.9}},
        "on_time_by_unit": {TOWNSHIP: {"acceptance": {"rate": 0.5}}},
        "top_categories": [{"category": "a<b", "complaints": 3}],
    }
    assert TOWNSHIP in exports.sla_chart(CITY, figures)
    ET.fromstring(exports.categories_chart(CITY, figures))  # the label is escaped


def test_deltas_at_the_own_unit_expand_to_the_same_rows_as_the_difference():
    before = rollups.fact_contributions(fact())
    after = rollups.fact_contributions(fact(unit_code=TOWNSHIP, tier="township", status="accepted"))
    deltas = rollups.net(before, after)
    assert {key[0] for key in deltas} == {VILLAGE, TOWNSHIP}  # no city row: handlers never touch it
    assert rollups.expand_rows(deltas) == rollups.difference(before, after)
    assert rollups.net(before, before) == {}


def test_whole_months_read_whole_years_from_the_yearly_rollups():
    d = date
    assert views.split_months(None, None) == ([], (None, None))
    assert views.split_months(d(2025, 1, 1), d(2025, 12, 1)) == ([], (d(2025, 1, 1), d(2025, 1, 1)))
    assert views.split_months(d(2024, 11, 1), d(2026, 2, 1)) == (
        [(d(2024, 11, 1), d(2024, 12, 1)), (d(2026, 1, 1), d(2026, 2, 1))],
        (d(2025, 1, 1), d(2025, 1, 1)),
    )
    assert views.split_months(d(2025, 3, 1), d(2025, 10, 1)) == ([(d(2025, 3, 1), d(2025, 10, 1))], None)
    assert views.split_months(d(2025, 3, 1), d(2026, 10, 1)) == ([(d(2025, 3, 1), d(2026, 10, 1))], None)
    assert views.split_months(None, d(2026, 3, 1)) == ([(d(2026, 1, 1), d(2026, 3, 1))], (None, d(2025, 1, 1)))
    assert views.split_months(d(2025, 3, 1), None) == ([(d(2025, 3, 1), d(2025, 12, 1))], (d(2026, 1, 1), None))


def test_the_table_carries_each_units_own_escalation_rate():
    township = report(TOWNSHIP, 5, {})
    township["figures"]["escalation"] = {"units": [{"unit": TOWNSHIP, "escalated": 1, "rate": 0.125}]}
    table = exports.table([township, report(VILLAGE, 2, {})])  # the village's report has no escalation
    assert ["上交 escalated", 1, None] in table and ["上交率 escalation rate", 0.125, None] in table
