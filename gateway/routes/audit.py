"""The personal-data audit log: who read a complainant's data unmasked, for tenant admins."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from common.bounds import PlausibleDatetime
from common.contracts.answers.complaints import PersonalDataRead
from common.tenancy import Role
from gateway.deps import Rpc, Staff
from gateway.errors import problem

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])

SERVICES = ("intake", "mediation")  # the services that show a complainant's data in full


@router.get("/personal-data", response_model=list[PersonalDataRead], response_model_exclude_unset=True)
async def personal_data_access(
    staff: Staff,
    client: Rpc,
    since: PlausibleDatetime | None = None,
    until: PlausibleDatetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    """Reads of unmasked personal data on the cases of your subtree, newest first (tenant admins),
    of every service that shows it (`service`: intake, mediation; `id` is per service).
    `since` is inclusive, `until` exclusive; ISO 8601 date-times."""
    if Role.TENANT_ADMIN not in staff.roles:
        return problem(
            403, "forbidden", "the personal-data audit log is open to tenant admins only (role tenant_admin)"
        )
    asked = {
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "limit": limit,
        "context": staff.scope.to_context(),
    }
    # each service records the reads it served (intake: the complaint, mediation: its case and documents)
    found = await asyncio.gather(*(client.call(service, "personal_data_access", **asked) for service in SERVICES))
    rows = [{**row, "service": service} for service, part in zip(SERVICES, found, strict=True) for row in part]
    return sorted(rows, key=lambda row: datetime.fromisoformat(row["at"]), reverse=True)[:limit]
