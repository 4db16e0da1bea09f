"""Local receivers for notification's channels, started by the test session before the platform:
an HTTP server playing the SMS gateway (`/sms`) and the agencies' webhooks (`/webhook/<tenant>`),
both checking the HMAC signature, and a real SMTP server (aiosmtpd). Tests read what arrived and
may make the HTTP server answer 500 for requests whose body contains a marker."""

from __future__ import annotations

import email
import email.policy
import json
import secrets
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from services.notification.channels import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Received:
    path: str
    body: dict[str, Any]
    raw: bytes
    headers: dict[str, str]
    verified: bool
    status: int


@dataclass
class HttpSink:
    sms_secret: str
    webhook_secret: str
    received: list[Received] = field(default_factory=list)
    failures: dict[tuple[str, ...], int | None] = field(default_factory=dict)  # markers -> times left
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, *markers: str, times: int | None) -> None:
        """Answer 500 to the next `times` requests whose body contains every marker (None: every one)."""
        with self.lock:
            self.failures[markers] = times

    def _status_for(self, raw: bytes) -> int:
        text = raw.decode("utf-8", "replace")
        with self.lock:
            for markers, left in list(self.failures.items()):
                if all(marker in text for marker in markers):
                    if left is None:
                        return 500
                    if left > 0:
                        self.failures[markers] = left - 1
                        return 500
        return 200

    def handle(self, path: str, headers: dict[str, str], raw: bytes) -> int:
        secret = self.sms_secret if path == "/sms" else self.webhook_secret
        verified = verify_signature(secret, raw, headers.get(TIMESTAMP_HEADER), headers.get(SIGNATURE_HEADER))
        status = self._status_for(raw) if verified else 401
        try:
            body = json.loads(raw)
        except ValueError:
            body = {}
        with self.lock:
            self.received.append(Received(path, body, raw, headers, verified, status))
        return status

    def requests(self, path_prefix: str = "", **match: Any) -> list[Received]:
        with self.lock:
            found = list(self.received)
        return [
            r for r in found if r.path.startswith(path_prefix) and all(r.body.get(k) == v for k, v in match.items())
        ]


class _Handler(BaseHTTPRequestHandler):
    sink: HttpSink

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status = self.sink.handle(self.path, {k: v for k, v in self.headers.items()}, raw)
        answer = json.dumps({"status": "accepted" if status == 200 else "error"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        pass


class SmtpSink:
    """A real SMTP server (aiosmtpd) keeping every message it accepts."""

    def __init__(self, port: int) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.lock = threading.Lock()
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
                with sink.lock:
                    sink.messages.append(parsed)
                    sink.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def to(self, address: str) -> list[email.message.EmailMessage]:
        with self.lock:
            return [m for m, (_, rcpt) in zip(self.messages, self.envelopes, strict=True) if address in rcpt]


class NotificationSinks:
    def __init__(self) -> None:
        self.sms_secret = secrets.token_urlsafe(24)
        self.webhook_secret = secrets.token_urlsafe(24)
        self.http = HttpSink(self.sms_secret, self.webhook_secret)
        self.http_port = free_port()
        self.smtp_port = free_port()
        handler = type("Handler", (_Handler,), {"sink": self.http})
        self.server = ThreadingHTTPServer(("127.0.0.1", self.http_port), handler)
        self.smtp = SmtpSink(self.smtp_port)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def env(self) -> dict[str, str]:
        """What the platform's processes are given (docs/notification.md)."""
        base = f"http://127.0.0.1:{self.http_port}"
        return {
            "SMS_PROVIDER": "http",
            "SMS_ENDPOINT": f"{base}/sms",
            "SMS_SECRET": self.sms_secret,
            "EMAIL_PROVIDER": "smtp",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(self.smtp_port),
            "SMTP_FROM": "noreply@disputes.test",
            "WEBHOOK_URL": f"{base}/webhook/{{tenant}}",
            "WEBHOOK_SECRET": self.webhook_secret,
            "SMS_QUIET_HOURS": "off",  # tests run at any hour; quiet hours are tested by a tenant setting
            "NOTIFICATION_DELIVERY_INTERVAL_SECONDS": "0.5",
            "NOTIFICATION_RETRY_BASE_SECONDS": "0.3",
            "NOTIFICATION_MAX_ATTEMPTS": "3",
            "AGENCY_REMINDER_SECONDS": "3",
            "AGENCY_MAX_REMINDERS": "2",
        }

    def start(self) -> None:
        self.thread.start()
        self.smtp.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.smtp.stop()
