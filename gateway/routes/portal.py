"""The parties' portal API (docs/parties.md, contract /work/wt/PORTAL_API.md): SMS one-time codes
and the party sign-in. Codes live in notification (it holds the phones and the SMS channel); the
gateway issues the party token, a JWT of its own type that staff paths refuse."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

import jwt
from fastapi import APIRouter, Header, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from gateway.deps import Rpc
from gateway.rpc import RemoteError
from gateway.throttle import client_address
from services.mediation.inputs import PARTY_ACTIONS

router = APIRouter(prefix="/api/v1/portal", tags=["portal"])

PARTY_TOKEN_TTL_SECONDS = 1800
SIGN_IN = "sign_in"
SENT = {"sent": True, "expires_in": 300, "resend_after": 60}
TRACKING_NO = r"^[A-Z0-9]{4,40}$"


class CodeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    party: Literal["complainant"]
    tracking_no: str = Field(pattern=TRACKING_NO)


class SignIn(CodeRequest):
    code: str = Field(pattern=r"^\d{6}$", description="the 6-digit code from the SMS")


def party_problem(status: int, error: str, message_zh: str, field: str | None = None) -> JSONResponse:
    """The gateway's problem answer with the Chinese text a person reads (`message_zh`, and the
    field's message); the caller adds Retry-After to a 429."""
    body: dict[str, Any] = {"error": error, "message": message_zh, "message_zh": message_zh}
    if field:
        body["fields"] = [{"field": field, "message": message_zh}]
    return JSONResponse(body, status_code=status)


@router.post("/codes", status_code=202, responses={429: {}})
async def send_code(body: CodeRequest, request: Request, client: Rpc) -> Any:
    """Send a sign-in code to the phone filed on the case. The answer is the same whether or not the
    number is known, so nothing is probed."""
    answer = await client.call(
        "notification", "send_code", body.party, SIGN_IN, body.tracking_no, client_address(request)
    )
    if "retry_after" in answer:
        response = party_problem(429, "too_many_codes", "获取验证码过于频繁，请稍后再试")
        response.headers["Retry-After"] = str(answer["retry_after"])
        return response
    return SENT


@router.post("/sign-in", responses={422: {}})
async def sign_in(body: SignIn, request: Request, client: Rpc) -> Any:
    """A complainant proves control of the phone filed on the case: a party token for that case."""
    answer = await client.call("notification", "verify_code", body.party, SIGN_IN, body.tracking_no, body.code)
    if "error" in answer:
        return party_problem(422, answer["error"], answer["message_zh"], "code")
    now = int(time.time())
    claims = {
        "sub": f"{body.party}:{answer['verification_id']}",
        "typ": "party",
        "party": body.party,
        "cases": [answer["complaint_id"]],
        "iat": now,
        "exp": now + PARTY_TOKEN_TTL_SECONDS,
    }
    token = jwt.encode(claims, request.app.state.config.jwt_secret, algorithm="HS256")
    return {
        "access_token": token,
        "token_type": "bearer",
        "expires_in": PARTY_TOKEN_TTL_SECONDS,
        "party": body.party,
        "cases": [{"complaint_id": answer["complaint_id"], "tracking_no": body.tracking_no}],
    }


def read_party_token(token: str, secret: str) -> dict[str, Any] | None:
    """The claims of a valid party token, or None."""
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["sub", "typ", "exp", "party"]})
    except jwt.PyJWTError:
        return None
    return claims if claims["typ"] == "party" else None


SIGNED_OUT = (401, "invalid_token", "登录已失效，请重新获取验证码登录")
NOT_YOURS = (404, "not_found", "没有找到这件投诉")
Authorization = Annotated[str, Header()]


def signed_in(request: Request, authorization: str, complaint_id: str | None = None) -> dict[str, Any] | JSONResponse:
    """The party token's claims, or the answer to give: 401 without a valid token, 404 for a case
    outside it (another business's case answers like one that does not exist)."""
    claims = read_party_token(authorization.removeprefix("Bearer "), request.app.state.config.jwt_secret)
    if claims is None:
        return party_problem(*SIGNED_OUT)
    if complaint_id is not None and complaint_id not in claims.get("cases", []):
        return party_problem(*NOT_YOURS)
    return claims


@router.get("/me", responses={401: {}})
async def me(request: Request, authorization: Authorization = "") -> Any:
    """Who the party token stands for: the party and its cases."""
    claims = signed_in(request, authorization)
    if isinstance(claims, JSONResponse):
        return claims
    return {"party": claims["party"], "cases": claims["cases"], "expires_at": claims["exp"]}


