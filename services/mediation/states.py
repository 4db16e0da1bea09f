"""The mediation case's state machine: a pure table of allowed transitions, no I/O.

`TRANSITIONS[(state, action)]` is the state an action leads to. A few entries depend on facts the
service knows (`CONDITIONAL`: both parties confirmed, every term performed, the state before a
re-review), and a few are allowed only when a fact holds (`GUARDS`: which round of sessions the
case is in). Anything not in the table is refused with the reason (`Refused`, a 409 at the API).
Self-transitions (same state before and after) are actions that record something without moving
the case on (a recusal, a minutes confirmation, a call-back); they are transitions all the same:
every one is journalled and published as `mediation.transitioned.v1`.

See docs/mediation.md for the table as a diagram.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from common import reference

# --- states -------------------------------------------------------------------------------------
AWAITING_CONSENT = "awaiting_consent"  # accepted; the business is asked for its consent (Art 18)
AWAITING_ASSIGNMENT = "awaiting_assignment"  # both consented; no mediator yet
ASSIGNED = "assigned"  # a mediator holds the case; no session scheduled
SESSION_SCHEDULED = "session_scheduled"  # first round: a session is scheduled
SESSION_HELD = "session_held"  # first round: its minutes are recorded
FAILED_ONCE = "failed_once"  # first round failed: a second session is due (seed 004, 调解须知 4)
SECOND_SESSION_SCHEDULED = "second_session_scheduled"
SECOND_SESSION_HELD = "second_session_held"
AGREEMENT_DRAFTED = "agreement_drafted"  # terms written, waiting for both parties' confirmation
RE_REVIEW = "re_review"  # 复议: a party asked, a different mediator looks again
BREACHED = "breached"  # an agreement term was breached: reopen or escalate
# ended: the 60-day clock is stopped and the Art 23 notice clock runs
CONSENT_REFUSED = "consent_refused"
WITHDRAWN = "withdrawn"
EXPIRED = "expired"
TERMINATED = "terminated"
AGREED = "agreed"
PERFORMED = "performed"
ESCALATED = "escalated"

# every state, with its label, is listed in common/reference.py (the gateway and reporting read it)
STATES: tuple[str, ...] = tuple(reference.MEDIATION_STATES)

# from assignment to a drafted agreement: a mediator holds the case and the 60-day clock runs
_IN_SESSIONS: frozenset[str] = frozenset(
    {
        ASSIGNED,
        SESSION_SCHEDULED,
        SESSION_HELD,
        FAILED_ONCE,
        SECOND_SESSION_SCHEDULED,
        SECOND_SESSION_HELD,
        AGREEMENT_DRAFTED,
    }
)
# mediation is under way: the 60-day clock runs (appraisal may pause it), withdrawal and expiry apply
RUNNING: frozenset[str] = frozenset({AWAITING_CONSENT, AWAITING_ASSIGNMENT}) | _IN_SESSIONS
# a mediator holds the case (recusal and reassignment apply)
WITH_MEDIATOR: frozenset[str] = _IN_SESSIONS | {RE_REVIEW, BREACHED}
# entering one of these ends the mediation (MediationEnded is published)
ENDED: frozenset[str] = frozenset({CONSENT_REFUSED, WITHDRAWN, EXPIRED, TERMINATED, AGREED, ESCALATED})
# mediation is over (for good or until a re-review, a reopening or a move to another unit)
CLOSED: frozenset[str] = ENDED | {PERFORMED, BREACHED}
# ends that pass the case on (routing escalates on them, docs/routing.md): the platform's message to
# the parties at the end, with the remedy routes, is the Art 23 end notice, given with the end itself
# (the unit above, which mediates next, cannot give it, and the unit that ended no longer acts)
NOTIFIED_BY_ENDING: frozenset[str] = frozenset({TERMINATED, ESCALATED})
# the outcome each end carries in MediationEnded
OUTCOMES: dict[str, str] = {
    CONSENT_REFUSED: "consent_refused",
    WITHDRAWN: "withdrawn",
    EXPIRED: "expired",
    TERMINATED: "failed",
    AGREED: "agreement",
    ESCALATED: "agreement_breached",
}

# --- actions ------------------------------------------------------------------------------------
CONSENT = "consent"
REFUSE_CONSENT = "refuse_consent"
ASSIGN = "assign"
REQUEST_RECUSAL = "request_recusal"
DECIDE_RECUSAL = "decide_recusal"
SCHEDULE_SESSION = "schedule_session"
RECORD_MINUTES = "record_minutes"
CONFIRM_MINUTES = "confirm_minutes"
DRAFT_AGREEMENT = "draft_agreement"
CONFIRM_AGREEMENT = "confirm_agreement"
FAIL = "fail"
TERMINATE = "terminate"
WITHDRAW = "withdraw"
EXPIRE = "expire"
START_APPRAISAL = "start_appraisal"
END_APPRAISAL = "end_appraisal"
PERFORM_TERM = "perform_term"
BREACH_TERM = "breach_term"
REOPEN = "reopen"
ESCALATE = "escalate"
REQUEST_RE_REVIEW = "request_re_review"
UPHOLD = "uphold"
CALLBACK = "callback"
NOTIFY_END = "notify_end"
MOVE_UNIT = "move_unit"
# 诉调对接 (People's Mediation Law Art 33): the parties jointly apply to the court for judicial
# confirmation of the agreement within 30 days of it taking effect; the court's answer comes back
APPLY_JUDICIAL_CONFIRMATION = "apply_judicial_confirmation"
RECORD_JUDICIAL_DECISION = "record_judicial_decision"
JUDICIAL_APPLICATION_DAYS = 30

ACTIONS: tuple[str, ...] = (
    CONSENT,
    REFUSE_CONSENT,
    ASSIGN,
    REQUEST_RECUSAL,
    DECIDE_RECUSAL,
    SCHEDULE_SESSION,
    RECORD_MINUTES,
    CONFIRM_MINUTES,
    DRAFT_AGREEMENT,
    CONFIRM_AGREEMENT,
    FAIL,
    TERMINATE,
    WITHDRAW,
    EXPIRE,
    START_APPRAISAL,
    END_APPRAISAL,
    PERFORM_TERM,
    BREACH_TERM,
    REOPEN,
    ESCALATE,
    REQUEST_RE_REVIEW,
    UPHOLD,
    CALLBACK,
    NOTIFY_END,
    MOVE_UNIT,
    APPLY_JUDICIAL_CONFIRMATION,
    RECORD_JUDICIAL_DECISION,
)

# actions only the system takes (a timer, another service's event), never a person through the API
SYSTEM_ACTIONS: frozenset[str] = frozenset({EXPIRE, MOVE_UNIT})
# actions only the court named in the application takes (MediationService.judicial_decision)
COURT_ACTIONS: frozenset[str] = frozenset({RECORD_JUDICIAL_DECISION})
JUDICIAL_ACTIONS: frozenset[str] = frozenset({APPLY_JUDICIAL_CONFIRMATION, RECORD_JUDICIAL_DECISION})
# actions only a supervisor of the responsible unit takes; the rest: its mediators and supervisors
SUPERVISOR_ACTIONS: frozenset[str] = frozenset({ASSIGN, DECIDE_RECUSAL, UPHOLD})

PREVIOUS = "<previous>"  # placeholder target: the state the case was in before the re-review


def _rows(states: Iterable[str], actions: Iterable[str], to: str | None = None) -> dict[tuple[str, str], str]:
    """One row per state and action, leading to `to`, or back to the same state when None."""
    actions = tuple(actions)
    return {(state, action): state if to is None else to for state in states for action in actions}


def _table() -> dict[tuple[str, str], str]:
    t: dict[tuple[str, str], str] = {
        (AWAITING_CONSENT, CONSENT): AWAITING_ASSIGNMENT,
        (AWAITING_CONSENT, REFUSE_CONSENT): CONSENT_REFUSED,
        (AWAITING_ASSIGNMENT, ASSIGN): ASSIGNED,
        (ASSIGNED, SCHEDULE_SESSION): SESSION_SCHEDULED,
        (FAILED_ONCE, SCHEDULE_SESSION): SECOND_SESSION_SCHEDULED,
        # agreement
        (AGREEMENT_DRAFTED, DRAFT_AGREEMENT): AGREEMENT_DRAFTED,  # revised: confirmations start over
        (AGREEMENT_DRAFTED, CONFIRM_AGREEMENT): AGREED,  # CONDITIONAL: when both have confirmed
        # follow-up of the agreement (履行跟进)
        (AGREED, PERFORM_TERM): AGREED,  # CONDITIONAL: PERFORMED when every term is performed
        (AGREED, BREACH_TERM): BREACHED,
        **_rows([BREACHED], [PERFORM_TERM, BREACH_TERM]),  # late performance of a term, another breach
        (BREACHED, REOPEN): ASSIGNED,
        (BREACHED, ESCALATE): ESCALATED,
        # re-review (复议): a different mediator; the result stands, or mediation reopens
        **_rows([AGREED, TERMINATED, EXPIRED], [REQUEST_RE_REVIEW], RE_REVIEW),
        (RE_REVIEW, UPHOLD): PREVIOUS,
        (RE_REVIEW, REOPEN): ASSIGNED,
    }
    # sessions: the two rounds run alike, the first ends in a failure and a second round, the second
    # in termination (调解须知 4: a second session, then termination)
    for scheduled, held, give_up, given_up in (
        (SESSION_SCHEDULED, SESSION_HELD, FAIL, FAILED_ONCE),
        (SECOND_SESSION_SCHEDULED, SECOND_SESSION_HELD, TERMINATE, TERMINATED),
    ):
        t[(scheduled, SCHEDULE_SESSION)] = scheduled  # another session of the round
        t[(scheduled, RECORD_MINUTES)] = held
        t[(held, SCHEDULE_SESSION)] = scheduled  # adjourned: another session
        t[(held, DRAFT_AGREEMENT)] = AGREEMENT_DRAFTED
        t[(held, give_up)] = given_up
        t[(AGREEMENT_DRAFTED, give_up)] = given_up  # GUARD: the round
    t |= _rows(RUNNING | {RE_REVIEW}, [WITHDRAW], WITHDRAWN)
    t |= _rows(RUNNING, [EXPIRE], EXPIRED)
    t |= _rows(RUNNING, [START_APPRAISAL, END_APPRAISAL])
    # a mediator holds the case: recusal, and reassignment by a supervisor
    t |= _rows(WITH_MEDIATOR, [REQUEST_RECUSAL, DECIDE_RECUSAL, ASSIGN])
    # minutes are confirmed by both parties whether or not they agree, possibly after the session
    # led on; a session exists from the first SESSION_SCHEDULED
    t |= _rows(set(STATES) - {AWAITING_CONSENT, AWAITING_ASSIGNMENT, ASSIGNED, CONSENT_REFUSED}, [CONFIRM_MINUTES])
    t |= _rows(CLOSED, [CALLBACK, NOTIFY_END])
    # judicial confirmation records something on an agreed case; the court may answer after the
    # terms were performed or one was breached
    t[(AGREED, APPLY_JUDICIAL_CONFIRMATION)] = AGREED  # GUARD: within 30 days, not applied yet
    t |= _rows([AGREED, PERFORMED, BREACHED], [RECORD_JUDICIAL_DECISION])  # GUARD: an application pending
    # the responsible unit changed (routing escalated or reassigned the case)
    t |= _rows(STATES, [MOVE_UNIT])
    t |= _rows(WITH_MEDIATOR & RUNNING, [MOVE_UNIT], AWAITING_ASSIGNMENT)  # the new unit assigns its own mediator
    # the unit above mediates anew
    t |= _rows([TERMINATED, EXPIRED, ESCALATED, RE_REVIEW, BREACHED], [MOVE_UNIT], AWAITING_ASSIGNMENT)
    return t


TRANSITIONS: dict[tuple[str, str], str] = _table()

Facts = Mapping[str, Any]

CONDITIONAL: dict[tuple[str, str], Callable[[Facts], str]] = {
    (AGREEMENT_DRAFTED, CONFIRM_AGREEMENT): lambda f: AGREED if f.get("both_confirmed") else AGREEMENT_DRAFTED,
    (AGREED, PERFORM_TERM): lambda f: PERFORMED if f.get("all_performed") else AGREED,
}

GUARDS: dict[tuple[str, str], tuple[Callable[[Facts], bool], str]] = {
    # the parties are told of the end once (Art 23); a termination passed up tells them itself
    **{
        (state, NOTIFY_END): (
            lambda f: not f.get("end_notice_given"),
            "the parties were already told of the end of this mediation",
        )
        for state in CLOSED
    },
    # the 30 days of Art 33 are checked by the action's handler (cases.py), which knows the time
    (AGREED, APPLY_JUDICIAL_CONFIRMATION): (
        lambda f: f.get("judicial") is None,
        "该调解协议已申请过司法确认，同一协议不重复申请",
    ),
    **{
        (state, RECORD_JUDICIAL_DECISION): (
            lambda f: f.get("judicial") == "applied",
            "没有待法院答复的司法确认申请",
        )
        for state in (AGREED, PERFORMED, BREACHED)
    },
    (AGREEMENT_DRAFTED, FAIL): (
        lambda f: f.get("round", 1) == 1,
        "this is the second round of sessions: a failure now ends mediation, use terminate",
    ),
    (AGREEMENT_DRAFTED, TERMINATE): (
        lambda f: f.get("round", 1) >= 2,
        "termination comes after a second session (调解须知 4): record the failure and hold a second session first",
    ),
}

_HINTS: dict[str, str] = {
    **dict.fromkeys((CONSENT, REFUSE_CONSENT), "consent is recorded while the case awaits the business's consent"),
    ASSIGN: "a mediator is assigned once both parties consented",
    SCHEDULE_SESSION: "sessions are scheduled once a mediator is assigned",
    RECORD_MINUTES: "minutes are recorded for a scheduled session",
    DRAFT_AGREEMENT: "an agreement is drafted after a session's minutes are recorded",
    CONFIRM_AGREEMENT: "there is no agreement draft to confirm",
    FAIL: "a failure is recorded after the first round's session",
    TERMINATE: "termination follows a failed second session",
    **dict.fromkeys((PERFORM_TERM, BREACH_TERM), "terms are followed up once the agreement is confirmed"),
    REOPEN: "a case reopens after a breach or a re-review",
    ESCALATE: "escalation follows a breach of the agreement",
    REQUEST_RE_REVIEW: "re-review is asked after an agreement, a termination or an expiry",
    UPHOLD: "only a case under re-review can have its result upheld",
    CALLBACK: "the call-back comes after mediation ended",
    NOTIFY_END: "the end notice comes after mediation ended",
    WITHDRAW: "withdrawal is possible while mediation is under way",
    **dict.fromkeys((START_APPRAISAL, END_APPRAISAL), "appraisal pauses the clock while mediation is under way"),
    **dict.fromkeys((REQUEST_RECUSAL, DECIDE_RECUSAL), "recusal concerns an assigned mediator"),
    CONFIRM_MINUTES: "no session minutes exist yet",
    APPLY_JUDICIAL_CONFIRMATION: "只有已达成并经双方确认的调解协议才能申请司法确认",
    RECORD_JUDICIAL_DECISION: "没有待法院答复的司法确认申请",
}


class Refused(Exception):
    """The action is not allowed in the current state; the message says why (a 409)."""


def allowed(state: str, action: str, facts: Facts | None = None) -> bool:
    try:
        next_state(state, action, facts or {})
    except Refused:
        return False
    return True


def next_state(state: str, action: str, facts: Facts | None = None) -> str:
    """The state `action` leads to from `state`, or Refused with the reason."""
    facts = facts or {}
    if state not in STATES:
        raise ValueError(f"unknown state {state!r}")
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    target = TRANSITIONS.get((state, action))
    if target is None:
        hint = _HINTS.get(action, "")
        raise Refused(f"{action} is not allowed while the case is {state}" + (f": {hint}" if hint else ""))
    guard = GUARDS.get((state, action))
    if guard is not None and not guard[0](facts):
        raise Refused(f"{action} is not allowed while the case is {state}: {guard[1]}")
    if (state, action) in CONDITIONAL:
        target = CONDITIONAL[(state, action)](facts)
    if target == PREVIOUS:
        previous = facts.get("previous")
        if previous not in STATES:
            raise ValueError("upholding a re-review needs the state before it (facts['previous'])")
        target = previous
    return target


def allowed_actions(state: str, facts: Facts | None = None) -> list[str]:
    """What may be done now (for the case view), system actions left out."""
    known = {"previous": AGREED, **(facts or {})}
    return [a for a in ACTIONS if a not in SYSTEM_ACTIONS | COURT_ACTIONS and allowed(state, a, known)]
