"""Printable documents: the agreement (调解协议书) and the minutes of a session (调解笔录), as HTML
from jinja2 templates (`templates/`, autoescaped). The gateway turns the same HTML into PDF with
WeasyPrint. Personal data appears as the caller may see it (in full only for the responsible unit's
case-handling staff, and that read is audited by the service)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from common.errors import Conflict, NotFound
from common.tenancy import Scope
from common.workdays import SHANGHAI
from services.mediation.cases import confirmations_needed, judicial, utcnow
from services.mediation.models import Case
from services.mediation.views import parties, shows_personal_data

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

TIERS = {"village": "村（社区）级", "township": "镇（街道）级", "city": "市级"}
TERM_KINDS = {
    "refund": "退货退款",
    "exchange": "更换",
    "repair": "修理",
    "compensation": "赔偿",
    "apology": "赔礼道歉",
    "other": "其他",
}
PARTY_NAMES = {"complainant": "申请人", "business": "被申请人"}
CHANNELS = {"in_person": "现场调解", "phone": "电话调解", "video": "视频调解"}


E_CONFIRMED, BY_STAFF = "已电子确认", "工作人员代为记录"


def actor(party: str) -> str:
    """The journal's actor of a party acting online (party.py)."""
    return f"party:{party}"


def e_confirmed_at(case: Case, action: str, party: str, since: datetime | None, n: int | None = None) -> bool:
    """Whether the party's confirmation (after `since`) was given online."""
    for step in case.steps:
        if step.action != action or step.actor != actor(party) or "e_confirmation" not in (step.detail or {}):
            continue
        if since is not None and step.at < since:
            continue
        if n is None or step.detail.get("session") == n:
            return True
    return False


def confirmation_label(when: str | None, online: bool) -> str | None:
    """What a document shows for a confirmation: the time and how it was given."""
    if when is None:
        return None
    return f"{when}　{E_CONFIRMED if online else BY_STAFF}"


def _local(value: datetime | None) -> str | None:
    return value.astimezone(SHANGHAI).strftime("%Y年%m月%d日 %H:%M") if value is not None else None


def _common(case: Case, scope: Scope) -> dict[str, Any]:
    return {
        "case": case,
        "parties": parties(case, scope, single=True),
        "tier_name": TIERS.get(case.unit_tier, case.unit_tier),
        "generated_at": _local(utcnow()),
        "accepted_on": _local(case.accepted_at),
        "kinds": TERM_KINDS,
        "party_names": PARTY_NAMES,
        "channels": CHANNELS,
    }


def agreement_html(case: Case, scope: Scope) -> str:
    agreement = case.agreement
    if agreement is None:
        raise Conflict("no agreement has been drafted for this case yet")
    view = {
        "version": agreement.version,
        "summary": agreement.summary,
        "judicial_confirmation": agreement.judicial_confirmation,
        **{
            f"{p}_confirmed_at": confirmation_label(
                _local(getattr(agreement, f"{p}_confirmed_at")),
                e_confirmed_at(case, "confirm_agreement", p, agreement.drafted_at),
            )
            for p in PARTY_NAMES
        },
        "confirmed_at": _local(agreement.confirmed_at),
    }
    terms = [
        {"n": t.n, "kind": t.kind, "description": t.description, "amount": t.amount, "deadline": t.deadline}
        for t in case.terms
    ]
    return _env.get_template("agreement.html").render(
        **_common(case, scope), agreement=view, terms=terms, mediator=case.mediator
    )


def judicial_application_html(case: Case, scope: Scope) -> str:
    """司法确认申请书: the parties' joint application to the court (Art 33), from the agreement's terms.
    The court applied to reads the parties in full (it needs them to rule); others as they may."""
    applied = judicial(case)
    if applied is None or case.agreement is None:
        raise Conflict("尚未申请司法确认：没有司法确认申请书")
    common = _common(case, scope)
    if scope.unit == applied["court"]:
        common["parties"] = parties(case, scope, single=True) | {
            "complainant": {"name": case.complainant_name, "phone": case.complainant_phone}
        }
    terms = [
        {"n": t.n, "kind": t.kind, "description": t.description, "amount": t.amount, "deadline": t.deadline}
        for t in case.terms
    ]
    return _env.get_template("judicial_application.html").render(
        **common,
        applied=applied,
        applied_on=_local(datetime.fromisoformat(applied["applied_at"])),
        agreement_on=_local(case.agreement.confirmed_at),
        agreement=case.agreement,
        terms=terms,
    )


def court_reads(case: Case, scope: Scope) -> list[str]:
    """The personal data a reader of the application sees in full (audited like the case view)."""
    applied = judicial(case)
    if applied is not None and scope.unit == applied["court"]:
        return ["name", "phone"]
    return shows_personal_data(case, scope, single=True)


# remedy routes (common/reference.py) and the ends that call for a termination notice, as a party reads them
REMEDIES = {
    "arbitration": "依法向仲裁机构申请仲裁",
    "court": "依法向人民法院提起诉讼",
    "litigation_support": "可申请消费者协会等组织支持起诉",
    "judicial_confirmation": "已达成的协议可向人民法院申请司法确认",
}
TERMINATIONS = {
    "failed": ("经两次调解，双方当事人未能达成调解协议", "调解不成"),
    "consent_refused": ("当事人不同意调解", "当事人不同意调解"),
    "expired": ("自受理之日起六十日内未能达成调解协议", "调解期限届满"),
    "withdrawn": ("当事人撤回调解申请", "当事人撤回"),
}


def termination_html(case: Case, scope: Scope) -> str:
    """终止调解告知书: for a mediation that ended without an agreement, with the remedy routes."""
    ending = TERMINATIONS.get(case.outcome or "")
    if case.ended_at is None or ending is None:
        raise Conflict("the mediation has not ended without an agreement: there is no termination notice")
    reason_text, outcome_label = ending
    return _env.get_template("termination.html").render(
        **_common(case, scope),
        reason_text=reason_text,
        outcome_label=outcome_label,
        end_reason=case.end_reason,
        ended_on=_local(case.ended_at),
        sessions_held=sum(1 for s in case.sessions if s.held_at is not None),
        remedies=[REMEDIES.get(r, r) for r in case.remedies or []],
        mediator=case.mediator,
    )


def minutes_html(case: Case, scope: Scope, n: int) -> str:
    s = next((s for s in case.sessions if s.number == n), None)
    if s is None:
        raise NotFound(f"no session {n} in this mediation case")
    if s.held_at is None:
        raise Conflict(f"session {n} has no minutes yet")
    needed = confirmations_needed(s)
    return _env.get_template("minutes.html").render(
        **_common(case, scope),
        s=s,
        held_at=_local(s.held_at),
        needed=needed,
        confirmations={
            p: confirmation_label(
                _local(getattr(s, f"{p}_confirmed_at")), e_confirmed_at(case, "confirm_minutes", p, None, n)
            )
            for p in needed
        },
    )


def staff_document(case: Case, scope: Scope, kind: str, n: int | None) -> str:
    """The agreement, a session's minutes, the termination notice or the judicial application as
    printable HTML, as `scope` sees it."""
    if kind == "agreement":
        return agreement_html(case, scope)
    if kind == "minutes" and n is not None:
        return minutes_html(case, scope, n)
    if kind == "termination":
        return termination_html(case, scope)
    if kind == "judicial_application":
        return judicial_application_html(case, scope)
    raise NotFound(f"no document {kind!r}")
