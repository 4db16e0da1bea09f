"""The parties' portal API (docs/parties.md): SMS one-time codes
and the party sign-in. Codes live in notification (it holds the phones and the SMS channel); the
gateway issues the party token, a JWT of its own type that staff paths refuse."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Awaitable
from typing import Annotated, Any, Literal

import jwt
from fastapi import APIRouter, File, Header, Path, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from common.contracts.answers.complaints import Evidence, KnownBusiness
from common.contracts.answers.portal import CodeSent, PartyCase, PartyMe, PartyToken
from common.contracts.answers.routing import ServedUnit
from common.contracts.mediation import PARTY_ACTIONS
from gateway.deps import Rpc
from gateway.rpc import RemoteError
from gateway.throttle import client_address

router = APIRouter(prefix="/api/v1/portal", tags=["portal"])

PARTY_TOKEN_TTL_SECONDS = 1800
UPLOAD_TOKEN_TTL_SECONDS = 1800
MAX_PUBLIC_FILE_BYTES = 10 * 1024 * 1024
SIGN_IN = "sign_in"
SENT = {"sent": True, "expires_in": 300, "resend_after": 60}
TRACKING_NO = r"^[A-Z0-9]{4,40}$"
CREDIT_CODE = r"^[0-9A-HJ-NPQRTUWXY]{18}$"  # 统一社会信用代码 (GB 32100-2015 alphabet)


class CodeRequest(BaseModel):
    """The complainant names the case (tracking number), the business itself (credit code)."""

    model_config = ConfigDict(extra="forbid")
    party: Literal["complainant", "business"]
    tracking_no: str | None = Field(default=None, pattern=TRACKING_NO)
    credit_code: str | None = Field(default=None, pattern=CREDIT_CODE)

    @model_validator(mode="after")
    def _names_its_subject(self) -> CodeRequest:
        field = "tracking_no" if self.party == "complainant" else "credit_code"
        if getattr(self, field) is None:
            raise PydanticCustomError(
                "missing", "请填写" + ("投诉编号" if field == "tracking_no" else "统一社会信用代码")
            )
        return self

    @property
    def subject(self) -> str:
        return (self.tracking_no if self.party == "complainant" else self.credit_code) or ""


class SignIn(CodeRequest):
    code: str = Field(pattern=r"^\d{6}$", description="the 6-digit code from the SMS")


def party_problem(status: int, error: str, message_zh: str, field: str | None = None) -> JSONResponse:
    """The gateway's problem answer with the Chinese text a person reads (`message_zh`, and the
    field's message); the caller adds Retry-After to a 429."""
    body: dict[str, Any] = {"error": error, "message": message_zh, "message_zh": message_zh}
    if field:
        body["fields"] = [{"field": field, "message": message_zh}]
    return JSONResponse(body, status_code=status)


@router.post("/codes", status_code=202, response_model=CodeSent, response_model_exclude_unset=True, responses={429: {}})
async def send_code(body: CodeRequest, request: Request, client: Rpc) -> Any:
    """Send a sign-in code to the phone filed on the case. The answer is the same whether or not the
    number is known, so nothing is probed."""
    answer = await client.call("notification", "send_code", body.party, SIGN_IN, body.subject, client_address(request))
    if "retry_after" in answer:
        response = party_problem(429, "too_many_codes", "获取验证码过于频繁，请稍后再试")
        response.headers["Retry-After"] = str(answer["retry_after"])
        return response
    return SENT


