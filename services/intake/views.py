"""What intake shows: the single case (docs/intake.md, "The case detail") with what it adds for a
decision (the cases linked to it, the documents it has, and the intake actions the caller may take
now), the businesses complained about before and the code lists. The rules are the ones the
actions themselves apply (`check_*` here and in decisions.py), so a button shown is an action
allowed, and the console computes none of it. The case list is case_list.py."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from common.categories import CATEGORIES, ConsumerRequest, RefusalGround
from common.errors import Conflict, Forbidden
from common.tenancy import CASE_ROLES, Role, Scope
from services.intake import complaints, decisions, evidence
from services.intake.models import Complaint

# the printable notices intake gives (services/intake/notices.py): code -> (label, file, decision)
DOCUMENTS = {
    "acceptance_notice": ("受理告知书", "acceptance.html", "accepted"),
    "refusal_notice": ("不予受理告知书", "refusal.html", "refused"),
}


def check_evidence_handler(complaint: Complaint, scope: Scope) -> None:
    """Evidence is for staff handling the case: not a read-only view, a case-handling role (or an
    agency liaison for a case handed to it)."""
    if complaints.read_only(complaint, scope):
        raise Forbidden("a read-only view (a case passed up) does not include evidence files")
    allowed = {Role.AGENCY_LIAISON} if scope.is_agency else set(CASE_ROLES)
    if not scope.roles & allowed:
        raise Forbidden("evidence files are for staff handling cases (intake_clerk, mediator, supervisor)")


def check_completer(complaint: Complaint, scope: Scope) -> None:
    """An e-mail draft is completed by an intake clerk of the unit that received it."""
    if scope.is_agency or Role.INTAKE_CLERK not in scope.roles:
        raise Forbidden("e-mail complaints are taken in by unit staff with the role intake_clerk")
    if complaint.first_receiver_code != scope.unit:
        raise Forbidden(f"only the receiving unit ({complaint.first_receiver_code}) completes its e-mail drafts")
    if complaint.status != complaints.DRAFT:
        raise Conflict("the complaint is no draft (any more): it was completed already")


def _passes(check, *args) -> bool:
    try:
        check(*args)
    except (Forbidden, Conflict):
        return False
    return True


def allowed_actions(complaint: Complaint, scope: Scope) -> list[str]:
    """Intake's actions the caller may take on the case now (codes of common.reference.CASE_ACTIONS)."""
    actions = []
    if complaint.status == complaints.DRAFT and _passes(check_completer, complaint, scope):
        actions.append("complete_draft")
    room = len(complaint.evidence) < evidence.MAX_FILES_PER_CASE
    if complaint.kind == complaints.COMPLAINT and room and _passes(check_evidence_handler, complaint, scope):
        actions.append("add_evidence")
    if decisions.decidable(complaint) and _passes(decisions.check_decider, complaint, scope):
        actions += ["accept", "refuse"]
    return actions


def documents(complaint: Complaint) -> list[dict[str, str]]:
    decided = (complaint.decision or {}).get("decision")
    return [
        {"code": code, "label_zh": label, "path": f"/api/v1/complaints/{complaint.id}/documents/{name}"}
        for code, (label, name, decision) in DOCUMENTS.items()
        if decided == decision
    ]


def _ref(c: Complaint, relation: str | None = None) -> dict[str, Any]:
    ref = {"id": str(c.id), "tracking_no": c.tracking_no, "status": c.status, "received_at": c.received_at.isoformat()}
    if relation:
        ref["relation"] = relation
    return ref


def linked(session: Session, complaint: Complaint, scope: Scope) -> dict[str, Any]:
    """The duplicates merged into this case, the case it duplicates, and the related ones (new facts
    either way, the other half of an Art 9 split), as far as the caller sees them."""
    others = session.scalars(
        select(Complaint)
        .where(
            complaints.in_scope(scope),
            or_(
                Complaint.duplicate_of == complaint.id,
                Complaint.related_to == complaint.id,
                Complaint.id.in_([k for k in (complaint.duplicate_of, complaint.related_to, complaint.linked_id) if k]),
            ),
        )
        .order_by(Complaint.received_at)
    ).all()
    related = []
    for other in others:
        if other.id == complaint.related_to:
            related.append(_ref(other, "earlier_case"))
        elif other.related_to == complaint.id:
            related.append(_ref(other, "later_case"))
        elif other.id == complaint.linked_id:
            related.append(_ref(other, "report" if other.kind == complaints.REPORT else "complaint"))
    first = next((o for o in others if o.id == complaint.duplicate_of), None)
    return {
        "duplicates": [_ref(o) for o in others if o.duplicate_of == complaint.id],
        "duplicate_of_case": {"id": str(first.id), "tracking_no": first.tracking_no} if first else None,
        "related": related,
    }


def case(session: Session, complaint: Complaint, scope: Scope) -> dict[str, Any]:
    """The single-case view: the case as the caller may see it, its linked cases, documents and actions."""
    data = complaints.view(complaint, scope, single=True)
    data.update(linked(session, complaint, scope))
    data["documents"] = documents(complaint)
    data["allowed_actions"] = allowed_actions(complaint, scope)
    return data


def known_businesses(session: Session, query: str, limit: int) -> list[dict[str, str]]:
    """Businesses complained about before, by credit-code prefix or a part of the name. Only
    businesses with a credit code (a registered business, not a person's name typed as one); name
    and credit code only."""
    q = query.strip()
    credit = Complaint.business["credit_code"].astext
    name = Complaint.business["name"].astext
    # a credit code is ASCII: 商店88 is a part of a name (Python counts CJK as alphanumeric)
    if q.isascii() and q.isalnum() and q.upper() == q and len(q) >= 2 and any(ch.isdigit() for ch in q):
        match = credit.startswith(q)  # ix_complaints_business_credit_prefix
    else:
        match = name.contains(q, autoescape=True)
    rows = session.execute(
        select(name, credit).where(credit.is_not(None), match).distinct().order_by(credit).limit(limit)
    ).all()
    seen: dict[str, str] = {}
    for business_name, code in rows:
        seen.setdefault(code, business_name)
    return [{"name": n, "credit_code": c} for c, n in seen.items()]


def reference_list(name: str) -> list[dict[str, Any]] | None:
    """A code list (categories, requests, refusal grounds), None for an unknown name."""
    if name == "categories":
        return [
            {
                "code": c.code,
                "name_zh": c.name_zh,
                "name_en": c.name_en,
                "safety_related": c.safety_related,
                "agency": c.agency,
                "scope": c.scope,
            }
            for c in CATEGORIES
        ]
    if name == "requests":
        return [{"code": r.value, "label_zh": r.label_zh} for r in ConsumerRequest]
    if name == "refusal-grounds":
        return [{"code": g.value, "label_zh": g.label_zh, "other_routes_zh": g.other_routes_zh} for g in RefusalGround]
    return None
