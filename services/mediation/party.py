"""The parties acting online (docs/parties.md): the consumer and the business consent or decline,
confirm minutes and the agreement, withdraw, answer the call-back and ask for re-review, each
confirmed by an SMS one-time code the gateway has verified. Each calls the staff action of the same
effect (states.py) with the party as actor, and records the e-confirmation in the journal step:
who (party, masked phone), what (the SHA-256 of the document as rendered for the party at that
moment), when, from where (client address) and the code's verification id. Documents show such a
confirmation as 已电子确认, one recorded by staff as 工作人员代为记录."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from common import reference
from common.contracts import mediation as inputs
from common.errors import Conflict, Forbidden, InvalidInput
from common.tenancy import Scope
from services.mediation import cases, documents, states, views
from services.mediation.documents import BY_STAFF, E_CONFIRMED, actor, e_confirmed_at
from services.mediation.models import Case

BOTH = ("complainant", "business")
# the party's action -> (the staff action of the same effect, who may take it)
ACTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "consent": (states.CONSENT, ("business",)),  # the complainant consented by filing
    "decline": (states.REFUSE_CONSENT, BOTH),
    "confirm_minutes": (states.CONFIRM_MINUTES, BOTH),
    "confirm_agreement": (states.CONFIRM_AGREEMENT, BOTH),
    "withdraw": (states.WITHDRAW, ("complainant",)),
    "callback": (states.CALLBACK, BOTH),
    "re_review": (states.REQUEST_RE_REVIEW, BOTH),
    # a term of the agreement performed (or, with performed=false, not performed by its deadline)
    "report_performance": (states.PERFORM_TERM, BOTH),
}
assert tuple(ACTIONS) == inputs.PARTY_ACTIONS  # the gateway's list of paths is this one
# the mediation's state as a party reads it (the console has its own, fuller table)
STATE_LABELS = {
    states.AWAITING_CONSENT: "等待经营者同意调解",
    states.AWAITING_ASSIGNMENT: "等待指派调解员",
    states.ASSIGNED: "已指派调解员",
    states.SESSION_SCHEDULED: "已安排调解",
    states.SESSION_HELD: "调解已进行，待确认笔录",
    states.FAILED_ONCE: "首次调解未成，将再次调解",
    states.SECOND_SESSION_SCHEDULED: "已安排第二次调解",
    states.SECOND_SESSION_HELD: "第二次调解已进行",
    states.AGREEMENT_DRAFTED: "调解协议待双方确认",
    states.RE_REVIEW: "复核中",
    states.BREACHED: "协议未按期履行",
    states.CONSENT_REFUSED: "经营者不同意调解",
    states.WITHDRAWN: "已撤回",
    states.EXPIRED: "调解期限届满",
    states.TERMINATED: "调解终止",
    states.AGREED: "已达成协议",
    states.PERFORMED: "协议已履行",
    states.ESCALATED: "已上报上级",
}
SESSION_MODES = {"joint": "双方共同调解", "single_party": "单方调解"}
# a scope that sees the parties masked, as a party sees the other side (and itself) in a document
PARTY_SCOPE = Scope(unit="party")


def staff_payload(party: str, action: str, body: dict[str, Any]) -> dict[str, Any]:
    """The staff action's body for what the party sent (the code and `n` are the gateway's)."""
    if action in ("consent", "decline"):
        return {"consent": action == "consent", "contacted_via": "other", "note": body.get("reason")}
    if action in ("confirm_minutes", "confirm_agreement"):
        return {"party": party}
    if action == "withdraw":
        return {"reason": body.get("reason")}
    if action == "report_performance":
        return {"note": body.get("reason")}
    if action == "callback":
        return {"party": party, "score": body.get("score"), "comments": body.get("comments"), "channel": "online"}
    return {"requested_by": party, "reason": body.get("reason")}


def document_sha256(case: Case, action: str, n: int | None) -> str | None:
    """The SHA-256 of the document the party confirms, rendered as the party sees it."""
    if action == "confirm_agreement":
        html = documents.agreement_html(case, PARTY_SCOPE)
    elif action == "confirm_minutes" and n is not None:
        html = documents.minutes_html(case, PARTY_SCOPE, n)
    else:
        return None
    return hashlib.sha256(html.encode()).hexdigest()


def act(case: Case, session: Any, party: str, action: str, body: dict[str, Any], proof: dict[str, Any]) -> tuple:
    """Perform the party's action; answers (events, the e-confirmation recorded)."""
    if action not in ACTIONS:
        raise InvalidInput.one("action", "没有这项操作")
    staff_action, who = ACTIONS[action]
    if party not in who:
        raise Forbidden(f"the {party} cannot {action} online")
    n = body.get("n") if action in ("confirm_minutes", "report_performance") else None
    if action == "confirm_minutes" and not isinstance(n, int):
        raise InvalidInput.one("n", "请指明确认第几次调解的笔录")
    if action == "report_performance":
        if not isinstance(n, int) or all(t.n != n for t in case.terms):
            raise InvalidInput.one("n", "请指明报告协议第几项的履行情况")
        if body.get("performed") is False:
            staff_action = states.BREACH_TERM
    try:
        states.next_state(case.state, staff_action, cases._facts(case))
    except states.Refused:
        raise Conflict(f"当前阶段不能进行此操作（{action} while the case is {case.state}）") from None
    data = inputs.parse(inputs.INPUTS[staff_action], staff_payload(party, action, body))
    confirmation = {
        "party": party,
        "phone": proof.get("phone"),
        "document_sha256": document_sha256(case, action, n),
        "at": cases.utcnow().isoformat(),
        "client": proof.get("client"),
        "verification_id": proof.get("verification_id"),
    }

    def handler(ctx: Any) -> None:
        cases.HANDLERS[staff_action](ctx)
        ctx.detail["e_confirmation"] = confirmation  # the journal keeps it; events do not carry it

    events = cases.perform(session, case, staff_action, None, data, actor=actor(party), path={"n": n}, handler=handler)
    return events, confirmation