@router.post("/sign-in", response_model=PartyToken, responses={422: {}}, response_model_exclude_unset=True)
async def sign_in(body: SignIn, request: Request, client: Rpc) -> Any:
    """A complainant proves control of the phone filed on the case: a party token for that case; a
    business, of the phone known for it: a party token for the cases against it."""
    answer = await client.call("notification", "verify_code", body.party, SIGN_IN, body.subject, body.code)
    if "error" in answer:
        return party_problem(422, answer["error"], answer["message_zh"], "code")
    now = int(time.time())
    if body.party == "business":
        cases = answer["cases"]
    else:
        cases = [{"complaint_id": answer["complaint_id"], "tracking_no": body.tracking_no}]
    claims = {
        "sub": f"{body.party}:{answer['verification_id']}",
        "typ": "party",
        "party": body.party,
        "cases": [c["complaint_id"] for c in cases],
        # what the settle-first lane's routes read (gateway/party_seam.py)
        **({"credit_code": body.credit_code} if body.party == "business" else {"tracking_no": body.tracking_no}),
        "iat": now,
        "exp": now + PARTY_TOKEN_TTL_SECONDS,
    }
    token = jwt.encode(claims, request.app.state.config.jwt_secret, algorithm="HS256")
    return {
        "access_token": token,
        "token_type": "bearer",
        "expires_in": PARTY_TOKEN_TTL_SECONDS,
        "party": body.party,
        "cases": cases,
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


@router.get("/me", response_model=PartyMe, responses={401: {}}, response_model_exclude_unset=True)
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


@router.get(
    "/cases/{complaint_id}", response_model=PartyCase, response_model_exclude_unset=True, responses={401: {}, 404: {}}
)
async def party_case(complaint_id: str, request: Request, client: Rpc, authorization: Authorization = "") -> Any:
    """Every step of the case as the party follows it (docs/parties.md)."""
    claims = signed_in(request, authorization, complaint_id)
    if isinstance(claims, JSONResponse):
        return claims
    return await _view(client, complaint_id, claims["party"])


class ConfirmCode(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal[PARTY_ACTIONS]  # type: ignore[valid-type]


@router.post(
    "/cases/{complaint_id}/codes",
    status_code=202,
    response_model=CodeSent,
    response_model_exclude_unset=True,
    responses={401: {}, 404: {}, 429: {}},
)
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
    n: int | None = Field(
        default=None, ge=1, le=99, description="confirm_minutes: the session; report_performance: the term"
    )
    performed: bool | None = Field(
        default=None, description="report_performance: false when the term was not performed"
    )
    reason: str | None = Field(default=None, min_length=2, max_length=2000)
    score: int | None = Field(default=None, ge=1, le=5)
    comments: str | None = Field(default=None, max_length=2000)


@router.post(
    "/cases/{complaint_id}/actions/{action}",
    response_model=PartyCase,
    response_model_exclude_unset=True,
    responses={401: {}, 404: {}, 409: {}, 422: {}},
)
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
    fields = body.model_dump(exclude={"code"}, exclude_none=True)
    # asked before the code is spent: an action the case does not allow now leaves the code usable
    allowed = await _mediation_allows(client.call("mediation", "party_may_act", complaint_id, party, action, fields))
    if isinstance(allowed, JSONResponse):
        return allowed
    answer = await client.call("notification", "verify_code", party, f"confirm:{action}", complaint_id, body.code)
    if "error" in answer:
        return party_problem(422, answer["error"], answer["message_zh"], "code")
    proof = {"phone": answer["phone"], "client": client_address(request), "verification_id": answer["verification_id"]}
    done = await _mediation_allows(client.call("mediation", "party_act", complaint_id, party, action, fields, proof))
    if isinstance(done, JSONResponse):
        return done
    view = await _view(client, complaint_id, party)
    return {**view, "confirmation": done["confirmation"]}


async def _mediation_allows(call: Awaitable[Any]) -> Any:
    """Mediation's answer, or the party's 409 when the case does not allow the action now."""
    try:
        return await call
    except RemoteError as exc:
        if exc.exc_type == "Conflict":
            return party_problem(409, "not_allowed", "当前阶段不能进行此操作")
        raise


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


# --- public helpers of the filing form (no token) ---------------------------------------------------


@router.get("/units", response_model=list[ServedUnit], response_model_exclude_unset=True)
async def units(
    client: Rpc,
    parent: Annotated[str | None, Query(pattern=r"^\d{6}(\d{3})?$", description="a city or township")] = None,
) -> Any:
    """The served places for the cascading choice: cities, then a city's townships, then a
    township's villages; only those an onboarded unit serves."""
    return await client.call("routing", "served_units", parent)


@router.get("/businesses", response_model=list[KnownBusiness], response_model_exclude_unset=True)
async def businesses(client: Rpc, q: Annotated[str, Query(min_length=2, max_length=50)]) -> Any:
    """Businesses complained about before, by name or credit code: name and credit code only."""
    return await client.call("intake", "known_businesses", q)


def upload_token(complaint_id: str, secret: str) -> str:
    """The public filing's capability to add its evidence for a while (no personal data in it)."""
    now = int(time.time())
    claims = {"sub": complaint_id, "typ": "upload", "iat": now, "exp": now + UPLOAD_TOKEN_TTL_SECONDS}
    return jwt.encode(claims, secret, algorithm="HS256")


@router.post(
    "/evidence",
    status_code=201,
    response_model=list[Evidence],
    responses={401: {}, 422: {}},
    response_model_exclude_unset=True,
)
async def public_evidence(
    request: Request, client: Rpc, files: Annotated[list[UploadFile], File()], authorization: Authorization = ""
) -> Any:
    """The complainant's photos and PDFs for the case just filed on the portal, with the filing's
    `upload_token` as bearer; judged by content, at most 10 files of 10 MiB."""
    try:
        claims = jwt.decode(
            authorization.removeprefix("Bearer "),
            request.app.state.config.jwt_secret,
            algorithms=["HS256"],
            options={"require": ["sub", "typ", "exp"]},
        )
    except jwt.PyJWTError:
        claims = {}
    if claims.get("typ") != "upload":
        return party_problem(401, "invalid_token", "上传凭证已失效，请联系受理单位补充证据")
    sent = []
    for index, upload in enumerate(files):
        content = await upload.read(MAX_PUBLIC_FILE_BYTES + 1)
        if len(content) > MAX_PUBLIC_FILE_BYTES:
            return party_problem(422, "invalid_input", "单个文件不能超过 10 MB", f"files[{index}]")
        sent.append({"filename": upload.filename or "", "content": base64.b64encode(content).decode()})
    try:
        return await client.call("intake", "add_public_evidence", claims["sub"], sent, timeout=30)
    except RemoteError as exc:
        if exc.exc_type != "InvalidInput":
            raise
        fields = json.loads(exc.value)
        return JSONResponse(
            {
                "error": "invalid_input",
                "message": fields[0]["message"],
                "message_zh": fields[0]["message"],
                "fields": fields,
            },
            status_code=422,
        )
