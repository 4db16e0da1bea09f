"""Public, without a token: 消费投诉信息公示 (issue 19), a unit's complaint figures per business and per
unit over the last 12 months, from reporting's read model. A unit publishes only when its tenant
setting `disclosure.enabled` says so; whether it does is asked on every request (turning it off
takes effect at once), the figures are cached in the process and by clients for CACHE_SECONDS."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from common.contracts.answers.reports import Disclosure
from gateway.deps import Rpc
from gateway.errors import problem

router = APIRouter(prefix="/api/v1/disclosure", tags=["public"])

CACHE_SECONDS = 10  # short: figures a little late are fine, a day late are not
UNIT = Query(pattern=r"^\d{6}(\d{3}(\d{3})?)?$", description="the unit (city, township or village code)")
_cache: dict[tuple[str, int, str], tuple[float, dict[str, Any]]] = {}


async def _published(client: Rpc, unit: str, credit_code: str | None) -> JSONResponse:
    policy = await client.call("routing", "disclosure_policy", unit)
    if not policy["enabled"]:
        return problem(404, "not_published", f"{policy['name']}未公示消费投诉信息")
    key = (unit, policy["min_accepted"], credit_code or "")
    cached = _cache.get(key)
    if cached is None or cached[0] < time.monotonic():
        body = await client.call("reporting", "disclosure", unit, policy["min_accepted"], credit_code)
        body["unit"] = {"code": policy["code"], "name": policy["name"]}
        cached = _cache[key] = (time.monotonic() + CACHE_SECONDS, body)
    body = cached[1]
    if credit_code is not None:
        if not body["businesses"]:
            return problem(404, "not_listed", "该经营者未列入公示（无记录或被受理投诉数低于公示标准）")
        body = {**body, "business": body["businesses"][0]}
    return JSONResponse(body, headers={"Cache-Control": f"public, max-age={CACHE_SECONDS}"})


@router.get("", response_model=Disclosure, response_model_exclude_unset=True, responses={404: {}})
async def disclosure(client: Rpc, unit: Annotated[str, UNIT]) -> Any:
    """Per business (name, credit code; listed from the unit's `disclosure.min_accepted` accepted
    complaints): accepted, settled or agreed, settle-first answers on time, average days to close,
    top categories; per unit: received, accepted, settled or agreed, acceptance on-time rate."""
    return await _published(client, unit, None)


@router.get(
    "/businesses/{credit_code}", response_model=Disclosure, response_model_exclude_unset=True, responses={404: {}}
)
async def business_disclosure(
    client: Rpc,
    credit_code: Annotated[str, Path(pattern=r"^[0-9A-HJ-NPQRTUWXY]{18}$")],
    unit: Annotated[str, UNIT],
) -> Any:
    """One business's figures in the unit's disclosure."""
    return await _published(client, unit, credit_code)
