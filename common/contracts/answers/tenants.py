"""Tenants (services/routing/tenants.py): units and the agencies attached to them, their
settings and audit trail."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from common.contracts.answers import Answer, Instant

# a tenant's settings document (services/routing/settings.py `TenantSettings`, docs/tenants.md):
# nested groups of overrides, validated by routing
Settings = dict[str, Any]


class Tenant(Answer):
    """A unit (`kind` unit) or an agency attached to one (`kind` agency)."""

    code: str
    kind: str
    agency_type: str | None = None  # an agency's
    name: str
    tier: str | None
    parent: str | None
    onboarded_at: Instant | None
    settings: Settings = Field(description="the tenant's own overrides")


class TenantDetail(Tenant):
    agencies: list[str] | None = None  # a unit's
    effective_settings: Settings = Field(description="the settings that apply, inherited where not overridden")
    settings_from: list[str] = Field(description="the tenants the effective settings come from")
    onboarded: int | None = None  # after onboarding: how many tenants were onboarded


class Offboarded(Answer):
    code: str
    kind: str
    moved: int = Field(description="open cases moved to the nearest onboarded unit above")
    to: str | None


class TenantAuditRow(Answer):
    id: int
    at: Instant
    actor: str
    action: str
    tenant: str
    detail: dict[str, Any]
