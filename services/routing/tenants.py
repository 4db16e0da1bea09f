"""Tenants: onboarded units and the agencies attached to them, their settings, their audit trail,
and moving a unit's open cases when it is offboarded. Plain functions over a session (no broker):
the service wraps each in one transaction and emits the events they return through its outbox.

Who may do what (the caller's `Scope`, from the token, travels as nameko context data):

| operation | who |
|---|---|
| read a tenant, its effective settings, list tenants | anyone whose scope covers the tenant |
| change a tenant's settings | tenant_admin of the tenant or a unit above it; platform_admin |
| read a tenant's audit trail | tenant_admin or platform_admin, scope covering the tenant |
| onboard, offboard a unit | platform_admin, scope covering the tenant |
| onboard, rename, offboard an agency | platform_admin, or tenant_admin of a city, scope covering it |

A code outside the caller's scope answers NotFound exactly like one that does not exist; inside
the scope, a caller without the role gets Forbidden before anything is looked up. Platform admins
are not global yet: their scope is the subtree of their own tenant like everyone else's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from common.contracts import CaseReassigned
from common.contracts import Unit as UnitData
from common.divisions import is_unit_code, lineage, parent_of
from common.errors import Conflict, Forbidden, InvalidInput, NotFound
from common.reference import AGENCY_TYPES
from common.tenancy import Role, Scope
from services.routing import registry, settings
from services.routing.models import Agency, Assignment, TenantAudit, Unit

KINDS = ("unit", "agency")
REASON_OFFBOARDED = "unit_offboarded"
AUDIT_LIMIT = 200

ADMINS = frozenset({Role.TENANT_ADMIN, Role.PLATFORM_ADMIN})
PLATFORM = frozenset({Role.PLATFORM_ADMIN})
CITY_DIGITS = 6


def agency_id(unit_code: str, agency_type: str) -> str:
    return f"{unit_code}-{agency_type}"


def split_id(code: str) -> tuple[str, str | None]:
    """(unit code, agency type or None) of a tenant id; NotFound when it cannot name a tenant."""
    unit_code, dash, agency_type = code.partition("-")
    if not is_unit_code(unit_code) or (dash and agency_type not in AGENCY_TYPES):
        raise NotFound(f"no tenant {code}")
    return unit_code, agency_type or None


def covers(scope: Scope | None, code: str) -> bool:
    """A unit's scope covers the tenants of its subtree (agencies attached to them included: their
    ids start with the unit's code); an agency's covers only itself."""
    return scope is not None and scope.valid and (scope.unit == code or scope.sees(code))


def authorize(scope: Scope | None, code: str, roles: frozenset[str] = frozenset()) -> Scope:
    """The caller's scope must cover `code` (else NotFound) and hold one of `roles` (else Forbidden)."""
    if scope is None or not covers(scope, code):
        raise NotFound(f"no tenant {code}")
    if roles and not scope.roles & roles:
        raise Forbidden(f"this needs the role {' or '.join(sorted(roles))}")
    return scope


def authorize_agency_admin(scope: Scope | None, code: str) -> Scope:
    """Agencies of a city are onboarded and retired by the city's own admins (its police stations,
    courts) or a platform admin; a township or village admin may not (Forbidden)."""
    caller = authorize(scope, code, ADMINS)
    if Role.PLATFORM_ADMIN not in caller.roles and len(caller.unit) != CITY_DIGITS:
        raise Forbidden("agencies are onboarded and retired by a city's tenant_admin or a platform_admin")
    return caller


def audit(session: Session, actor: str, action: str, tenant: str, **detail: Any) -> None:
    session.add(TenantAudit(at=datetime.now(UTC), actor=actor, action=action, tenant=tenant, detail=detail))


# --- reading ------------------------------------------------------------------------------------


def nearest_above(session: Session, code: str, *, lock: bool = False) -> Unit | None:
    """The nearest onboarded unit above `code`: where its cases go when it has no staff. With
    `lock`, the unit is locked against offboarding until the transaction ends."""
    above = lineage(code)[1:]
    if not above:
        return None
    query = select(Unit).where(Unit.code.in_(above))
    if lock:
        query = query.with_for_update(read=True, key_share=True)
    units = {u.code: u for u in session.scalars(query)}
    return next((units[c] for c in above if c in units), None)


def _unit_view(unit: Unit, parent: str | None) -> dict[str, Any]:
    return {
        "code": unit.code,
        "kind": "unit",
        "name": unit.name,
        "tier": unit.tier,
        "parent": parent,
        "onboarded_at": unit.onboarded_at.isoformat() if unit.onboarded_at else None,
        "settings": unit.settings or {},
    }


