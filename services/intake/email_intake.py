"""E-mail complaints: a raw RFC 5322 message (bytes) parsed with the standard library into what a
clerk needs to complete a draft complaint.

What is taken from the message: the sender's display name and address (the complainant's name and
e-mail), a mainland mobile number found in the text (the complainant's phone, when there is exactly
one), the subject and the plain-text body (HTML only when there is no plain text, tags removed) as the
summary, the Message-ID and Date, and every attachment (checked by content like any evidence file:
what passes becomes evidence, what does not is listed with the reason). Nothing else is guessed:
the clerk completes the business, place and category.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from typing import Any

from services.intake import validation
from services.intake.validation import InvalidField

MAX_ATTACHMENTS = 20
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?(1[3-9]\d[- ]?\d{4}[- ]?\d{4})(?!\d)")
_TAGS = re.compile(r"<[^>]+>")
_BLANKS = re.compile(r"\n\s*\n+")


@dataclass
class ParsedEmail:
    sender_name: str
    sender_address: str
    subject: str
    text: str
    message_id: str | None = None
    sent_at: str | None = None
    phone: str | None = None
    attachments: list[tuple[str, bytes]] = field(default_factory=list)

    def source(self) -> dict[str, Any]:
        return {
            "from": self.sender_address,
            "subject": self.subject,
            "message_id": self.message_id,
            "sent_at": self.sent_at,
        }


def parse(raw: bytes) -> ParsedEmail:
    """The message's parts, or InvalidField("message", ...) when it is not a usable e-mail."""
    if not raw or not raw.strip():
        raise InvalidField("message", "empty: send the raw e-mail (RFC 5322, content type message/rfc822)")
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
    except Exception as exc:  # the parser is lenient; anything it raises means unusable input
        raise InvalidField("message", f"not a parsable e-mail message: {exc}") from None
    if not isinstance(message, EmailMessage):
        raise InvalidField("message", "not a parsable e-mail message")
    sender = _sender(message)
    subject = _header(message, "subject")
    text = _body_text(message)
    if not (subject or text):
        raise InvalidField("message", "has neither a subject nor a text body: nothing to complain about")
    attachments = []
    for index, part in enumerate(message.iter_attachments()):
        if index >= MAX_ATTACHMENTS:
            raise InvalidField("message", f"more than {MAX_ATTACHMENTS} attachments")
        try:
            content = part.get_content()
        except Exception:  # a broken transfer encoding: keep the raw payload, the type check decides
            content = part.get_payload(decode=True) or b""
        if isinstance(content, str):
            content = content.encode(part.get_content_charset() or "utf-8", errors="replace")
        elif isinstance(content, EmailMessage):
            content = content.as_bytes()
        attachments.append((part.get_filename() or f"attachment-{index + 1}", bytes(content)))
    sent_at = None
    if message.get("date"):
        try:
            sent_at = parsedate_to_datetime(str(message["date"])).isoformat()
        except (TypeError, ValueError):
            sent_at = None
    return ParsedEmail(
        sender_name=sender[0],
        sender_address=sender[1],
        subject=subject,
        text=text,
        message_id=_header(message, "message-id") or None,
        sent_at=sent_at,
        phone=_phone(f"{subject}\n{text}"),
        attachments=attachments,
    )


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:
        return ""
    return " ".join(str(value).split()) if value is not None else ""


def _sender(message: EmailMessage) -> tuple[str, str]:
    try:
        header = message.get("from")
        addresses: tuple[Address, ...] = header.addresses if header is not None else ()
    except Exception:
        addresses = ()
    if not addresses or not addresses[0].addr_spec or "@" not in addresses[0].addr_spec:
        raise InvalidField("message", "has no usable From address: whom would we answer?")
    return addresses[0].display_name.strip(), addresses[0].addr_spec.strip()


def _body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except Exception:
        content = (part.get_payload(decode=True) or b"").decode("utf-8", errors="replace")
    if part.get_content_subtype() == "html":
        content = html.unescape(_TAGS.sub(" ", content))
    content = content.replace("\r\n", "\n").strip()
    return _BLANKS.sub("\n\n", content)


def _phone(text: str) -> str | None:
    found = set()
    for match in _MOBILE.finditer(text):
        try:
            found.add(validation.phone(match.group(1)))
        except InvalidField:
            continue
    return found.pop() if len(found) == 1 else None


def draft_summary(parsed: ParsedEmail) -> str:
    """Subject and text as one summary, within the summary limit."""
    joined = "\n".join(part for part in (parsed.subject, parsed.text) if part)
    cleaned = "".join(c if c.isprintable() or c in "\n\t" else " " for c in joined).strip()
    return cleaned[: validation.MAX_SUMMARY_LEN]