def _label(table: dict[str, str], code: str | None) -> str | None:
    return table.get(code, code) if code else None


def view(case: Case, party: str, now: datetime) -> dict[str, Any]:
    """The mediation as a party follows it: no staff, no free text of the mediator's."""
    agreement = case.agreement
    status = reference.status_for_mediation(case.state)
    sessions = []
    for s in case.sessions:
        needed = cases.confirmations_needed(s)
        sessions.append(
            {
                "n": s.number,
                "mode": s.mode,
                "mode_label": SESSION_MODES.get(s.mode, s.mode),
                "channel": s.channel,
                "channel_label": _label(documents.CHANNELS, s.channel),
                "place": s.place,
                "scheduled_at": s.scheduled_at.isoformat(),
                "held_at": views._iso(s.held_at),
                "confirmations": _confirmations(
                    {
                        p: (
                            getattr(s, f"{p}_confirmed_at"),
                            e_confirmed_at(case, states.CONFIRM_MINUTES, p, None, s.number),
                        )
                        for p in needed
                    }
                ),
            }
        )
    agreement_view = None
    if agreement is not None:
        agreement_view = {
            "version": agreement.version,
            "summary": agreement.summary,
            "confirmed_at": views._iso(agreement.confirmed_at),
            "terms": [
                {**views.term_view(t, now.date()), "kind_label": _label(documents.TERM_KINDS, t.kind)}
                for t in case.terms
            ],
            "confirmations": _confirmations(
                {
                    p: (
                        getattr(agreement, f"{p}_confirmed_at"),
                        e_confirmed_at(case, states.CONFIRM_AGREEMENT, p, agreement.drafted_at),
                    )
                    for p in BOTH
                }
            ),
        }
    return {
        "state": case.state,
        "state_label": STATE_LABELS.get(case.state, case.state),
        "status": status,
        "status_label": reference.status_label(status) if status else None,
        "sessions": sessions,
        "agreement": agreement_view,
        "outcome": case.outcome,
        "remedies": [{"code": r, "label": documents.REMEDIES.get(r, r)} for r in case.remedies or []],
        "clocks": views._clocks(case, now),
        "allowed_actions": allowed(case, party),
    }


def _confirmations(found: dict[str, tuple[datetime | None, bool]]) -> dict[str, dict[str, Any] | None]:
    """Each party's confirmation: when, and whether online (已电子确认) or recorded by staff; None if not yet."""
    return {
        p: {"at": at.isoformat(), "by": "party" if online else "staff", "label": E_CONFIRMED if online else BY_STAFF}
        if at is not None
        else None
        for p, (at, online) in found.items()
    }


def allowed(case: Case, party: str) -> list[str]:
    """The party's actions the state machine and the case's facts allow now."""
    found = []
    for name, (staff_action, who) in ACTIONS.items():
        if party not in who:
            continue
        try:
            states.next_state(case.state, staff_action, cases._facts(case))
        except states.Refused:
            continue
        if name == "confirm_minutes" and not any(
            s.held_at is not None
            and party in cases.confirmations_needed(s)
            and getattr(s, f"{party}_confirmed_at") is None
            for s in case.sessions
        ):
            continue
        if name == "report_performance" and all(t.status == "performed" for t in case.terms):
            continue
        if name == "confirm_agreement" and (
            case.agreement is None or getattr(case.agreement, f"{party}_confirmed_at") is not None
        ):
            continue
        found.append(name)
    return found
