"""Tenants: onboarded units and the agencies attached to them, their settings and audit trail.

The routing service owns tenants and decides who may do what (services/routing/tenants.py): the
caller's scope and roles travel with every call. A code outside the caller's scope answers 404 like
one that does not exist; inside it, a missing role answers 403. See docs/tenants.md.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from common.contracts import DIVISION_CODE
from common.contracts.answers.tenants import Offboarded, Tenant, TenantAuditRow, TenantDetail
from common.reference import AGENCY_TYPES
from gateway.deps import Rpc, Staff

router = APIRouter(prefix="/api/v1/tenants", tags=["tenants"])

TenantCode = Annotated[str, Path(max_length=40, description="division code, or `<unit code>-<agency type>`")]
AgencyType = Literal[tuple(AGENCY_TYPES)]  # type: ignore[valid-type]


class Onboarding(BaseModel):
    """A unit to onboard (with `subtree`: also every township and village under it), or an agency
    to attach to the onboarded unit `code`."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(pattern=DIVISION_CODE, description="the unit's division code")
    kind: Literal["unit", "agency"] = "unit"
    subtree: bool = False
    agency_type: AgencyType | None = None
    name: str | None = Field(default=None, min_length=1, max_length=100, description="an agency's name")

    @model_validator(mode="after")
    def _agency_fields(self) -> Onboarding:
        if self.kind == "agency" and self.agency_type is None:
            raise ValueError("an agency needs agency_type")
        if self.kind == "unit" and (self.agency_type is not None or self.name is not None):
            raise ValueError("agency_type and name are for agencies; a unit is named as in the division table")
        if self.kind == "agency" and self.subtree:
            raise ValueError("an agency has no subtree")
        return self


@router.get("", response_model=list[Tenant], response_model_exclude_unset=True)
async def list_tenants(
    staff: Staff,
    client: Rpc,
    parent: Annotated[str | None, Query(pattern=DIVISION_CODE, description="default: your own unit")] = None,
    kind: Literal["unit", "agency"] | None = None,
) -> Any:
    """The tenants directly below `parent`: onboarded units one tier down, and agencies attached to it."""
    return await client.call("routing", "tenants", parent=parent, kind=kind, context=staff.scope.to_context())


@router.post("", status_code=201, response_model=TenantDetail, response_model_exclude_unset=True)
async def onboard(body: Onboarding, staff: Staff, client: Rpc) -> Any:
    """Onboard a unit (platform_admin) or an agency (platform_admin, or tenant_admin of its city)."""
    return await client.call("routing", "onboard", **body.model_dump(), context=staff.scope.to_context())


@router.get("/{code}", response_model=TenantDetail, response_model_exclude_unset=True)
async def get_tenant(code: TenantCode, staff: Staff, client: Rpc) -> Any:
    """A tenant with its own settings overrides and its effective settings (inherited)."""
    return await client.call("routing", "tenant", code, context=staff.scope.to_context())


class AgencyEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)


@router.patch("/{code}", response_model=TenantDetail, response_model_exclude_unset=True)
async def edit_agency(code: TenantCode, body: AgencyEdit, staff: Staff, client: Rpc) -> Any:
    """Rename an agency (platform_admin, or tenant_admin of its city); audited as `rename`."""
    return await client.call("routing", "rename_agency", code, body.name, context=staff.scope.to_context())


@router.patch("/{code}/settings", response_model=TenantDetail, response_model_exclude_unset=True)
async def update_settings(
    code: TenantCode,
    staff: Staff,
    client: Rpc,
    patch: Annotated[dict[str, Any], Body(description="JSON merge patch of the overrides; null removes one")],
) -> Any:
    """Change a tenant's own overrides (tenant_admin of the tenant or a unit above it; platform_admin)."""
    return await client.call("routing", "update_settings", code, patch, context=staff.scope.to_context())


@router.delete("/{code}", response_model=Offboarded, response_model_exclude_unset=True)
async def offboard(code: TenantCode, staff: Staff, client: Rpc) -> Any:
    """Offboard a tenant (a unit: platform_admin; an agency: also tenant_admin of its city). A unit's
    open cases move to the nearest onboarded unit above it; 409 when it still has agencies, or open
    cases and nobody above it."""
    return await client.call("routing", "offboard", code, context=staff.scope.to_context())


@router.get("/{code}/audit", response_model=list[TenantAuditRow], response_model_exclude_unset=True)
async def tenant_audit(
    code: TenantCode, staff: Staff, client: Rpc, limit: Annotated[int, Query(ge=1, le=200)] = 200
) -> Any:
    """Who onboarded, offboarded or changed this tenant and the tenants below it, newest first (admins)."""
    return await client.call("routing", "tenant_audit", code, limit=limit, context=staff.scope.to_context())
