"""What a tenant set for itself, as stored: its own template texts (templates.py) and settings
(settings.py), which of them apply to a tenant, and who may read and change them."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from common.errors import Forbidden, NotFound
from common.tenancy import Role, Scope, parse_tenant
from services.notification import settings as tenant_settings
from services.notification import templates
from services.notification.models import TemplateOverride, TenantSetting

log = logging.getLogger(__name__)

ADMIN_ROLES = frozenset({Role.TENANT_ADMIN, Role.PLATFORM_ADMIN})


def authorize(scope: Scope | None, tenant: str | None, *, admin: bool) -> None:
    """Reading: any staff whose scope covers the tenant; changing: its tenant admins (or a unit
    above's), platform admins. Outside the scope: 404 like a tenant that does not exist."""
    if scope is None or not scope.valid or not tenant or parse_tenant(tenant) is None:
        raise NotFound(f"no tenant {tenant}")
    covered = tenant == scope.unit or (not scope.is_agency and tenant.startswith(scope.unit))
    if not covered:
        raise NotFound(f"no tenant {tenant}")
    if admin and not scope.roles & ADMIN_ROLES:
        raise Forbidden("changing notification templates and settings needs tenant_admin")


def settings_rows(session: Session) -> dict[str, dict[str, Any]]:
    """Every tenant's own settings: few rows (only tenants that changed something)."""
    return {
        code: settings for code, settings in session.execute(select(TenantSetting.tenant_code, TenantSetting.settings))
    }


def save_settings(session: Session, tenant: str, patch: Any, user: str | None, at: datetime) -> None:
    row = session.get(TenantSetting, tenant, with_for_update=True)
    merged = tenant_settings.merge(row.settings if row else {}, patch)
    if row is None:
        row = TenantSetting(tenant_code=tenant)
        session.add(row)
    row.settings, row.updated_by, row.updated_at = merged, user, at


def overrides(session: Session, tenant: str | None) -> dict[str, TemplateOverride]:
    """The override of each template that applies to `tenant`: the most specific up its chain."""
    return overrides_for(session, [tenant])[tenant]


def overrides_for(session: Session, tenants: Iterable[str | None]) -> dict[str | None, dict[str, TemplateOverride]]:
    """`overrides` of each of `tenants`, in one read (an event's messages go to a few tenants)."""
    chains = {tenant: tenant_settings.chain(tenant) for tenant in set(tenants)}
    codes = {code for chain in chains.values() for code in chain}
    rows = session.scalars(select(TemplateOverride).where(TemplateOverride.tenant_code.in_(codes))) if codes else []
    ordered = sorted(rows, key=lambda r: len(r.tenant_code))  # nearer the tenant later: it wins
    return {tenant: {r.template: r for r in ordered if r.tenant_code in chain} for tenant, chain in chains.items()}


def render(name: str, override: TemplateOverride | None, ctx: dict[str, Any]) -> tuple[str, str]:
    """(subject, text) of template `name` as a tenant has it: its `override`, else the default."""
    template = templates.TEMPLATES[name]
    if override is not None:
        try:
            return templates.render(template, ctx, (override.subject, override.text))
        except Exception:  # checked when saved; a context change must not stop the message
            log.warning("override of %s by %s failed to render; using the default", name, override.tenant_code)
    return templates.render(template, ctx)


def save_template(
    session: Session, tenant: str, name: str, subject: str | None, text: str, user: str | None, at: datetime
) -> None:
    values = {"subject": subject, "text": text, "updated_by": user, "updated_at": at}
    session.execute(
        insert(TemplateOverride)
        .values(tenant_code=tenant, template=name, **values)
        .on_conflict_do_update(index_elements=[TemplateOverride.tenant_code, TemplateOverride.template], set_=values)
    )


def delete_template(session: Session, tenant: str, name: str) -> None:
    row = session.get(TemplateOverride, (tenant, name))
    if row is None:
        raise NotFound(f"{tenant} has no own text of {name}")
    session.delete(row)
