"""The personal-data audit log: who read a complainant's data unmasked, for tenant admins."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from common.bounds import PlausibleDatetime
from common.tenancy import Role
from gateway.deps import Rpc, Staff
from gateway.errors import problem

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("/personal-data")
async def personal_data_access(
    staff: Staff,
    client: Rpc,
    since: PlausibleDatetime | None = None,
    until: PlausibleDatetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    """Reads of unmasked personal data on the cases of your subtree, newest first (tenant admins).
    `since` is inclusive, `until` exclusive; ISO 8601 date-times."""
    if Role.TENANT_ADMIN not in staff.roles:
        return problem(
            403, "forbidden", "the personal-data audit log is open to tenant admins only (role tenant_admin)"
        )
    return await client.call(
        "intake",
        "personal_data_access",
        since=since.isoformat() if since else None,
        until=until.isoformat() if until else None,
        limit=limit,
        context=staff.scope.to_context(),
    )
