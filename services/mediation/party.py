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
from common.errors import Conflict, Forbidden, InvalidInput
from common.tenancy import Scope
from services.mediation import cases, documents, inputs, states
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
}
assert tuple(ACTIONS) == inputs.PARTY_ACTIONS  # the gateway's list of paths is this one
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
    n = body.get("n") if action == "confirm_minutes" else None
    if action == "confirm_minutes" and not isinstance(n, int):
        raise InvalidInput.one("n", "请指明确认第几次调解的笔录")
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
                "channel": s.channel,
                "channel_label": _label(documents.CHANNELS, s.channel),
                "place": s.place,
                "scheduled_at": s.scheduled_at.isoformat(),
                "held_at": cases._iso(s.held_at),
                "confirmations": {
                    p: _confirmation(
                        getattr(s, f"{p}_confirmed_at"), e_confirmed_at(case, states.CONFIRM_MINUTES, p, None, s.number)
                    )
                    for p in needed
                },
            }
        )
    agreement_view = None
    if agreement is not None:
        agreement_view = {
            "version": agreement.version,
            "summary": agreement.summary,
            "confirmed_at": cases._iso(agreement.confirmed_at),
            "terms": [
                {**cases.term_view(t, now.date()), "kind_label": _label(documents.TERM_KINDS, t.kind)}
                for t in case.terms
            ],
            "confirmations": {
                p: _confirmation(
                    getattr(agreement, f"{p}_confirmed_at"),
                    e_confirmed_at(case, states.CONFIRM_AGREEMENT, p, agreement.drafted_at),
                )
                for p in BOTH
            },
        }
    return {
        "state": case.state,
        "status": status,
        "status_label": reference.status_label(status) if status else None,
        "sessions": sessions,
        "agreement": agreement_view,
        "outcome": case.outcome,
        "remedies": [{"code": r, "label": documents.REMEDIES.get(r, r)} for r in case.remedies or []],
        "clocks": cases._clocks(case, now),
        "allowed_actions": allowed(case, party),
    }


def _confirmation(at: datetime | None, online: bool) -> dict[str, Any] | None:
    if at is None:
        return None
    return {"at": at.isoformat(), "by": "party" if online else "staff", "label": E_CONFIRMED if online else BY_STAFF}


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
        if name == "confirm_agreement" and (
            case.agreement is None or getattr(case.agreement, f"{party}_confirmed_at") is not None
        ):
            continue
        found.append(name)
    return found
