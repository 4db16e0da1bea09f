"""Public tracking: `tracking number + the phone's last four digits` gives the case's status, the
responsible unit and the dated steps, without personal data.

Guessing is throttled in the database (`intake.tracking_attempts`, shared by every process): each
lookup is recorded before it is checked; a lookup that finds the limit reached is refused (and its
record removed), a failed one keeps its record, a successful one removes it. Within
`WINDOW_SECONDS`, at most `FAILURES_PER_NUMBER` failed lookups of one tracking number (whoever
asks: 5 guesses of 10,000 tails) and `FAILURES_PER_CLIENT` failed lookups from one client address
(of any number) are allowed. An unknown number and a wrong tail fail alike.
"""

from __future__ import annotations

import hmac
import re
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from common import reference
from common.categories import RefusalGround
from common.db import UnitOfWork
from common.masking import mask_complainant
from services.intake import lights
from services.intake.models import Complaint, TrackingAttempt

WINDOW_SECONDS: Final = 900
FAILURES_PER_NUMBER: Final = 5
FAILURES_PER_CLIENT: Final = 20
MAX_TRACKING_NO_LEN: Final = 40

# the steps the public sees, by name (anything else, e.g. a clerk's internal note, is left out)
PUBLIC_STEPS: Final = {
    "received": "已收到投诉",
    "completed": "已登记",
    "routed": "已分派至责任单位",
    "reassigned": "已移交",
    "escalated": "已上交上级单位",
    "notified:acknowledgement": "已发送收件回执",
    "accepted": "已受理",
    "refused": "不予受理",
    "duplicate": "与已有投诉重复，并入原投诉办理",
    "split": "举报内容已另行登记",
    "new_facts": "已关联此前投诉",
    # the settle-first lane (issue 19)
    "settle_first_opened": "已转经营者先行和解",
    "settle_first_offer": "经营者已提出和解方案",
    "settle_first_rejected": "消费者未接受和解方案，转入受理审查",
    "settle_first_expired": "先行和解期限届满，转入受理审查",
    "settled": "已和解",
    "settlement_performance": "消费者已确认和解履行情况",
    # judicial confirmation of the agreement (case_status.record_judicial)
    "judicial_confirmation_applied": "已申请司法确认",
    "judicial_confirmed": "法院已确认调解协议",
    "judicial_refused": "法院不予确认调解协议",
}


STATUS_CHANGED: Final = "status_changed"  # the case status changed (services/intake/case_status.py)


def _public_label(entry) -> str:
    if entry.step == STATUS_CHANGED:
        return f"案件状态：{reference.status_label(str((entry.detail or {}).get('to', '')))}"
    return PUBLIC_STEPS[entry.step]


