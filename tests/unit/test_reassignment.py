"""`case.reassigned.v1`: the contract, and how intake and reporting apply it whatever order events
arrive in (a fake session: these are the decisions, the integration tests cover the database)."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from common.contracts import ALL_CONTRACTS, CaseReassigned, Unit
from services.intake.models import Complaint, HistoryEntry
from services.intake.reassignment import NotRoutedYet, record_reassignment
from services.reporting.figures import count_reassigned
from services.reporting.models import ComplaintFact

VILLAGE = Unit(code="330681104226", name="白沥畈村委会", tier="village")
TOWNSHIP = Unit(code="330681104", name="店口镇", tier="township")
CITY = Unit(code="330681", name="诸暨市", tier="city")
AT = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def moved(from_unit: Unit = VILLAGE, to_unit: Unit = TOWNSHIP) -> CaseReassigned:
    return CaseReassigned(
        complaint_id=uuid.uuid4(), from_unit=from_unit, to_unit=to_unit, reason="unit_offboarded", actor="root", at=AT
    )


class FakeSession:
    def __init__(self, row=None) -> None:
        self.row = row
        self.added: list = []

    def get(self, model, key, **kwargs):
        return self.row

    def add(self, obj) -> None:
        self.added.append(obj)


def case_at(unit: Unit | None) -> Complaint:
    return Complaint(
        id=uuid.uuid4(),
        responsible_unit_code=unit.code if unit else None,
        responsible_unit_name=unit.name if unit else None,
        responsible_tier=unit.tier if unit else None,
        updated_at=AT - timedelta(days=1),
    )


def test_the_contract_round_trips_and_is_registered():
    event = moved()
    envelope = event.envelope()
    assert envelope["type"] == "case.reassigned.v1"
    assert CaseReassigned.parse(envelope)[1] == event
    assert CaseReassigned in ALL_CONTRACTS and CaseReassigned.source == "routing"


def test_intake_moves_the_case_and_writes_the_history_step():
    complaint = case_at(VILLAGE)
    session = FakeSession(complaint)
    assert record_reassignment(session, moved()) is True
    assert (complaint.responsible_unit_code, complaint.responsible_unit_name, complaint.responsible_tier) == (
        TOWNSHIP.code,
        TOWNSHIP.name,
        "township",
    )
    assert complaint.updated_at == AT
    [step] = session.added
    assert isinstance(step, HistoryEntry) and step.step == "reassigned" and step.at == AT
    assert step.detail == {
        "from": VILLAGE.model_dump(),
        "to": TOWNSHIP.model_dump(),
        "reason": "unit_offboarded",
        "actor": "root",
    }


def test_intake_waits_for_the_routing_it_moves_from():
    with pytest.raises(NotRoutedYet):
        record_reassignment(FakeSession(case_at(None)), moved())
    with pytest.raises(LookupError):
        record_reassignment(FakeSession(None), moved())


def test_intake_records_a_superseded_move_without_changing_the_unit():
    complaint = case_at(CITY)  # a later move already took it to the city
    session = FakeSession(complaint)
    assert record_reassignment(session, moved()) is False
    assert complaint.responsible_unit_code == CITY.code
    assert session.added[0].detail["superseded"] is True


@pytest.mark.parametrize(
    ("counted_at", "after"),
    [
        (VILLAGE, (TOWNSHIP.code, "township")),  # the usual case
        (CITY, (CITY.code, "city")),  # already moved on: unchanged
    ],
)
def test_reporting_counts_the_case_for_its_new_unit(counted_at, after):
    fact = ComplaintFact(complaint_id=uuid.uuid4(), unit_code=counted_at.code, tier=counted_at.tier, status="routed")
    count_reassigned(FakeSession(fact), moved())
    assert (fact.unit_code, fact.tier) == after


@pytest.mark.parametrize("fact", [None, ComplaintFact(complaint_id=uuid.uuid4(), status="received")])
def test_reporting_waits_for_the_routing_it_moves_from(fact):
    with pytest.raises(LookupError):
        count_reassigned(FakeSession(fact), moved())