def _agency_view(agency: Agency, unit: Unit) -> dict[str, Any]:
    return {
        "code": agency.id,
        "kind": "agency",
        "agency_type": agency.agency_type,
        "name": agency.name,
        "tier": unit.tier,
        "parent": unit.code,
        "onboarded_at": agency.onboarded_at.isoformat() if agency.onboarded_at else None,
        "settings": agency.settings or {},
    }


def _chain(session: Session, unit_code: str) -> list[Unit]:
    """The onboarded units from the city down to `unit_code`, top first."""
    units = {u.code: u for u in session.scalars(select(Unit).where(Unit.code.in_(lineage(unit_code))))}
    return [units[c] for c in reversed(lineage(unit_code)) if c in units]


def _find(session: Session, code: str) -> tuple[Unit, Agency | None]:
    unit_code, agency_type = split_id(code)
    unit = session.get(Unit, unit_code)
    agency = session.get(Agency, code) if agency_type else None
    if unit is None or (agency_type and agency is None):
        raise NotFound(f"no tenant {code}")
    return unit, agency


def _effective(session: Session, unit: Unit, agency: Agency | None) -> tuple[settings.TenantSettings, list[str]]:
    chain = _chain(session, unit.code)
    sources = [u.code for u in chain if u.settings]
    overrides = [u.settings or {} for u in chain]
    if agency is not None:
        overrides.append(agency.settings or {})
        if agency.settings:
            sources.append(agency.id)
    return settings.effective(overrides), sources


def tenant(session: Session, scope: Scope | None, code: str) -> dict[str, Any]:
    """One tenant with its own overrides, its effective settings and where they came from."""
    authorize(scope, code)
    unit, agency = _find(session, code)
    if agency is not None:
        view = _agency_view(agency, unit)
    else:
        above = nearest_above(session, unit.code)
        view = _unit_view(unit, above.code if above else None)
        view["agencies"] = sorted(session.scalars(select(Agency.id).where(Agency.unit_code == unit.code)))
    effective, sources = _effective(session, unit, agency)
    view["effective_settings"] = effective.model_dump(mode="json")
    view["settings_from"] = sources
    return view


def effective_settings(session: Session, scope: Scope | None, code: str) -> dict[str, Any]:
    authorize(scope, code)
    unit, agency = _find(session, code)
    return _effective(session, unit, agency)[0].model_dump(mode="json")


def disclosure_policy(session: Session, code: str) -> dict[str, Any]:
    """Public, without a scope: whether the unit publishes its complaint figures (消费投诉信息公示),
    from which number of accepted complaints a business is listed, and the unit's name."""
    unit, _ = _find(session, code)
    if not is_unit_code(code):
        raise NotFound(f"no unit {code}")
    disclosure = _effective(session, unit, None)[0].disclosure
    return {
        "code": unit.code,
        "name": unit.name,
        "enabled": disclosure.enabled,
        "min_accepted": disclosure.min_accepted,
    }


def tenants(session: Session, scope: Scope | None, parent: str | None = None, kind: str | None = None) -> list[dict]:
    """The tenants directly below `parent` (default: the caller's own unit): the onboarded units one
    tier down by division code, and the agencies attached to `parent`."""
    if scope is None:
        raise NotFound("no tenant")
    parent = parent or scope.unit
    if kind is not None and kind not in KINDS:
        raise InvalidInput.one("kind", f"expected one of {', '.join(KINDS)}")
    authorize(scope, parent)
    if not is_unit_code(parent):
        raise NotFound(f"no tenant {parent}")
    found: list[dict[str, Any]] = []
    if kind in (None, "unit") and len(parent) < 12:
        children = session.scalars(
            select(Unit)
            .where(Unit.code.startswith(parent, autoescape=True), func.length(Unit.code) == len(parent) + 3)
            .order_by(Unit.code)
        ).all()
        onboarded_parent = session.get(Unit, parent) is not None
        nearest = parent if onboarded_parent else None
        if not onboarded_parent and children:
            above = nearest_above(session, children[0].code)
            nearest = above.code if above else None
        found += [_unit_view(child, nearest) for child in children]
    if kind in (None, "agency"):
        unit = session.get(Unit, parent)
        if unit is not None:
            agencies = session.scalars(select(Agency).where(Agency.unit_code == parent).order_by(Agency.id))
            found += [_agency_view(a, unit) for a in agencies]
    return found


