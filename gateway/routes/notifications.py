"""Notification: the staff inbox, a party's contact for messages, tenant templates and settings, and
the SMS provider's delivery reports. See docs/notification.md. A case's messages are
`GET /api/v1/complaints/{id}/messages` (complaints.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from common.contracts.answers.notifications import (
    CodeSent,
    ContactsKnown,
    Inbox,
    InboxItem,
    ReceiptOutcomes,
    Template,
    TenantNotificationSettings,
    TenantTemplate,
)
from common.contracts.answers.notifications import (
    TemplateText as RenderedTemplate,
)
from common.contracts.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER
from gateway.deps import Rpc, Staff
from gateway.errors import problem

router = APIRouter(prefix="/api/v1", tags=["notifications"])

TenantCode = Annotated[str, Path(max_length=40, description="division code, or `<unit code>-<agency type>`")]
TemplateName = Annotated[str, Path(pattern=r"^[a-z_]{1,40}$")]
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
PHONE = r"^(1\d{10}|0\d{2,3}-?\d{7,8})$"


class Contacts(BaseModel):
    """A party's contact the events do not carry (the business's phone or e-mail; the
    complainant's e-mail): null removes it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    business_phone: str | None = Field(default=None, pattern=PHONE)
    business_email: str | None = Field(default=None, max_length=254, pattern=EMAIL)
    complainant_email: str | None = Field(default=None, max_length=254, pattern=EMAIL)


class TemplateText(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=2000, description="jinja2; variables as in the default text")
    subject: str | None = Field(default=None, min_length=1, max_length=200)


@router.get("/inbox", response_model=Inbox, response_model_exclude_unset=True)
async def inbox(
    staff: Staff,
    client: Rpc,
    unread_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Any:
    """Your inbox: items to you and to your unit (or agency), newest first, and how many are unread."""
    return await client.call(
        "notification", "inbox", unread_only=unread_only, limit=limit, context=staff.scope.to_context()
    )


@router.post("/inbox/{item_id}/read", response_model=InboxItem, response_model_exclude_unset=True)
async def mark_read(item_id: str, staff: Staff, client: Rpc) -> Any:
    """Mark an item read for you (a unit's item stays unread for your colleagues). Not yours: 404."""
    return await client.call("notification", "mark_read", item_id, context=staff.scope.to_context())


@router.put("/complaints/{complaint_id}/contacts", response_model=ContactsKnown, response_model_exclude_unset=True)
async def set_contacts(complaint_id: str, body: Contacts, staff: Staff, client: Rpc) -> Any:
    """Record a party's contact for the messages of this case (responsible unit's case staff)."""
    ref = await client.call("intake", "case_ref", complaint_id, context=staff.scope.to_context())
    if ref.get("read_only"):
        return problem(403, "forbidden", "a read-only view cannot record contacts")
    return await client.call(
        "notification",
        "set_contacts",
        ref["id"],
        body.model_dump(exclude_unset=True),
        context=staff.scope.to_context(),
    )


@router.post(
    "/complaints/{complaint_id}/invite-business",
    status_code=202,
    response_model=CodeSent,
    response_model_exclude_unset=True,
)
async def invite_business(complaint_id: str, staff: Staff, client: Rpc) -> Any:
    """Invite the business by SMS to sign in at the portal with its credit code (docs/parties.md)."""
    ref = await client.call("intake", "case_ref", complaint_id, context=staff.scope.to_context())
    if ref.get("read_only"):
        return problem(403, "forbidden", "a read-only view cannot invite the business")
    return await client.call("notification", "invite_business", ref["id"], context=staff.scope.to_context())


@router.get("/notification/templates", response_model=list[Template], response_model_exclude_unset=True)
async def templates(staff: Staff, client: Rpc, tenant: Annotated[str | None, Query(max_length=40)] = None) -> Any:
    """Every message template with the text that applies to `tenant` (default: yours) and its source."""
    return await client.call("notification", "templates", tenant, context=staff.scope.to_context())


@router.put("/notification/templates/{tenant}/{name}", response_model=TenantTemplate, response_model_exclude_unset=True)
async def put_template(tenant: TenantCode, name: TemplateName, body: TemplateText, staff: Staff, client: Rpc) -> Any:
    """A tenant's own text of a template (tenant_admin of the tenant or of a unit above); the units
    below inherit it unless they have their own."""
    return await client.call(
        "notification", "put_template", tenant, name, body.text, body.subject, context=staff.scope.to_context()
    )


@router.post(
    "/notification/templates/{tenant}/{name}/preview",
    response_model=RenderedTemplate,
    response_model_exclude_unset=True,
)
async def preview_template(
    tenant: TenantCode, name: TemplateName, body: TemplateText, staff: Staff, client: Rpc
) -> Any:
    """The proposed text rendered with sample values, checked as a save is (422 naming `text` or
    `subject`); nothing is stored."""
    return await client.call(
        "notification", "preview_template", tenant, name, body.text, body.subject, context=staff.scope.to_context()
    )


@router.delete("/notification/templates/{tenant}/{name}", status_code=204)
async def delete_template(tenant: TenantCode, name: TemplateName, staff: Staff, client: Rpc) -> None:
    """Remove a tenant's own text: it inherits again."""
    await client.call("notification", "delete_template", tenant, name, context=staff.scope.to_context())


@router.get(
    "/notification/settings/{tenant}", response_model=TenantNotificationSettings, response_model_exclude_unset=True
)
async def get_settings(tenant: TenantCode, staff: Staff, client: Rpc) -> Any:
    """A tenant's own notification settings and the effective ones (quiet hours, agency webhook)."""
    return await client.call("notification", "tenant_settings", tenant, context=staff.scope.to_context())


@router.patch(
    "/notification/settings/{tenant}", response_model=TenantNotificationSettings, response_model_exclude_unset=True
)
async def update_settings(
    tenant: TenantCode,
    staff: Staff,
    client: Rpc,
    patch: Annotated[dict[str, Any], Body(description="merge patch: quiet_hours, webhook_url, webhook_secret")],
) -> Any:
    return await client.call("notification", "update_tenant_settings", tenant, patch, context=staff.scope.to_context())


@router.post(
    "/notification/sms-receipts",
    tags=["public"],
    response_model=ReceiptOutcomes,
    responses={401: {}, 404: {}, 422: {}},
    response_model_exclude_unset=True,
)
async def sms_receipts(
    request: Request,
    client: Rpc,
    timestamp: Annotated[str | None, Header(alias=TIMESTAMP_HEADER)] = None,
    signature: Annotated[str | None, Header(alias=SIGNATURE_HEADER)] = None,
) -> Any:
    """The SMS provider's delivery reports, without a token: the body
    `{"receipts": [{"message_id", "status": "delivered"|"failed", "at"?, "error"?}]}` signed like the
    messages it gets from us (HMAC-SHA256 with the SMS secret over `timestamp + "." + body`).
    Answers each receipt's outcome; a repeated report changes nothing."""
    try:
        body = (await request.body()).decode("utf-8")
    except UnicodeDecodeError:
        return problem(422, "invalid_input", "body: expected UTF-8 JSON", [{"field": "body", "message": "not UTF-8"}])
    return await client.call("notification", "record_sms_receipts", body, timestamp, signature)
