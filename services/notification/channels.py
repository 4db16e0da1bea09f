"""Channels a message goes out on, each behind the same small interface: `send(message)` returns the
state the channel reports (`sent`, or `delivered` when it confirms receipt), raises `TemporaryFailure`
to be retried later, `PermanentFailure` to fail at once.

- sms: `HttpSms` (signed POST to `SMS_ENDPOINT`) or `Logged` (demo: the service log, masked);
  `delivered` when the provider's answer says `{"status": "delivered"}`, else `sent`, until the
  provider's signed delivery report makes it `delivered` or `failed` (receipts.py);
- email: `Smtp` (`SMTP_HOST`, `SMTP_PORT`, optional STARTTLS and login): `sent` (accepted); or
  `Logged` (demo);
- inbox: `Inbox`, the message row is the inbox item: `delivered`;
- webhook: `Webhook`, signed POST to the agency's URL: `delivered` (its system answered 2xx);
- amqp: `Docking`, the agency's durable queue `agency.<tenant>`, publisher confirms: `sent`.

Signing (SMS and webhook): common/contracts/signing.py, the headers and HMAC a receiver checks.
"""

from __future__ import annotations

import json
import logging
import smtplib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from pathlib import Path
from typing import Any, Protocol

import requests

from common.config import NotificationSettings
from common.contracts.signing import MESSAGE_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from common.masking import mask_recipient
from common.messaging import durable_queue_arguments

log = logging.getLogger("notification.delivery")

HTTP_TIMEOUT_SECONDS = 10.0


class TemporaryFailure(Exception):
    """Try again later (a 5xx, a timeout, a refused connection)."""


class PermanentFailure(Exception):
    """Trying again will not help (no address, a 4xx other than 408/429, a refused recipient)."""


@dataclass(frozen=True)
class Outgoing:
    """What a provider needs of a message."""

    id: str
    channel: str
    address: str
    subject: str
    body: str
    payload: dict[str, Any] | None = None
    secret: str | None = None  # the webhook secret of this agency, when it has its own
    confidential: bool = False  # a one-time code: never in the service log


class Provider(Protocol):
    def send(self, message: Outgoing) -> str: ...


def signed_headers(secret: str, body: bytes, message_id: str, now: float | None = None) -> dict[str, str]:
    timestamp = int(now if now is not None else time.time())
    return {
        "Content-Type": "application/json; charset=utf-8",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, body, timestamp),
        MESSAGE_ID_HEADER: message_id,
    }


def _post(url: str, body: bytes, headers: dict[str, str]) -> requests.Response:
    try:
        response = requests.post(url, data=body, headers=headers, timeout=HTTP_TIMEOUT_SECONDS)
    except requests.RequestException as exc:
        raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from None
    if response.status_code >= 500 or response.status_code in (408, 429):
        raise TemporaryFailure(f"HTTP {response.status_code}")
    if response.status_code >= 400:
        raise PermanentFailure(f"HTTP {response.status_code}: {response.text[:200]}")
    return response


class Logged:
    """Demo mode: writes the message to the service log (the address masked) instead of sending it,
    and, with a `demo_file`, appends it as a JSON line `{"at", "to", "text"}` (address masked) there:
    the demo SMS log people and demo scripts read one-time codes from (docs/parties.md). A
    confidential message (a code) goes to the demo file only."""

    def __init__(self, channel: str, demo_file: str = "") -> None:
        self.channel, self.demo_file = channel, demo_file

    def send(self, message: Outgoing) -> str:
        to = mask_recipient(message.address)
        if self.demo_file:
            line = {"at": datetime.now(UTC).isoformat(), "to": to, "text": message.body}
            Path(self.demo_file).parent.mkdir(parents=True, exist_ok=True)
            with open(self.demo_file, "a", encoding="utf-8") as f:
                f.write(json.dumps(line, ensure_ascii=False) + "\n")
        if message.confidential:
            log.info("%s to %s: a one-time code (in the demo SMS log only)", self.channel, to)
        else:
            log.info("%s to %s: %s %s", self.channel, to, message.subject, message.body)
        return "sent"


class HttpSms:
    """An SMS gateway over HTTP: POST {"message_id", "to", "text"} signed with `SMS_SECRET`. The
    gateway's answer may say `{"status": "delivered"}`; otherwise the message is `sent`."""

    def __init__(self, endpoint: str, secret: str) -> None:
        self.endpoint, self.secret = endpoint, secret

    def send(self, message: Outgoing) -> str:
        body = json.dumps({"message_id": message.id, "to": message.address, "text": message.body}, ensure_ascii=False)
        raw = body.encode()
        response = _post(self.endpoint, raw, signed_headers(self.secret, raw, message.id))
        try:
            status = response.json().get("status")
        except (ValueError, AttributeError):
            status = None
        return "delivered" if status == "delivered" else "sent"


