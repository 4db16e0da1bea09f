"""Intake's case clocks under the responsible tenant's policy (services/intake/lights.py):
stricter limits apply, laxer ones do not, and the yellow share is kept for the watcher."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from common.clocks import ClockKind
from common.contracts import ClockPolicy, WorkingDays
from common.workdays import SHANGHAI
from services.intake import lights

RECEIVED = datetime(2025, 6, 2, 9, 0, tzinfo=SHANGHAI)  # a Monday


class Added(list):
    add = list.append


def started() -> list:
    session = Added()
    complaint_id = uuid.uuid4()
    for kind in lights.STARTED_AT_RECEIPT:
        lights.start(session, complaint_id, kind, RECEIVED)
    return list(session)


def deadlines(rows) -> dict[str, datetime]:
    return {row.kind: row.deadline for row in rows}


def test_a_stricter_tenant_shortens_the_running_clocks_from_their_start() -> None:
    rows = started()
    assert deadlines(rows) == {
        "acknowledgement": datetime(2025, 6, 3, 9, 0, tzinfo=SHANGHAI),
        "acceptance": datetime(2025, 6, 11, 23, 59, 59, 999999, tzinfo=SHANGHAI),
    }
    lights.apply_policy(
        rows, ClockPolicy(acknowledgement_hours=12, acceptance_working_days=5, yellow_share=0.5), RECEIVED
    )
    assert deadlines(rows) == {
        "acknowledgement": datetime(2025, 6, 2, 21, 0, tzinfo=SHANGHAI),
        "acceptance": datetime(2025, 6, 9, 23, 59, 59, 999999, tzinfo=SHANGHAI),
    }
    ack = lights.find(rows, ClockKind.ACKNOWLEDGEMENT)
    assert ack.yellow_share == 0.5 and ack.next_check_at == datetime(2025, 6, 2, 15, 0, tzinfo=SHANGHAI)


def test_a_laxer_tenant_cannot_lengthen_a_legal_limit_and_a_stopped_clock_is_left_alone() -> None:
    rows = started()
    before = deadlines(rows)
    ack = lights.find(rows, ClockKind.ACKNOWLEDGEMENT)
    assert lights.stop(ack, RECEIVED.replace(hour=10))
    lights.apply_policy(rows, ClockPolicy(acknowledgement_hours=1, acceptance_working_days=30), RECEIVED)
    assert deadlines(rows) == before
    assert (ack.status, ack.colour, ack.next_check_at) == ("met", "green", None)


def test_the_tenants_own_days_off_move_the_acceptance_deadline_and_its_remaining_time() -> None:
    rows = started()
    days_off = WorkingDays(extra_holidays=(date(2025, 6, 5), date(2025, 6, 6)))  # a local Thursday and Friday
    lights.apply_policy(rows, ClockPolicy(working_days=days_off), RECEIVED)
    acceptance = lights.find(rows, ClockKind.ACCEPTANCE)
    # 7 working days after Monday 2 June (Dragon Boat Festival): 3, 4, 9, 10, 11, 12, 13 June
    assert acceptance.deadline == datetime(2025, 6, 13, 23, 59, 59, 999999, tzinfo=SHANGHAI)
    assert acceptance.working_days() == days_off
    holder = {"code": "330681109290", "name": "枫源村委会", "tier": "village"}
    view = next(v for v in lights.views(rows, RECEIVED, holder) if v["kind"] == "acceptance")
    assert view["remaining_seconds"] == 7 * 24 * 3600  # the two local days off do not count
    assert view["unit"] == holder and view["handler"] is None
    # the acknowledgement counts hours, which no calendar changes
    assert lights.find(rows, ClockKind.ACKNOWLEDGEMENT).deadline == datetime(2025, 6, 3, 9, 0, tzinfo=SHANGHAI)
