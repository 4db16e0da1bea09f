"""Complaints: filing by every channel, e-mail drafts, the acceptance decision, evidence files, and
the staff's view of cases in their scope. See docs/intake.md."""

from __future__ import annotations

import asyncio
import base64
import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, File, Header, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from pydantic import BaseModel, ConfigDict, Field

from common.contracts import ComplaintSubmission
from common.contracts.answers.complaints import Case, Decided, EmailDraft, Evidence, LightCounts, ListedCase, Receipt
from common.contracts.answers.notifications import Message
from gateway import auth
from gateway.admission import Admitted
from gateway.deps import Rpc, Staff, current_staff
from gateway.errors import problem
from gateway.routes import clocks, portal
from gateway.rpc import RemoteError, ServiceUnavailable

log = logging.getLogger("gateway")

router = APIRouter(prefix="/api/v1/complaints", tags=["complaints"])

# the paths whose bodies may be larger than MAX_BODY_BYTES (up to MAX_UPLOAD_BYTES)
UPLOAD_PATHS = r"/api/v1/(complaints/(email|[^/]+/evidence)|portal/evidence)"
MAX_EVIDENCE_BYTES = 10 * 1024 * 1024  # services/intake/validation.py checks it again, by content
EMAIL_TYPES = ("message/rfc822", "text/plain", "application/octet-stream")

_optional_token = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
_optional_key = APIKeyHeader(name="X-API-Key", auto_error=False)


def optional_staff(
    request: Request,
    token: Annotated[str | None, Depends(_optional_token)],
    api_key: Annotated[str | None, Depends(_optional_key)],
) -> auth.Staff | None:
    """The caller when credentials were sent (checked like everywhere: 401 when wrong), else None
    (the public web form)."""
    if token is None and api_key is None:
        return None
    return current_staff(request, token, api_key)


class Refusal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ground: str
    reason: str
    other_routes: str | None = None


@router.post(
    "",
    status_code=201,
    response_model=Receipt,
    response_model_exclude_none=True,
    responses={
        200: {"model": Receipt, "description": "a retry of a filing minutes ago: that case (`already_filed`)"},
        503: {"description": "overloaded or a service unavailable: nothing was filed; see Retry-After"},
    },
)
async def submit_complaint(
    _: Admitted,  # first: a bounded number wait on intake, one more is refused at once
    submission: ComplaintSubmission,
    request: Request,
    response: Response,
    client: Rpc,
    caller: Annotated[auth.Staff | None, Depends(optional_staff)],
    idempotency_key: Annotated[str | None, Header(max_length=100)] = None,
) -> Any:
    """File a complaint. Without credentials: the public web form (channel `web`). An intake clerk
    records `hotline` and `walk_in` complaints (the clerk's unit is the first receiver); an agency
    (API key or `agency_liaison` token) hands a case over with channel `agency`. Answers 201 only
    once the complaint is durably stored; a duplicate (Art 35) answers 201 with `duplicate_of`. The
    same filing again within minutes without an `Idempotency-Key` (a retry) answers 200 with the case
    filed first and `already_filed`. A 503 (with `Retry-After`) means nothing was filed, except when
    the answer was lost after the commit: retry with the same `Idempotency-Key` (docs/intake.md)."""
    if caller is None and submission.privacy_consent is None:
        return problem(
            422,
            "invalid_input",
            "privacy_consent: the public form needs the complainant's consent to the privacy notice",
            [{"field": "privacy_consent", "message": "请阅读并同意隐私告知（须注明告知的版本）"}],
        )
    context = caller.scope.to_context() if caller is not None else None
    receipt = await client.call(
        "intake",
        "submit",
        submission.model_dump(mode="json", exclude_none=True),
        idempotency_key=idempotency_key,
        context=context,
    )
    if receipt.get("already_filed"):
        response.status_code = 200
    if caller is None and not receipt.get("duplicate_of"):
        receipt["upload_token"] = portal.upload_token(receipt["id"], request.app.state.config.jwt_secret)
    return receipt


