"""The clocks: every commitment a case carries, wherever the service that runs it. Intake runs the
acknowledgement and acceptance clocks, routing the tier target and the handovers' clocks, mediation
the mediation and end-notice clocks; each answers for its own. `GET /api/v1/clocks` is the work list
of the clocks the caller's units hold, and a case's view gathers all of its clocks (see
docs/observability.md, "Seeing the clocks")."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from common.clock_watch import HELD_LIMIT
from common.clocks import ClockKind, Colour
from common.contracts.answers.clocks import HeldClock
from gateway.deps import Rpc, Staff
from gateway.rpc import RpcClient, ServiceUnavailable

log = logging.getLogger("gateway")

router = APIRouter(prefix="/api/v1", tags=["clocks"])

CLOCK_SERVICES = ("intake", "routing", "mediation")


@router.get("/clocks", response_model=list[HeldClock], response_model_exclude_unset=True)
async def held_clocks(
    staff: Staff,
    client: Rpc,
    colour: Annotated[list[Colour] | None, Query()] = None,
    kind: Annotated[list[ClockKind] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=HELD_LIMIT)] = 100,
) -> Any:
    """The running clocks the caller's units hold (the responsible unit's; for a handover's clock,
    the unit told of it), in the colours asked (`colour`, repeatable; yellow and red by default) and
    of the kinds asked (`kind`, repeatable; all by default), the nearest deadline first. Colours are
    as the clock watcher last saw them, seconds ago; each clock answers its deadline, remaining
    working time and colour now."""
    context = staff.scope.to_context()
    asked = {"colours": colour, "kinds": [k.value for k in kind] if kind else None, "limit": limit}
    found = await asyncio.gather(
        *(client.call(service, "held_clocks", context=context, **asked) for service in CLOCK_SERVICES)
    )
    held = sorted((c for clocks in found for c in clocks), key=lambda c: datetime.fromisoformat(c["deadline"]))
    held = held[:limit]
    await _add_tracking_numbers(client, context, held)
    return held


async def _add_tracking_numbers(client: RpcClient, context: dict[str, str], held: list[dict[str, Any]]) -> None:
    """Routing keeps no tracking numbers: intake knows them."""
    missing = sorted({c["complaint_id"] for c in held if c["tracking_no"] is None})
    if not missing:
        return
    numbers = await client.call("intake", "tracking_numbers", missing, context=context)
    for c in held:
        c["tracking_no"] = c["tracking_no"] or numbers.get(c["complaint_id"])


async def case_with_clocks(client: RpcClient, context: dict[str, str], complaint_id: str) -> dict[str, Any]:
    """Intake's view of the case with every clock of the case in `clocks`: intake's own, routing's
    and mediation's. The case stays readable while routing or mediation is away (restarting): its
    clocks then lack theirs, and `clocks_unavailable` names the services missing."""
    case, *others = await asyncio.gather(
        client.call("intake", "get_complaint", complaint_id, context=context),
        *(client.call(service, "case_clocks", complaint_id, context=context) for service in CLOCK_SERVICES[1:]),
        return_exceptions=True,
    )
    if isinstance(case, BaseException):
        raise case
    unavailable = []
    for service, clocks in zip(CLOCK_SERVICES[1:], others, strict=True):
        if isinstance(clocks, ServiceUnavailable):
            log.warning("case %s shown without %s's clocks: %s", complaint_id, service, clocks)
            unavailable.append(service)
        elif isinstance(clocks, BaseException):
            raise clocks
        else:
            case["clocks"] += [{k: v for k, v in c.items() if k not in ("complaint_id", "tracking_no")} for c in clocks]
    if unavailable:
        case["clocks_unavailable"] = unavailable
    return case
