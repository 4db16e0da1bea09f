"""Notification's answers (services/notification/): a case's messages, the staff inbox, templates
and settings, the SMS provider's receipts, the parties' SMS codes."""

from __future__ import annotations

from pydantic import Field

from common.contracts.answers import Answer, Instant


class ToldOtherwise(Answer):
    how: str
    note: str
    by: str
    at: Instant


class Message(Answer):
    """A message about a case and its delivery state (no address)."""

    id: str
    template: str
    channel: str
    recipient_role: str
    state: str
    attempts: int
    time_critical: bool
    reason: str | None
    created_at: Instant
    next_attempt_at: Instant | None
    sent_at: Instant | None
    delivered_at: Instant | None
    failed_at: Instant | None
    state_label: str
    failed: bool
    resent_from: str | None
    resent_as: str | None
    told_otherwise: ToldOtherwise | None
    allowed_actions: list[str] | None = None  # in a case's list: what the caller may do about a failed one


class InboxItem(Answer):
    id: str
    template: str
    subject: str | None
    body: str
    complaint_id: str | None
    to: str
    time_critical: bool
    created_at: Instant
    read_at: Instant | None = Field(description="when the caller read it")
    read_by: list[str]


class Inbox(Answer):
    unread: int
    items: list[InboxItem]


class ContactsKnown(Answer):
    """Which of a party's contacts are recorded (never the contacts themselves)."""

    business_phone: bool
    business_email: bool
    complainant_email: bool


class CodeSent(Answer):
    """An SMS code or invitation sent (`sent`), to the masked phone; or not (no such case or
    phone); or throttled (`retry_after`, `send_code` only)."""

    sent: bool | None = None
    phone: str | None = None
    retry_after: int | None = None


class BusinessCase(Answer):
    complaint_id: str
    tracking_no: str | None


class CodeVerdict(Answer):
    """`verify_code`: the verification, or why the code failed (`error`)."""

    verification_id: str | None = None
    complaint_id: str | None = None
    phone: str | None = None
    cases: list[BusinessCase] | None = None  # a business signing in: its cases
    error: str | None = None
    message_zh: str | None = None
    tries_left: int | None = None


class TemplateText(Answer):
    subject: str | None
    text: str


class Template(Answer):
    name: str
    description: str
    subject: str | None
    text: str
    source: str = Field(description="`default`, or the tenant whose own text applies")
    default: TemplateText
    placeholders: list[str]


class TenantTemplate(Answer):
    tenant: str
    name: str
    subject: str | None
    text: str


class NotificationSettings(Answer):
    quiet_hours: str | None = None
    webhook_url: str | None = None
    webhook_secret_set: bool = Field(description="whether a webhook secret is set (never shown)")


class TenantNotificationSettings(Answer):
    tenant: str
    own: NotificationSettings
    effective: NotificationSettings


class ReceiptOutcome(Answer):
    message_id: str
    outcome: str = Field(description="delivered, failed, unchanged, ignored or unknown")


class ReceiptOutcomes(Answer):
    results: list[ReceiptOutcome]
