"""Rollup deltas and their fold (reporting performance issue): events applied through `folding.consume`
in a city no other test uses (339901), over three calendar years, in one transaction that is rolled
back at the end. Before the fold every figure is read from the deltas alone (days); after it from the
daily, monthly and yearly rollups; the two must agree for every unit and every kind of period."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from common.contracts import (
    CaseEscalated,
    ComplaintAccepted,
    ComplaintReceived,
    ComplaintRouted,
    MediationEnded,
    MediationTransitioned,
    Unit,
)
from services.reporting import folding, views

pytestmark = pytest.mark.integration

SH = ZoneInfo("Asia/Shanghai")
CITY = "339901"
TOWNSHIPS = ("339901001", "339901002")
VILLAGES = ("339901001001", "339901001002", "339901002001")
PERIODS = [
    (None, None),
    (date(2024, 1, 1), date(2024, 12, 31)),  # a whole year
    (date(2023, 12, 15), date(2025, 2, 10)),  # days, months, a year, months, days
    (date(2024, 3, 1), date(2024, 3, 31)),  # one month
    (date(2024, 6, 30), date(2024, 6, 30)),  # one day
    (None, date(2024, 6, 30)),
    (date(2024, 2, 1), None),
    (date(2023, 11, 1), date(2025, 12, 31)),
]


def events(village: str, at: datetime, n: int) -> list:
    unit = Unit(code=village, name=f"村{village[-3:]}", tier="village")
    township = Unit(code=village[:9], name=f"镇{village[6:9]}", tier="township")
    cid = uuid.uuid4()
    person = {"complainant_name": "某", "complainant_phone": "13800000000"}
    out = [
        ComplaintReceived(
            complaint_id=cid, tracking_no="T", channel="web", received_at=at, category=f"c{n % 3}",
            claim_amount=Decimal("100.50"), incident_division_code=village, business_name=f"店{n % 4}",
            business_credit_code=f"9133{n % 4:014d}", **person,
        ),
        ComplaintRouted(complaint_id=cid, unit=unit, rule="r", decided_at=at + timedelta(minutes=5)),
        ComplaintAccepted(
            complaint_id=cid, tracking_no="T", unit=unit, accepted_at=at + timedelta(days=2), accepted_by="c",
            category=f"c{n % 3}", business_name=f"店{n % 4}", **person,
        ),
    ]  # fmt: skip
    if n % 6 == 0:  # passed up to the township: leaves the village's volumes, enters the township's
        escalated = CaseEscalated(
            complaint_id=cid, from_unit=unit, to_unit=township, trigger="mediation_failed", actor="s",
            at=at + timedelta(days=20),
        )  # fmt: skip
        out.append(escalated)
    ender = township if n % 6 == 0 else unit
    out += [
        MediationTransitioned(
            complaint_id=cid, unit=ender, action="callback", from_state="agreed", to_state="agreed", actor="m",
            at=at + timedelta(days=40), detail={"party": "complainant", "score": 1 + n % 5},
        ),
        MediationEnded(
            complaint_id=cid, unit=ender, outcome="agreement" if n % 2 else "failed",
            recovered_amount=Decimal("80") if n % 2 else None, ended_at=at + timedelta(days=35),
        ),
    ]  # fmt: skip
    return out


def all_figures(session: Session) -> dict:
    units = (CITY, *TOWNSHIPS, *VILLAGES)
    return {(u, p): views.read_figures(session, u, *p) for u in units for p in PERIODS} | {
        (u, "trend"): views.monthly_trend(session, u, date(2023, 10, 1), date(2025, 12, 31)) for u in units
    }


def test_figures_are_the_same_before_and_after_the_fold(db):
    with Session(db) as session, session.begin():
        try:
            start = datetime(2023, 11, 20, 10, tzinfo=SH)
            for n in range(60):  # every 13 days from November 2023 to February 2026
                for event in events(VILLAGES[n % 3], start + timedelta(days=13 * n), n):
                    folding.consume(session, uuid.uuid4(), event)
            pending = session.execute(
                text("SELECT count(*) FROM reporting.rollup_deltas WHERE unit_code LIKE :p"), {"p": CITY + "%"}
            ).scalar()
            assert pending > 0
            cities = session.execute(
                text("SELECT count(*) FROM reporting.rollup_deltas WHERE unit_code = :c"), {"c": CITY}
            ).scalar()
            assert cities == 0  # handlers write at the event's own unit: no row shared by the whole city
            unfolded = all_figures(session)
            assert unfolded[(CITY, (None, None))]["total"] == 60
            assert unfolded[(TOWNSHIPS[0], (None, None))]["by_unit"] == {VILLAGES[0]: 10, VILLAGES[1]: 20}
            folding.fold_all(session)
            left = session.execute(
                text("SELECT count(*) FROM reporting.rollup_deltas WHERE unit_code LIKE :p"), {"p": CITY + "%"}
            ).scalar()
            assert left == 0
            years = session.execute(
                text("SELECT count(DISTINCT year) FROM reporting.yearly_rollups WHERE unit_code = :c"), {"c": CITY}
            ).scalar()
            assert years == 4  # 2023 to 2026
            folded = all_figures(session)
            for key, figures in unfolded.items():
                assert folded[key] == figures, key
        finally:
            session.rollback()
