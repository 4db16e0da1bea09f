"""Supervision orders (督办): a higher unit orders a lower one to act on a case by a deadline.

Plain functions over a session and the division tree, like services/routing/moves.py; each returns
the events it causes and the service emits them through its outbox in the same transaction.

| state | meaning | leaves it by |
|---|---|---|
| `open` | sent; the unit ordered works on it, its clock runs | answer; withdrawn when moot |
| `answered` | the unit ordered said what it did (evidence files too); its clock stopped | accept, send back |
| `returned` | sent back with the reason; its clock runs again | answer; withdrawn when moot |
| `accepted` | the sender accepted the answer | - |
| `withdrawn` | the case moved to the sender or out of its subtree while the order waited | - |

Who: a `supervisor` of an onboarded unit above the responsible unit sends it, to the responsible
unit or to a named onboarded unit below the sender that the case lies under; staff of the unit
ordered (`intake_clerk`, `mediator`, `supervisor`) answer; a `supervisor` of the sending unit
accepts or sends back. An order is seen by the subtrees of the sender and of the unit ordered
(404 for anyone else, like a missing case); seeing it without being the unit to act answers 403;
the wrong state answers 409 with the reason.

The clock (`supervision`, working days on the ordered unit's calendar and yellow share) is watched
like routing's others (common/clock_watch.py): its colours go to the unit ordered, its red light to
the sender too (`ClockColourChanged.supervisor`); each change names the order (`ref`).

An order waiting for its answer follows the case (`follow`, run by the service after every move):
addressed to the responsible unit, it goes to the unit responsible now; addressed to a named unit,
it stays there while the case stays below that unit. When the sender itself holds the case now, or
the case left its subtree, the order is withdrawn. Each is a step of the order and of the case's
routing record.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from common import clocks, contracts
from common.clock_watch import Holder, stopped
from common.clocks import DEFAULT_RULES, ClockKind, ClockRule, ClockUnit, start_clock
from common.contracts import SUPERVISION_MAX_ATTACHMENTS as MAX_ATTACHMENTS
from common.contracts import SUPERVISION_MAX_TEXT as MAX_TEXT
from common.contracts import SUPERVISION_MAX_WORKING_DAYS as MAX_WORKING_DAYS
from common.divisions import covers
from common.errors import Conflict, Forbidden, InvalidInput, NotFound
from common.tenancy import CASE_ROLES, Role, Scope, scope_clause
from services.routing import lights, moves
from services.routing.models import Assignment, CaseStep, Outbox, SupervisionOrder, SupervisionStep
from services.routing.settings import work_calendar
from services.routing.tree import DivisionTree

OPEN, ANSWERED, RETURNED, ACCEPTED, WITHDRAWN = "open", "answered", "returned", "accepted", "withdrawn"
STATES = (OPEN, ANSWERED, RETURNED, ACCEPTED, WITHDRAWN)
AWAITING = (OPEN, RETURNED)  # waiting for the answer of the unit ordered
BOXES = ("sent", "received")
DEFAULT_WORKING_DAYS = DEFAULT_RULES[ClockKind.SUPERVISION].amount
LIST_LIMIT = 500
SUPERVISOR = frozenset({Role.SUPERVISOR})
STATE_REASONS = {
    OPEN: "it waits for the answer of the unit ordered",
    RETURNED: "it was sent back and waits for a new answer",
    ANSWERED: "it is answered and waits for the sender to accept it or send it back",
    ACCEPTED: "its answer was accepted",
    WITHDRAWN: "it was withdrawn when the case moved",
}


def rule(working_days: int) -> ClockRule:
    return ClockRule(ClockKind.SUPERVISION, working_days, ClockUnit.WORKING_DAYS)


def ref(order: SupervisionOrder) -> str:
    """How the order's clock names itself in clock.colour_changed.v1 and clock.stopped.v1."""
    return str(order.id)