async def _view(client: Any, complaint_id: str, party: str) -> dict[str, Any]:
    view = await client.call("intake", "party_case", complaint_id)
    try:
        view["mediation"] = await client.call("mediation", "party_case", complaint_id, party)
    except RemoteError as exc:
        if exc.exc_type != "NotFound":
            raise
        view["mediation"] = None  # not accepted (yet): no mediation
    view["party"] = party
    view["allowed_actions"] = (view["mediation"] or {}).get("allowed_actions", [])
    return view


@router.get("/cases/{complaint_id}", responses={401: {}, 404: {}})
async def party_case(complaint_id: str, request: Request, client: Rpc, authorization: Authorization = "") -> Any:
    """Every step of the case as the party follows it (docs/parties.md)."""
    claims = signed_in(request, authorization, complaint_id)
    if isinstance(claims, JSONResponse):
        return claims
    return await _view(client, complaint_id, claims["party"])


class ConfirmCode(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal[PARTY_ACTIONS]  # type: ignore[valid-type]


@router.post("/cases/{complaint_id}/codes", status_code=202, responses={401: {}, 404: {}, 429: {}})
async def confirm_code(
    complaint_id: str, body: ConfirmCode, request: Request, client: Rpc, authorization: Authorization = ""
) -> Any:
    """A fresh code to the party's phone to confirm one action on the case."""
    claims = signed_in(request, authorization, complaint_id)
    if isinstance(claims, JSONResponse):
        return claims
    answer = await client.call(
        "notification", "send_code", claims["party"], f"confirm:{body.action}", complaint_id, client_address(request)
    )
    if "retry_after" in answer:
        response = party_problem(429, "too_many_codes", "获取验证码过于频繁，请稍后再试")
        response.headers["Retry-After"] = str(answer["retry_after"])
        return response
    if not answer.get("sent"):
        return party_problem(409, "no_phone", "平台尚未登记您的手机号码，请联系调解员", "action")
    return {**SENT, "phone": answer["phone"]}


class PartyAction(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(pattern=r"^\d{6}$", description="the 6-digit code from the SMS")
    n: int | None = Field(default=None, ge=1, le=99, description="confirm_minutes: the session")
    reason: str | None = Field(default=None, min_length=2, max_length=2000)
    score: int | None = Field(default=None, ge=1, le=5)
    comments: str | None = Field(default=None, max_length=2000)


@router.post("/cases/{complaint_id}/actions/{action}", responses={401: {}, 404: {}, 409: {}, 422: {}})
async def party_action(
    complaint_id: str,
    action: Annotated[str, Path(pattern="^(" + "|".join(PARTY_ACTIONS) + ")$")],
    body: PartyAction,
    request: Request,
    client: Rpc,
    authorization: Authorization = "",
) -> Any:
    """The party's own action, confirmed by the code sent for exactly this action and case."""
    claims = signed_in(request, authorization, complaint_id)
    if isinstance(claims, JSONResponse):
        return claims
    party = claims["party"]
    answer = await client.call("notification", "verify_code", party, f"confirm:{action}", complaint_id, body.code)
    if "error" in answer:
        return party_problem(422, answer["error"], answer["message_zh"], "code")
    proof = {"phone": answer["phone"], "client": client_address(request), "verification_id": answer["verification_id"]}
    fields = body.model_dump(exclude={"code"}, exclude_none=True)
    try:
        done = await client.call("mediation", "party_act", complaint_id, party, action, fields, proof)
    except RemoteError as exc:
        if exc.exc_type == "Conflict":
            return party_problem(409, "not_allowed", "当前阶段不能进行此操作")
        raise
    view = await _view(client, complaint_id, party)
    return {**view, "confirmation": done["confirmation"]}


async def _party_document(
    request: Request, authorization: str, client: Any, complaint_id: str, kind: str, n: int | None
) -> Any:
    claims = signed_in(request, authorization, complaint_id)
    if isinstance(claims, JSONResponse):
        return claims
    return HTMLResponse(await client.call("mediation", "party_document", complaint_id, kind, n))


@router.get("/cases/{complaint_id}/documents/agreement.html", response_class=HTMLResponse)
async def agreement_html(complaint_id: str, request: Request, client: Rpc, authorization: Authorization = "") -> Any:
    return await _party_document(request, authorization, client, complaint_id, "agreement", None)


@router.get("/cases/{complaint_id}/documents/minutes/{n}.html", response_class=HTMLResponse)
async def minutes_html(
    complaint_id: str,
    n: Annotated[int, Path(ge=1, le=99)],
    request: Request,
    client: Rpc,
    authorization: Authorization = "",
) -> Any:
    return await _party_document(request, authorization, client, complaint_id, "minutes", n)