def courts(session: Session, unit_code: str) -> list[dict[str, Any]]:
    """The courts onboarded in the city of `unit_code` (agencies of type court attached to the city or
    a unit below it): where its mediation agreements go for judicial confirmation (诉调对接)."""
    if not is_unit_code(unit_code):
        raise InvalidInput.one("unit", "expected a division code of 6, 9 or 12 digits")
    city = lineage(unit_code)[-1]
    found = session.execute(
        select(Agency, Unit)
        .join(Unit, Unit.code == Agency.unit_code)
        .where(Agency.agency_type == "court", Agency.unit_code.startswith(city, autoescape=True))
        .order_by(Agency.id)
    )
    return [{"code": a.id, "name": a.name, "parent": u.code, "parent_name": u.name} for a, u in found]


def audit_trail(session: Session, scope: Scope | None, code: str, limit: int = AUDIT_LIMIT) -> list[dict[str, Any]]:
    """The audit rows of `code` and every tenant below it (agencies included), newest first. The
    tenant need not exist any more: the trail of an offboarded unit stays readable."""
    authorize(scope, code, ADMINS)
    split_id(code)
    rows = session.scalars(
        select(TenantAudit)
        .where(TenantAudit.tenant.startswith(code, autoescape=True))
        .order_by(TenantAudit.id.desc())
        .limit(max(1, min(limit, AUDIT_LIMIT)))
    )
    return [
        {"id": r.id, "at": r.at.isoformat(), "actor": r.actor, "action": r.action, "tenant": r.tenant}
        | {"detail": r.detail}
        for r in rows
    ]


# --- changing -----------------------------------------------------------------------------------


def update_settings(session: Session, scope: Scope | None, code: str, patch: Any) -> dict[str, Any]:
    """Apply a JSON merge patch to the tenant's own overrides; answer the tenant as `tenant` does."""
    caller = authorize(scope, code, ADMINS)
    if not isinstance(patch, dict):
        raise InvalidInput.one("settings", "expected an object of settings to override")
    split_id(code)
    unit, agency = _find(session, code)
    owner: Unit | Agency = agency or unit
    session.refresh(owner, with_for_update=True)
    before = owner.settings or {}
    after = settings.validate_overrides(settings.merge_patch(before, patch))
    owner.settings = after
    session.flush()
    _effective(session, unit, agency)  # the result must give valid effective settings too
    if after != before:
        audit(session, caller.user, "settings", code, before=before, after=after, patch=patch)
    return tenant(session, scope, code)


def rename_agency(session: Session, scope: Scope | None, code: str, name: Any) -> dict[str, Any]:
    """Give an agency another name (a unit is named by the division table): its city's admins."""
    caller = authorize_agency_admin(scope, code)
    _, agency_type = split_id(code)
    if agency_type is None:
        raise InvalidInput.one("name", "a unit is named as in the division table")
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 100:
        raise InvalidInput.one("name", "1 to 100 characters")
    agency = session.get(Agency, code, with_for_update=True)
    if agency is None:
        raise NotFound(f"no tenant {code}")
    if agency.name != name.strip():
        audit(session, caller.user, "rename", code, before=agency.name, after=name.strip())
        agency.name = name.strip()
        session.flush()
    return tenant(session, scope, code)


