"""The parties' portal API (docs/parties.md, contract /work/wt/PORTAL_API.md): SMS one-time codes
and the party sign-in. Codes live in notification (it holds the phones and the SMS channel); the
gateway issues the party token, a JWT of its own type that staff paths refuse."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

import jwt
from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from gateway.deps import Rpc
from gateway.routes.tracking import _client_ip

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
    answer = await client.call("notification", "send_code", body.party, SIGN_IN, body.tracking_no, _client_ip(request))
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


@router.get("/me", responses={401: {}})
async def me(request: Request, authorization: Annotated[str, Header()] = "") -> Any:
    """Who the party token stands for: the party and its cases."""
    claims = read_party_token(authorization.removeprefix("Bearer "), request.app.state.config.jwt_secret)
    if claims is None:
        return party_problem(401, "invalid_token", "登录已失效，请重新获取验证码登录")
    return {"party": claims["party"], "cases": claims["cases"], "expires_at": claims["exp"]}