# --- the clock ------------------------------------------------------------------------------------


def _start(
    session: Session,
    tree: DivisionTree,
    order: SupervisionOrder,
    working_days: int,
    step: str,
    actor: str,
    now: datetime,
    **detail: Any,
) -> None:
    """Start the order's clock afresh (the order sent, or its answer sent back); the order's `step`
    records the working days and the deadline the unit ordered is given."""
    settings = lights.settings_of(tree, order.unit_code)
    calendar = work_calendar(settings)
    order.yellow_share, order.colour = settings.yellow_share, "green"
    order.store(start_clock(rule(working_days), now, calendar), now, calendar)
    _step(session, order, step, actor, now, **detail, working_days=working_days, deadline=order.deadline.isoformat())


def _stop(session: Session, tree: DivisionTree, order: SupervisionOrder, now: datetime) -> clocks.Clock:
    """Stop the order's clock (measured and published as clock.stopped.v1); the clock as stopped."""
    clock = order.clock()
    if clock.stopped_at is not None:
        return clock
    clock = clocks.stop(clock, max(now, order.started_at))
    stopped(
        session,
        Outbox,
        order.complaint_id,
        clock,
        unit_code=order.unit_code,
        tier=order.tier,
        breach_counted=order.colour == "red",
        ref=ref(order),
    )
    order.store(clock, now, lights.calendar_of(tree, order.unit_code))
    return clock


def holders(tree: DivisionTree) -> Callable[[Session, list[SupervisionOrder]], dict[Any, Holder]]:
    """Who is told of an order clock's colours: the unit ordered; of its red light, the sender too."""

    def held(session: Session, rows: list[SupervisionOrder]) -> dict[Any, Holder]:
        return {
            ref(row): Holder(lights.unit_data(tree, row.unit_code), supervisor=lights.unit_data(tree, row.from_unit))
            for row in rows
        }

    return held


def on_red(session: Session, change: contracts.ClockColourChanged, now: datetime) -> list[contracts.Contract]:
    """An order's deadline passed without an answer (the watcher, in the transaction that reports the
    red light, which itself tells both sides): a step of the order; `overdue_at` keeps the first."""
    order = session.get(SupervisionOrder, uuid.UUID(change.ref)) if change.ref else None
    if order is None or order.state not in AWAITING:
        return []
    if order.overdue_at is None:
        order.overdue_at = now
    _step(session, order, "overdue", "system:clock", now, deadline=order.deadline.isoformat())
    return []


# --- small helpers --------------------------------------------------------------------------------


def _step(session: Session, order: SupervisionOrder, step: str, actor: str, at: datetime, **detail: Any) -> None:
    session.add(
        SupervisionStep(order_id=order.id, step=step, unit_code=order.unit_code, detail=detail, actor=actor, at=at)
    )


def _visible(scope: Scope | None, order: SupervisionOrder) -> bool:
    return scope is not None and (scope.sees(order.unit_code) or scope.sees(order.from_unit))


def _load(session: Session, scope: Scope | None, order_id: uuid.UUID) -> tuple[Scope, SupervisionOrder]:
    order = session.get(SupervisionOrder, order_id, with_for_update=True, populate_existing=True)
    if order is None or scope is None or not _visible(scope, order):
        raise NotFound(f"no supervision order {order_id}")
    return scope, order


def allowed_actions(scope: Scope | None, order: SupervisionOrder) -> list[str]:
    """What the caller may do on the order now: the questions `answer` and `_decider` ask, unasked
    of the database, so a button the console shows is one routing accepts."""
    if scope is None:
        return []
    if order.state in AWAITING and scope.unit == order.unit_code and scope.roles & CASE_ROLES:
        return ["answer"]
    if order.state == ANSWERED and scope.unit == order.from_unit and scope.roles & SUPERVISOR:
        return ["accept", "return"]
    return []