def onboard(
    session: Session,
    scope: Scope | None,
    code: str,
    *,
    subtree: bool = False,
    kind: str = "unit",
    agency_type: str | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    """Make a unit (with `subtree`, also every township and village under it) or an agency attached
    to an onboarded unit a tenant. Conflict when there is nothing new to onboard."""
    if kind not in KINDS:
        raise InvalidInput.one("kind", f"expected one of {', '.join(KINDS)}")
    if not is_unit_code(code):
        raise InvalidInput.one("code", "expected a city (6 digits), township (9) or village (12) division code")
    if kind == "agency":
        if agency_type not in AGENCY_TYPES:
            raise InvalidInput.one("agency_type", f"expected one of {', '.join(AGENCY_TYPES)}")
        if subtree:
            raise InvalidInput.one("subtree", "an agency has no subtree")
        return _onboard_agency(session, scope, code, agency_type, name)
    if agency_type is not None:
        raise InvalidInput.one("agency_type", "only an agency has an agency type")
    if name is not None:
        raise InvalidInput.one("name", "a unit is named as in the division table")
    caller = authorize(scope, code, PLATFORM)
    try:
        new = registry.onboard_new(session, code, subtree=subtree)
    except LookupError as exc:
        raise NotFound(f"division code {code} is not in the division table") from exc
    if not new:
        raise Conflict(f"{code} is already onboarded" + (" with its whole subtree" if subtree else ""))
    audit(session, caller.user, "onboard", code, kind="unit", subtree=subtree, onboarded=len(new))
    view = tenant(session, scope, code)
    view["onboarded"] = len(new)
    return view


def _onboard_agency(
    session: Session, scope: Scope | None, unit_code: str, agency_type: str, name: str | None
) -> dict[str, Any]:
    code = agency_id(unit_code, agency_type)
    caller = authorize_agency_admin(scope, code)
    unit = session.get(Unit, unit_code, with_for_update=True, populate_existing=True)
    if unit is None:
        raise Conflict(f"{unit_code} is not onboarded: onboard the unit before attaching agencies to it")
    if session.get(Agency, code) is not None:
        raise Conflict(f"{code} is already onboarded")
    name = (name or "").strip() or f"{unit.name}{AGENCY_TYPES[agency_type]}"
    if len(name) > 100:
        raise InvalidInput.one("name", "at most 100 characters")
    session.add(Agency(id=code, unit_code=unit_code, agency_type=agency_type, name=name, settings={}))
    session.flush()
    audit(session, caller.user, "onboard", code, kind="agency", agency_type=agency_type, name=name)
    view = tenant(session, scope, code)
    view["onboarded"] = 1
    return view


def offboard(session: Session, scope: Scope | None, code: str) -> tuple[dict[str, Any], list[CaseReassigned]]:
    """Remove a tenant. A unit's open cases move to the nearest onboarded unit above it, each with
    a `case.reassigned.v1` event (returned, for the caller's outbox) and an audit row. Conflict when
    the unit still has agencies, or has open cases and nobody above it to take them.

    "Open" is every assignment for now: cases have no closed state yet."""
    unit_code, agency_type = split_id(code)
    caller = authorize_agency_admin(scope, code) if agency_type else authorize(scope, code, PLATFORM)
    if agency_type:
        agency = session.get(Agency, code, with_for_update=True)
        if agency is None:
            raise NotFound(f"no tenant {code}")
        session.delete(agency)
        audit(session, caller.user, "offboard", code, kind="agency", name=agency.name, settings=agency.settings)
        return {"code": code, "kind": "agency", "moved": 0, "to": None}, []

    # the lock waits for routing decisions that chose this unit, and makes later ones skip it
    unit = session.get(Unit, unit_code, with_for_update=True, populate_existing=True)
    if unit is None:
        raise NotFound(f"no tenant {code}")
    cases = select(Assignment).where(Assignment.unit_code == unit_code).order_by(Assignment.decided_at)
    open_cases = list(session.scalars(cases.with_for_update()))
    target = nearest_above(session, unit_code, lock=True)
    if open_cases and target is None:
        raise Conflict(
            f"{unit.name} ({code}) has {len(open_cases)} open case(s) and no onboarded unit above it to take them; "
            "it cannot be offboarded until they are closed or moved"
        )
    attached = list(session.scalars(select(Agency.id).where(Agency.unit_code == unit_code).order_by(Agency.id)))
    if attached:
        raise Conflict(f"{unit.name} ({code}) still has agencies attached ({', '.join(attached)}); offboard them first")
    now = datetime.now(UTC)
    events: list[CaseReassigned] = []
    if target is not None:
        events = _move(session, open_cases, unit, target, actor=caller.user, reason=REASON_OFFBOARDED, now=now)
    session.delete(unit)
    audit(
        session,
        caller.user,
        "offboard",
        code,
        kind="unit",
        name=unit.name,
        tier=unit.tier,
        moved=len(events),
        to=target.code if target else None,
        settings=unit.settings or {},
        division_parent=parent_of(code),
    )
    return {"code": code, "kind": "unit", "moved": len(events), "to": target.code if target else None}, events


def _move(
    session: Session, cases: list[Assignment], source: Unit, target: Unit, *, actor: str, reason: str, now: datetime
) -> list[CaseReassigned]:
    from_unit = UnitData(code=source.code, name=source.name, tier=source.tier)
    to_unit = UnitData(code=target.code, name=target.name, tier=target.tier)
    events = []
    for case in cases:
        case.unit_code, case.tier = target.code, target.tier
        case.rule = f"reassigned.{reason}"
        case.inputs = {"from_unit": source.code, "reason": reason, "actor": actor}
        case.decided_at = now
        events.append(
            CaseReassigned(
                complaint_id=case.complaint_id, from_unit=from_unit, to_unit=to_unit, reason=reason, actor=actor, at=now
            )
        )
        audit(
            session,
            actor,
            "reassign",
            source.code,
            complaint_id=str(case.complaint_id),
            from_unit=source.code,
            to_unit=target.code,
            reason=reason,
        )
    return events


def system_scope(code: str, actor: str) -> Scope:
    """What the command line acts as: a platform admin over the code's city."""
    return Scope(unit=code[:6], user=actor, roles=PLATFORM)