class Smtp:
    def __init__(
        self, host: str, port: int, sender: str, *, starttls: bool = False, user: str = "", password: str = ""
    ):
        self.host, self.port, self.sender = host, port, sender
        self.starttls, self.user, self.password = starttls, user, password

    def send(self, message: Outgoing) -> str:
        mail = EmailMessage()
        mail["From"] = formataddr(("消费纠纷调处平台", self.sender))
        mail["To"] = message.address
        mail["Subject"] = message.subject
        mail["Message-ID"] = make_msgid(
            idstring=message.id.replace("-", ""), domain=self.sender.partition("@")[2] or None
        )
        mail[MESSAGE_ID_HEADER] = message.id
        mail.set_content(message.body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=HTTP_TIMEOUT_SECONDS) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.user:
                    smtp.login(self.user, self.password)
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentFailure(f"recipient refused: {list(exc.recipients.values())[:1]}") from None
        except smtplib.SMTPResponseException as exc:
            if 500 <= exc.smtp_code < 600:
                raise PermanentFailure(f"SMTP {exc.smtp_code}") from None
            raise TemporaryFailure(f"SMTP {exc.smtp_code}") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from None
        return "sent"


class Inbox:
    """The message row is the inbox item: delivered the moment it is recorded."""

    def send(self, message: Outgoing) -> str:
        return "delivered"


class Webhook:
    """An agency's system: POST the payload, signed (the agency's own secret, else `WEBHOOK_SECRET`)."""

    def __init__(self, secret: str) -> None:
        self.secret = secret

    def send(self, message: Outgoing) -> str:
        raw = json.dumps({"message_id": message.id, **(message.payload or {})}, ensure_ascii=False).encode()
        _post(message.address, raw, signed_headers(message.secret or self.secret, raw, message.id))
        return "delivered"


class Docking:
    """An agency's docking queue (`agency.<tenant>`, durable), published with confirms."""

    def __init__(self, amqp_uri: str) -> None:
        self.amqp_uri = amqp_uri
        self._publisher = None

    def send(self, message: Outgoing) -> str:
        from kombu import Exchange, Queue
        from nameko.amqp.publish import Publisher

        if self._publisher is None:
            self._publisher = Publisher(self.amqp_uri, use_confirms=True, serializer="json")
        queue = Queue(
            message.address,
            exchange=Exchange("", type="direct"),
            routing_key=message.address,
            durable=True,
            queue_arguments=durable_queue_arguments(),  # replicated like every durable queue (common/messaging.py)
        )
        try:
            self._publisher.publish(
                {"message_id": message.id, **(message.payload or {})},
                exchange=queue.exchange,
                routing_key=message.address,
                declare=[queue],
                message_id=message.id,
                delivery_mode=2,
                retry=False,
            )
        except Exception as exc:  # the broker is away or refused: try later
            raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from None
        return "sent"


class Channels:
    """The providers of one process, chosen by `NotificationSettings` (docs/settings.md); `config`
    (variables by name, e.g. nameko's `AMQP_URI`) wins over the environment."""

    def __init__(self, config: Mapping[str, str] | None = None) -> None:
        settings = NotificationSettings.from_env(config or {})
        sms = settings.sms_provider
        self.sms_secret = settings.sms_secret  # also verifies the provider's delivery reports (receipts.py)
        if sms == "http":
            if not settings.sms_endpoint:
                raise RuntimeError("SMS_PROVIDER=http needs SMS_ENDPOINT")
            self.sms: Provider = HttpSms(settings.sms_endpoint, self.sms_secret)
        elif sms == "log":
            self.sms = Logged("SMS", settings.sms_log_file)
        else:
            raise RuntimeError(f"SMS_PROVIDER must be http or log, not {sms!r}")
        email = settings.email_provider
        if email == "smtp":
            self.email: Provider = Smtp(
                settings.smtp_host,
                settings.smtp_port,
                settings.smtp_from,
                starttls=settings.smtp_starttls,
                user=settings.smtp_user,
                password=settings.smtp_password,
            )
        elif email == "log":
            self.email = Logged("e-mail")
        else:
            raise RuntimeError(f"EMAIL_PROVIDER must be smtp or log, not {email!r}")
        self.inbox: Provider = Inbox()
        self.webhook: Provider = Webhook(settings.webhook_secret)
        self.amqp: Provider = Docking(settings.amqp_uri)
        self.webhook_url = settings.webhook_url  # may hold {tenant}; an agency's own URL wins

    def provider(self, channel: str) -> Provider:
        return {"sms": self.sms, "email": self.email, "inbox": self.inbox, "webhook": self.webhook, "amqp": self.amqp}[
            channel
        ]
