"""Early warning (排查预警): every new complaint is counted; complaints piling up against one
business, or of one category in one township, within the window raise a warning once."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import Session

from common.contracts import ComplaintReceived, EarlyWarningRaised
from common.tenancy import Scope
from services.routing.models import RaisedWarning, Signal
from services.routing.tree import DivisionTree


def complainant_key(phone: str) -> str:
    """A pseudonym of the complainant (to count distinct complainants), not their phone."""
    return hashlib.blake2b(phone.encode(), digest_size=16, person=b"routing-signal").hexdigest()


def record_signal(
    session: Session, event: ComplaintReceived, place: str, credit: str | None, window_days: int, now: datetime
) -> int:
    """Count the complaint for early warning; the distinct complainants against its business
    within the collective window (this one included; 0 without a credit code)."""
    session.add(
        Signal(
            complaint_id=event.complaint_id,
            received_at=event.received_at,
            credit_code=credit,
            category=event.category,
            township_code=place[:9] if len(place) >= 9 else None,
            city_code=place[:6],
            complainant_key=complainant_key(event.complainant_phone),
        )
    )
    session.flush()
    if not credit:
        return 0
    return (
        session.scalar(
            select(func.count(func.distinct(Signal.complainant_key))).where(
                Signal.credit_code == credit, Signal.received_at >= now - timedelta(days=window_days)
            )
        )
        or 0
    )


def raise_warnings(
    session: Session, tree: DivisionTree, unit_code: str, place: str, credit: str | None, category: str, now: datetime
) -> list[EarlyWarningRaised]:
    policy = tree.settings_for(unit_code).early_warning
    since = now - timedelta(days=policy.window_days)
    township = place[:9] if len(place) >= 9 else None
    raised = []
    checks = []
    if credit:
        checks.append(("business", credit, Signal.credit_code == credit, policy.business_count))
    if township:
        checks.append(
            (
                "category",
                category,
                (Signal.township_code == township) & (Signal.category == category),
                policy.category_count,
            )
        )
    for kind, key, where, threshold in checks:
        # held to the commit and taken before counting: of two transactions counting the same key, the
        # later sees the earlier's signals (counted first, two batches of two could each see two of
        # four and neither raise); and one warning per key and place per window
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"ew:{kind}:{key}:{township}"})
        ids = list(session.scalars(select(Signal.complaint_id).where(where, Signal.received_at >= since)))
        if len(ids) < threshold:
            continue
        recent = session.scalar(
            select(func.count())
            .select_from(RaisedWarning)
            .where(
                RaisedWarning.kind == kind,
                RaisedWarning.key == key,
                RaisedWarning.township_code.is_(None) if township is None else RaisedWarning.township_code == township,
                RaisedWarning.raised_at >= since,
            )
        )
        if recent:
            continue
        # the event says what the row records, but the cases behind it (the row keeps those)
        facts = {
            "kind": kind,
            "key": key,
            "township_code": township,
            "city_code": place[:6],
            "count": len(ids),
            "threshold": threshold,
            "window_days": policy.window_days,
            "raised_at": now,
        }
        warning = RaisedWarning(id=uuid.uuid4(), complaint_ids=sorted(str(i) for i in ids), **facts)
        session.add(warning)
        raised.append(EarlyWarningRaised(warning_id=warning.id, **facts))
    return raised


def warnings_in_scope(session: Session, scope: Scope | None, limit: int = 100) -> list[dict[str, Any]]:
    """The warnings raised to the caller's unit: a township sees its own, a city every one of its
    townships'; villages and agencies none."""
    if scope is None or not scope.valid or scope.is_agency:
        return []
    rows = session.scalars(
        select(RaisedWarning)
        .where(or_(RaisedWarning.township_code == scope.unit, RaisedWarning.city_code == scope.unit))
        .order_by(RaisedWarning.raised_at.desc())
        .limit(max(1, min(limit, 500)))
    )
    return [
        {
            "id": str(w.id),
            "kind": w.kind,
            "key": w.key,
            "township_code": w.township_code,
            "city_code": w.city_code,
            "count": w.count,
            "threshold": w.threshold,
            "window_days": w.window_days,
            "raised_at": w.raised_at.isoformat(),
            "complaint_ids": w.complaint_ids,
        }
        for w in rows
    ]