class Throttled(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed lookups; retry after {retry_after} s")
        self.retry_after = retry_after


def _retry_after(times: list[datetime], limit: int, now: datetime) -> int | None:
    if len(times) < limit:
        return None
    oldest_counted = sorted(times, reverse=True)[limit - 1]
    return max(1, int((oldest_counted + timedelta(seconds=WINDOW_SECONDS) - now).total_seconds()) + 1)


def reserve(transaction, client: str, tracking_no: str) -> int:
    """Record the attempt (committed), then refuse it if the limits are already reached."""
    with transaction() as session:
        attempt = session.execute(
            insert(TrackingAttempt).values(client=client[:64], tracking_no=tracking_no).returning(TrackingAttempt.id)
        ).scalar_one()
    with transaction() as session:
        now = session.execute(select(func.now())).scalar_one()
        others = select(TrackingAttempt.at).where(
            TrackingAttempt.at > now - timedelta(seconds=WINDOW_SECONDS), TrackingAttempt.id != attempt
        )
        by_number = session.scalars(
            others.where(TrackingAttempt.tracking_no == tracking_no).limit(FAILURES_PER_NUMBER * 4)
        ).all()
        by_client = session.scalars(
            others.where(TrackingAttempt.client == client[:64]).limit(FAILURES_PER_CLIENT * 4)
        ).all()
        waits = [
            w
            for w in (
                _retry_after(list(by_number), FAILURES_PER_NUMBER, now),
                _retry_after(list(by_client), FAILURES_PER_CLIENT, now),
            )
            if w is not None
        ]
        if waits:
            session.execute(delete(TrackingAttempt).where(TrackingAttempt.id == attempt))
            raise Throttled(max(waits))
        # prune what has left the window
        session.execute(delete(TrackingAttempt).where(TrackingAttempt.at < now - timedelta(seconds=WINDOW_SECONDS)))
    return attempt


def succeeded(transaction, attempt: int) -> None:
    with transaction() as session:
        session.execute(delete(TrackingAttempt).where(TrackingAttempt.id == attempt))


def normalize_number(tracking_no: str) -> str:
    return re.sub(r"\s+", "", tracking_no or "").upper()[:MAX_TRACKING_NO_LEN]


def phone_tail(phone: str) -> str:
    return re.sub(r"\D", "", phone or "")[-4:]


def matches(complaint: Complaint | None, tail: str) -> bool:
    expected = phone_tail(complaint.complainant.get("phone", "")) if complaint is not None else "----"
    # compare in constant time either way, so timing does not tell an unknown number from a wrong tail
    return hmac.compare_digest(expected.encode(), (tail or "").encode()) and complaint is not None


def find(session: Session, tracking_no: str) -> Complaint | None:
    return session.scalar(select(Complaint).where(Complaint.tracking_no == tracking_no))


def public_view(session: Session, complaint: Complaint) -> dict[str, Any]:
    """What the complainant may see without signing in: no names, phones or addresses, no staff."""
    unit = None
    if complaint.responsible_unit_name:
        unit = {"name": complaint.responsible_unit_name, "tier": complaint.responsible_tier}
    steps = [
        {"at": entry.at.isoformat(), "step": entry.step, "label": _public_label(entry)}
        for entry in complaint.history
        if entry.step in PUBLIC_STEPS or entry.step == STATUS_CHANGED
    ]
    data: dict[str, Any] = {
        "tracking_no": complaint.tracking_no,
        "kind": complaint.kind,
        "status": complaint.status,
        "status_label": reference.status_label(complaint.status),
        "channel": complaint.channel,
        "received_at": complaint.received_at.isoformat(),
        "responsible_unit": unit,
        "steps": steps,
    }
    if complaint.details.get("judicial"):
        data["judicial"] = complaint.details["judicial"]  # status, label, court, ruling number: no personal data
    lane = complaint.details.get("settle_first")
    if lane:
        # window, offer, outcome: no personal data; and what the complainant can do now
        data["settle_first"] = {
            **lane,
            "can_reply": complaint.status == reference.SETTLE_FIRST and lane.get("offer") is not None,
            "can_confirm_performance": complaint.status == reference.SETTLED and not lane.get("performed"),
        }
    decision = complaint.decision or {}
    if decision.get("decision") == "refused":
        ground = RefusalGround(decision["ground"])
        data["refusal"] = {
            "ground": ground.value,
            "ground_label": ground.label_zh,
            "other_routes": decision["other_routes"],
        }
    if complaint.duplicate_of is not None:
        first = session.get(Complaint, complaint.duplicate_of)
        data["duplicate_of"] = first.tracking_no if first else None
    return data


def look_up(db: UnitOfWork, tracking_no: str, tail: str, client: str) -> dict[str, Any]:
    """{"found": view} for a right pair, {"found": None} otherwise (unknown number and wrong
    tail alike), {"retry_after": seconds} when throttled."""
    number = normalize_number(tracking_no)
    try:
        attempt = reserve(db.transaction, client, number)
    except Throttled as exc:
        return {"retry_after": exc.retry_after}
    with db.read() as session:
        complaint = find(session, number)
        if not matches(complaint, tail):
            return {"found": None}
        view = public_view(session, complaint)
    succeeded(db.transaction, attempt)
    return {"found": view}


def party_view(session: Session, complaint: Complaint) -> dict[str, Any]:
    """The public view for a party signed in by SMS code, with the business, the complainant
    masked and intake's clocks (the acceptance deadline)."""
    return {
        **public_view(session, complaint),
        "complaint_id": str(complaint.id),
        "complainant": mask_complainant({k: complaint.complainant.get(k, "") for k in ("name", "phone")}),
        "business": {k: complaint.business.get(k) for k in ("name", "credit_code")},
        "clocks": lights.views(list(complaint.clocks), datetime.now(UTC), None),
    }