@router.post("/email", status_code=201, response_model=EmailDraft, response_model_exclude_unset=True)
async def receive_email(
    request: Request,
    staff: Staff,
    client: Rpc,
    idempotency_key: Annotated[str | None, Header(max_length=100)] = None,
) -> Any:
    """An e-mail complaint: the raw RFC 5322 message as the body (`Content-Type: message/rfc822`),
    posted by an intake clerk. It becomes a draft of the clerk's unit (status `draft`), prefilled from
    the message; its attachments become evidence. Complete it with `POST /{id}/complete`."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in EMAIL_TYPES:
        return problem(
            415,
            "unsupported_media_type",
            "content-type: send the raw e-mail as message/rfc822",
            [{"field": "content-type", "message": "must be message/rfc822"}],
        )
    raw = await request.body()
    return await client.call(
        "intake",
        "receive_email",
        base64.b64encode(raw).decode(),
        idempotency_key=idempotency_key,
        context=staff.scope.to_context(),
        timeout=30,
    )


@router.post("/{complaint_id}/complete", response_model=Receipt, response_model_exclude_none=True)
async def complete_draft(
    complaint_id: str, staff: Staff, client: Rpc, submission: Annotated[dict[str, Any], Body()]
) -> Any:
    """Complete an e-mail draft with the complaint's fields (as for `POST /api/v1/complaints`; the
    channel stays `email`). Then it is checked, deduplicated, routed and acknowledged like any other."""
    return await client.call("intake", "complete_draft", complaint_id, submission, context=staff.scope.to_context())


@router.post("/{complaint_id}/accept", response_model=Decided, response_model_exclude_unset=True)
async def accept_complaint(complaint_id: str, staff: Staff, client: Rpc) -> Any:
    """Accept (受理, Art 15): staff of the responsible unit with `intake_clerk` or `supervisor`."""
    return await client.call("intake", "accept", complaint_id, context=staff.scope.to_context())


@router.post("/{complaint_id}/refuse", response_model=Decided, response_model_exclude_unset=True)
async def refuse_complaint(complaint_id: str, refusal: Refusal, staff: Staff, client: Rpc) -> Any:
    """Refuse (不予受理) on a ground of Art 16, with the reason and the other routes open to the
    consumer (default: the ground's standard text)."""
    return await client.call(
        "intake",
        "refuse",
        complaint_id,
        ground=refusal.ground,
        reason=refusal.reason,
        other_routes=refusal.other_routes,
        context=staff.scope.to_context(),
    )


@router.post(
    "/{complaint_id}/evidence", status_code=201, response_model=list[Evidence], response_model_exclude_unset=True
)
async def upload_evidence(
    complaint_id: str, staff: Staff, client: Rpc, files: Annotated[list[UploadFile], File()]
) -> Any:
    """Upload evidence files (multipart field `files`, one or more). Each at most 10 MiB, of an
    allowed type judged by its content (JPEG, PNG, GIF, WebP, PDF, MP3, M4A, MP4)."""
    sent, too_big = [], []
    for index, upload in enumerate(files):
        content = await upload.read(MAX_EVIDENCE_BYTES + 1)
        if len(content) > MAX_EVIDENCE_BYTES:
            too_big.append({"field": f"files[{index}]", "message": f"larger than {MAX_EVIDENCE_BYTES} bytes (10 MiB)"})
            continue
        sent.append({"filename": upload.filename or "", "content": base64.b64encode(content).decode()})
    if too_big:
        return problem(422, "invalid_input", "; ".join(f"{f['field']}: {f['message']}" for f in too_big), too_big)
    return await client.call("intake", "add_evidence", complaint_id, sent, context=staff.scope.to_context(), timeout=30)


@router.get(
    "/{complaint_id}/evidence/{file_id}",
    response_class=Response,
    responses={
        200: {
            "description": "the file, of the type it was judged to be",
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def download_evidence(complaint_id: str, file_id: str, staff: Staff, client: Rpc) -> Response:
    """An evidence file, for staff handling the case (audited like other personal data)."""
    found = await client.call(
        "intake", "evidence_file", complaint_id, file_id, context=staff.scope.to_context(), timeout=30
    )
    return Response(
        base64.b64decode(found["content"]),
        media_type=found["mime_type"],
        headers={
            "Content-Disposition": f'attachment; filename="{found["id"]}.{found["extension"]}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
            "ETag": f'"{found["sha256"]}"',
        },
    )


@router.get("", response_model=list[ListedCase], response_model_exclude_unset=True)
async def list_complaints(
    staff: Staff,
    client: Rpc,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    sort: Annotated[str | None, Query(description="-received_at (default), received_at or deadline")] = None,
    q: Annotated[
        str | None, Query(description="case number, complainant name, phone tail, business name or credit code")
    ] = None,
    status: Annotated[list[str] | None, Query(description="case status codes, repeatable")] = None,
    category: Annotated[list[str] | None, Query()] = None,
    channel: Annotated[list[str] | None, Query()] = None,
    unit: Annotated[str | None, Query(description="a unit in the caller's subtree")] = None,
    light: Annotated[list[str] | None, Query(description="green, yellow, red; repeatable")] = None,
    received_from: Annotated[str | None, Query(alias="from", description="YYYY-MM-DD, China time")] = None,
    received_to: Annotated[str | None, Query(alias="to", description="YYYY-MM-DD, inclusive")] = None,
    escalated: bool | None = None,
    read_only: bool | None = None,
    on_time: Annotated[
        str | None,
        Query(description="an on-time figure of /reports/summary (acceptance, ...): the cases whose clock it counted"),
    ] = None,
    on_time_from: Annotated[str | None, Query(description="YYYY-MM-DD: the clock stopped on or after")] = None,
    on_time_to: Annotated[str | None, Query(description="YYYY-MM-DD: the clock stopped on or before")] = None,
) -> Any:
    """A page of the cases in the caller's scope (masked), as a JSON list; `X-Total-Count` is the
    number of matching cases. Filters, search and sort are applied by intake; an unknown value is a
    422 naming the field and the allowed values (docs/intake.md, "The case list")."""
    asked = {
        "offset": offset,
        "limit": limit,
        "sort": sort,
        "q": q,
        "status": status,
        "category": category,
        "channel": channel,
        "unit": unit,
        "light": light,
        "received_from": received_from,
        "received_to": received_to,
        "escalated": escalated,
        "read_only": read_only,
        "on_time": on_time,
        "on_time_from": on_time_from,
        "on_time_to": on_time_to,
    }
    found = await client.call(
        "intake",
        "list_complaints",
        {k: v for k, v in asked.items() if v is not None},
        context=staff.scope.to_context(),
    )
    return JSONResponse(found["items"], headers={"X-Total-Count": str(found["total"])})


@router.get("/lights", response_model=LightCounts)
async def count_lights(
    staff: Staff,
    client: Rpc,
    unit: Annotated[str | None, Query(description="a unit in the caller's subtree")] = None,
    received_from: Annotated[str | None, Query(alias="from", description="YYYY-MM-DD, China time")] = None,
    received_to: Annotated[str | None, Query(alias="to", description="YYYY-MM-DD, inclusive")] = None,
) -> Any:
    """How many cases in the caller's scope (received in the period) show each light: the
    `X-Total-Count` of the list with `light=red`, `yellow` and `green`, in one call."""
    asked = {"unit": unit, "received_from": received_from, "received_to": received_to}
    return await client.call(
        "intake",
        "count_lights",
        {k: v for k, v in asked.items() if v is not None},
        context=staff.scope.to_context(),
    )


@router.get("/{complaint_id}", response_model=Case, response_model_exclude_unset=True)
async def get_complaint(complaint_id: str, staff: Staff, client: Rpc) -> Any:
    """The case as the caller may see it, with every clock it carries (intake's, routing's and
    mediation's), each with its deadline, remaining working time and colour; routing's record of it
    (`routing`) with why its unit and tier (`responsibility`); and `allowed_actions`: the intake
    and routing actions the caller may take now, as those services decide them."""
    context = staff.scope.to_context()
    case, routing = await asyncio.gather(
        clocks.case_with_clocks(client, context, complaint_id),
        client.call("routing", "case_routing", complaint_id, context=context),
        return_exceptions=True,
    )
    if isinstance(case, BaseException):
        raise case
    return with_routing(case, routing)


def with_routing(case: dict[str, Any], routing: Any) -> dict[str, Any]:
    """Intake's view joined with routing's: routing is absent for a case it never decided or does
    not show the caller (404: no routing actions), or while it is away (`routing_unavailable`)."""
    case["routing"], case["responsibility"] = None, None
    if isinstance(routing, ServiceUnavailable):
        log.warning("case %s shown without routing: %s", case["id"], routing)
        case["routing_unavailable"] = True
    elif isinstance(routing, RemoteError) and routing.exc_type == "NotFound":
        pass
    elif isinstance(routing, BaseException):
        raise routing
    else:
        case["routing"] = routing
        case["responsibility"] = {
            "unit": routing["responsible_unit"],
            "rule": routing["rule"],
            "explanation_zh": routing.get("explanation_zh"),
            "since": routing["decided_at"],
        }
        case["allowed_actions"] = case.get("allowed_actions", []) + routing.get("allowed_actions", [])
    return case


@router.get("/{complaint_id}/documents/{kind}.html", response_class=HTMLResponse)
async def decision_notice(complaint_id: str, kind: Literal["acceptance", "refusal"], staff: Staff, client: Rpc) -> Any:
    """受理告知书 (`acceptance`) or 不予受理告知书 (`refusal`), printable HTML; 409 when the case was
    not so decided. Fetch it with the bearer token (the console opens it as a blob)."""
    html = await client.call("intake", "document", complaint_id, kind, context=staff.scope.to_context())
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


@router.get("/{complaint_id}/messages", response_model=list[Message], response_model_exclude_unset=True)
async def complaint_messages(complaint_id: str, staff: Staff, client: Rpc) -> Any:
    """The messages about the case with their delivery state (`failed` ones with the reason) and,
    on a failed one, what the caller may do about it (`allowed_actions`: resend, told_otherwise)."""
    # the case lookup applies the scope: out of scope answers 404 before any message is read; it
    # returns no personal data, so it is no audited access
    complaint = await client.call("intake", "case_ref", complaint_id, context=staff.scope.to_context())
    return await client.call("notification", "messages_for", complaint["id"], context=staff.scope.to_context())


class ToldOtherwise(BaseModel):
    model_config = ConfigDict(extra="forbid")

    how: str = Field(description="phone, in_person, sms_other, letter or other")
    note: str = Field(description="who was told what, when (1-500 characters)")


@router.post("/{complaint_id}/messages/{message_id}/resend", response_model=Message, response_model_exclude_unset=True)
async def resend_message(complaint_id: str, message_id: str, staff: Staff, client: Rpc) -> Any:
    """Resend a failed message to the party's address known now (409 when it did not fail);
    again on the same message answers the same resent copy."""
    complaint = await client.call("intake", "case_ref", complaint_id, context=staff.scope.to_context())
    return await client.call(
        "notification", "resend_message", complaint["id"], message_id, context=staff.scope.to_context()
    )


@router.post(
    "/{complaint_id}/messages/{message_id}/told-otherwise", response_model=Message, response_model_exclude_unset=True
)
async def message_told_otherwise(
    complaint_id: str, message_id: str, body: ToldOtherwise, staff: Staff, client: Rpc
) -> Any:
    """Record that the party of a failed message was told another way (409 when it did not fail)."""
    complaint = await client.call("intake", "case_ref", complaint_id, context=staff.scope.to_context())
    return await client.call(
        "notification",
        "told_otherwise",
        complaint["id"],
        message_id,
        how=body.how,
        note=body.note,
        context=staff.scope.to_context(),
    )