def _need_state(order: SupervisionOrder, *states: str) -> None:
    if order.state not in states:
        raise Conflict(f"not possible now: {STATE_REASONS[order.state]}")


def _working_days(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_WORKING_DAYS:
        raise InvalidInput.one("working_days", f"a whole number of working days from 1 to {MAX_WORKING_DAYS}")
    return value


def _units(tree: DivisionTree, order: SupervisionOrder) -> dict[str, Any]:
    return {"from_unit": lights.unit_data(tree, order.from_unit), "to_unit": lights.unit_data(tree, order.unit_code)}


# --- sending, answering, deciding -----------------------------------------------------------------


def send(
    session: Session,
    tree: DivisionTree,
    scope: Scope | None,
    complaint_id: uuid.UUID,
    instruction: str,
    working_days: int | None = None,
    to_unit: str | None = None,
    *,
    now: datetime,
) -> list[contracts.Contract]:
    """A higher unit orders the responsible unit (or a named unit the case lies under, below the
    sender) to act within `working_days` working days from now (`DEFAULT_WORKING_DAYS` if not given)."""
    a = session.get(Assignment, complaint_id, with_for_update=True, populate_existing=True)
    if a is None:
        raise NotFound(f"no complaint {complaint_id}")
    seen = moves.visibility(session, a, scope)
    if seen is None or scope is None:
        raise NotFound(f"no complaint {complaint_id}")
    if seen != "above" or scope.unit not in tree.units:
        raise Forbidden("only an onboarded unit above the responsible unit sends a supervision order (督办)")
    if not scope.roles & SUPERVISOR:
        raise Forbidden("sending a supervision order needs the role supervisor")
    if a.state == moves.ENDED:
        raise Conflict("not possible now: it ended at the top tier; the parties were told the remedy routes")
    instruction = moves.required_text(instruction, "instruction", MAX_TEXT, "say what the unit is to do")
    working_days = _working_days(DEFAULT_WORKING_DAYS if working_days is None else working_days)
    target = to_unit or a.unit_code
    if to_unit is not None and not (
        to_unit in tree.units and to_unit != scope.unit and scope.sees(to_unit) and covers(to_unit, a.unit_code)
    ):
        raise InvalidInput.one(
            "to_unit",
            f"expected an onboarded unit below {scope.unit} that the case lies under "
            f"({a.unit_code} or a unit above it)",
        )
    order = SupervisionOrder(
        id=uuid.uuid4(),
        complaint_id=complaint_id,
        from_unit=scope.unit,
        sent_by=scope.user,
        unit_code=target,
        tier=lights.unit_data(tree, target).tier,
        follows_case=target == a.unit_code,
        instruction=instruction,
        state=OPEN,
        sent_at=now,
        attachments=[],
    )
    session.add(order)
    _start(session, tree, order, working_days, "ordered", scope.user, now, from_unit=scope.unit, to_unit=target)
    return [
        contracts.SupervisionOrdered(
            order_id=order.id,
            complaint_id=complaint_id,
            **_units(tree, order),
            instruction=instruction,
            working_days=working_days,
            deadline=order.deadline,
            actor=scope.user,
            at=now,
        )
    ]


def answer(
    session: Session,
    tree: DivisionTree,
    scope: Scope | None,
    order_id: uuid.UUID,
    text: str,
    attachments: list[str] | None = None,
    *,
    now: datetime,
) -> list[contracts.Contract]:
    """The unit ordered says what it did; `attachments` are evidence files of the case (intake's
    store: the gateway checked they belong to it). The clock stops, in time or late."""
    caller, order = _load(session, scope, order_id)
    if caller.unit != order.unit_code:
        raise Forbidden(f"only {order.unit_code}, the unit ordered, answers this supervision order")
    if not caller.roles & CASE_ROLES:
        raise Forbidden(f"answering a supervision order needs the role {' or '.join(sorted(CASE_ROLES))}")
    _need_state(order, *AWAITING)
    text = moves.required_text(text, "answer", MAX_TEXT, "say what was done")
    files = list(dict.fromkeys(str(f) for f in attachments or []))
    if len(files) > MAX_ATTACHMENTS:
        raise InvalidInput.one("attachments", f"at most {MAX_ATTACHMENTS} files")
    for index, file_id in enumerate(files):
        try:
            uuid.UUID(file_id)
        except ValueError:
            raise InvalidInput.one(f"attachments[{index}]", "not an evidence file id") from None
    in_time = bool(_stop(session, tree, order, now).met)
    order.state, order.answer, order.attachments = ANSWERED, text, files
    order.answered_at, order.answered_by = now, caller.user
    _step(session, order, "answered", caller.user, now, in_time=in_time, attachments=files)
    return [
        contracts.SupervisionAnswered(
            order_id=order.id,
            complaint_id=order.complaint_id,
            **_units(tree, order),
            in_time=in_time,
            attachments=len(files),
            actor=caller.user,
            at=now,
        )
    ]


def _decider(scope: Scope | None, session: Session, order_id: uuid.UUID, what: str) -> tuple[Scope, SupervisionOrder]:
    caller, order = _load(session, scope, order_id)
    if caller.unit != order.from_unit:
        raise Forbidden(f"only {order.from_unit}, the unit that sent the supervision order, {what} its answer")
    if not caller.roles & SUPERVISOR:
        raise Forbidden(f"deciding on an answer needs the role {Role.SUPERVISOR}")
    _need_state(order, ANSWERED)
    return caller, order


def accept(
    session: Session, tree: DivisionTree, scope: Scope | None, order_id: uuid.UUID, note: str = "", *, now: datetime
) -> list[contracts.Contract]:
    """The sender accepts the answer: the order is done."""
    caller, order = _decider(scope, session, order_id, "accepts")
    order.state, order.closed_at = ACCEPTED, now
    _step(session, order, "accepted", caller.user, now, note=str(note or "").strip()[:MAX_TEXT])
    return [
        contracts.SupervisionAccepted(
            order_id=order.id, complaint_id=order.complaint_id, **_units(tree, order), actor=caller.user, at=now
        )
    ]


def send_back(
    session: Session,
    tree: DivisionTree,
    scope: Scope | None,
    order_id: uuid.UUID,
    reason: str,
    working_days: int | None = None,
    *,
    now: datetime,
) -> list[contracts.Contract]:
    """The sender sends the answer back with its reason: the unit ordered answers again within
    `working_days` (the order's own number when not given), a fresh clock."""
    caller, order = _decider(scope, session, order_id, "sends back")
    reason = moves.required_text(
        reason, "reason", MAX_TEXT, "say why the answer is sent back; the unit ordered is told"
    )
    days = _working_days(order.amount if working_days is None else working_days)
    order.state, order.return_reason = RETURNED, reason
    _start(session, tree, order, days, "returned", caller.user, now, reason=reason)
    return [
        contracts.SupervisionReturned(
            order_id=order.id,
            complaint_id=order.complaint_id,
            **_units(tree, order),
            reason=reason,
            deadline=order.deadline,
            actor=caller.user,
            at=now,
        )
    ]


# --- following the case -----------------------------------------------------------------------------


def _moves(events: Iterable[contracts.Contract]) -> list[tuple[uuid.UUID, str, str, str, int | None, str, datetime]]:
    """(case, from unit, to unit, step, seq, actor, at) of each move of a case among `events`."""
    found = []
    for e in events:
        if isinstance(e, contracts.CaseEscalated):
            move = (e.complaint_id, e.from_unit.code, e.to_unit.code, e.rule or "escalated", e.seq, e.actor, e.at)
            found.append(move)
        elif (
            isinstance(e, contracts.CaseRoutingStep)
            and e.previous_unit
            and e.previous_unit.code != e.responsible_unit.code
        ):
            found.append((e.complaint_id, e.previous_unit.code, e.responsible_unit.code, e.step, e.seq, e.actor, e.at))
        elif isinstance(e, contracts.CaseReassigned):
            found.append((e.complaint_id, e.from_unit.code, e.to_unit.code, "reassigned", None, e.actor, e.at))
    return found


def follow(session: Session, tree: DivisionTree, events: Iterable[contracts.Contract]) -> list[contracts.Contract]:
    """The orders waiting for an answer on each case `events` moved follow it (see the module's
    docstring); the events saying so. Run in the transaction of the move."""
    caused: list[contracts.Contract] = []
    for complaint_id, previous, now_at, step, seq, actor, at in _moves(events):
        orders = session.scalars(
            select(SupervisionOrder)
            .where(SupervisionOrder.complaint_id == complaint_id, SupervisionOrder.state.in_(AWAITING))
            .order_by(SupervisionOrder.sent_at)
            .with_for_update()
        ).all()
        for order in orders:
            caused += _follow(session, tree, order, previous, now_at, step, seq, actor, at)
    return caused


def _follow(
    session: Session,
    tree: DivisionTree,
    order: SupervisionOrder,
    previous: str,
    responsible: str,
    step: str,
    seq: int | None,
    actor: str,
    at: datetime,
) -> list[contracts.Contract]:
    held_by = order.unit_code
    if order.from_unit == responsible or not covers(order.from_unit, responsible):
        order.state, order.closed_at = WITHDRAWN, at
        _stop(session, tree, order, at)
        why = "the sender holds the case now" if order.from_unit == responsible else "the case left its subtree"
        _step(session, order, "withdrawn", actor, at, case_step=step, case_from=previous, case_to=responsible, why=why)
        _case_step(session, order, "supervision_withdrawn", seq, held_by, responsible, actor, at, step)
        return []
    named_and_above = not order.follows_case and covers(order.unit_code, responsible)
    if named_and_above or held_by == responsible:
        return []  # a named unit the case still lies under keeps it
    order.unit_code, order.tier, order.follows_case = responsible, lights.unit_data(tree, responsible).tier, True
    _step(session, order, "moved", actor, at, case_step=step, from_unit=held_by, to_unit=responsible)
    _case_step(session, order, "supervision_followed", seq, held_by, responsible, actor, at, step)
    return [
        contracts.SupervisionMoved(
            order_id=order.id,
            complaint_id=order.complaint_id,
            **_units(tree, order),
            previous_unit=lights.unit_data(tree, held_by),
            step=step,
            deadline=order.deadline,
            actor=actor,
            at=at,
        )
    ]


def _case_step(
    session: Session,
    order: SupervisionOrder,
    name: str,
    seq: int | None,
    held_by: str,
    responsible: str,
    actor: str,
    at: datetime,
    case_step: str,
) -> None:
    """The case's routing record says so too, beside the move (its step number; no event of its own)."""
    if seq is None:
        seq = session.scalar(select(Assignment.seq).where(Assignment.complaint_id == order.complaint_id)) or 0
    session.add(
        CaseStep(
            complaint_id=order.complaint_id,
            seq=seq,
            step=name,
            unit_code=responsible,
            from_unit=held_by,
            to_tenant=order.unit_code if order.state != WITHDRAWN else None,
            rule="supervision.follows_case",
            inputs={"order_id": str(order.id), "sent_by_unit": order.from_unit, "move": case_step},
            actor=actor,
            at=at,
        )
    )


# --- reading --------------------------------------------------------------------------------------


def view(
    session: Session, tree: DivisionTree, scope: Scope | None, order: SupervisionOrder, now: datetime
) -> dict[str, Any]:
    steps = session.scalars(
        select(SupervisionStep).where(SupervisionStep.order_id == order.id).order_by(SupervisionStep.id)
    ).all()
    clock = lights.view(order, tree, now)
    return {
        "id": str(order.id),
        "complaint_id": str(order.complaint_id),
        "from_unit": lights.unit_data(tree, order.from_unit).model_dump(),
        "sent_by": order.sent_by,
        "to_unit": lights.unit_data(tree, order.unit_code).model_dump(),
        "follows_case": order.follows_case,
        "instruction": order.instruction,
        "state": order.state,
        "sent_at": order.sent_at.isoformat(),
        "working_days": order.amount,
        "deadline": order.deadline.isoformat(),
        "clock": clock,
        "overdue": order.state in AWAITING and now > order.deadline,
        "overdue_at": order.overdue_at.isoformat() if order.overdue_at else None,
        "answer": order.answer,
        "attachments": list(order.attachments or []),
        "answered_at": order.answered_at.isoformat() if order.answered_at else None,
        "answered_by": order.answered_by,
        "return_reason": order.return_reason,
        "closed_at": order.closed_at.isoformat() if order.closed_at else None,
        "history": [
            {"step": s.step, "unit": s.unit_code, "detail": s.detail, "actor": s.actor, "at": s.at.isoformat()}
            for s in steps
        ],
        "allowed_actions": allowed_actions(scope, order),
    }


def one(
    session: Session, tree: DivisionTree, scope: Scope | None, order_id: uuid.UUID, now: datetime
) -> dict[str, Any]:
    order = session.get(SupervisionOrder, order_id)
    if order is None or not _visible(scope, order):
        raise NotFound(f"no supervision order {order_id}")
    return view(session, tree, scope, order, now)


def listing(
    session: Session,
    tree: DivisionTree,
    scope: Scope | None,
    now: datetime,
    *,
    box: str | None = None,
    overdue: bool = False,
    state: str | None = None,
    complaint_id: uuid.UUID | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """The orders the caller's subtree sent or was sent, newest first: `box` sent (by the caller's
    unit) or received (by it, now), `overdue` (waiting for an answer past the deadline), `state`."""
    errors = []
    if box is not None and box not in BOXES:
        errors.append({"field": "box", "message": f"one of {', '.join(BOXES)}"})
    if state is not None and state not in STATES:
        errors.append({"field": "state", "message": f"one of {', '.join(STATES)}"})
    if not 1 <= limit <= LIST_LIMIT:
        errors.append({"field": "limit", "message": f"must be between 1 and {LIST_LIMIT}"})
    if errors:
        raise InvalidInput(errors)
    if scope is None or not scope.valid or scope.is_agency:
        return []
    query = select(SupervisionOrder).where(
        or_(scope_clause(SupervisionOrder.unit_code, scope), scope_clause(SupervisionOrder.from_unit, scope))
    )
    if box == "sent":
        query = query.where(SupervisionOrder.from_unit == scope.unit)
    elif box == "received":
        query = query.where(SupervisionOrder.unit_code == scope.unit)
    if overdue:
        query = query.where(SupervisionOrder.state.in_(AWAITING), SupervisionOrder.deadline < now)
    if state is not None:
        query = query.where(SupervisionOrder.state == state)
    if complaint_id is not None:
        query = query.where(SupervisionOrder.complaint_id == complaint_id)
    rows = session.scalars(query.order_by(SupervisionOrder.sent_at.desc()).limit(limit)).all()
    return [view(session, tree, scope, row, now) for row in rows]


def of_case(
    session: Session, tree: DivisionTree, scope: Scope | None, complaint_id: uuid.UUID, now: datetime
) -> list[dict[str, Any]]:
    """The orders of a case the caller sees (404 for a case it does not see)."""
    a = session.get(Assignment, complaint_id)
    if a is None or moves.visibility(session, a, scope) is None:
        raise NotFound(f"no complaint {complaint_id}")
    return listing(session, tree, scope, now, complaint_id=complaint_id, limit=LIST_LIMIT)
