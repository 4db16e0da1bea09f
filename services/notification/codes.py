"""SMS one-time codes: a party proves control of the phone the platform knows for it
(docs/parties.md). Notification owns them because it already holds each case's phones and the SMS
channel: neither the phone nor the code leaves this service; the gateway learns only a
verification id and the case(s) the code was for.

A code is 6 digits, lives `CODE_TTL_SECONDS`, allows `CODE_TRIES` tries and one use, and is bound
to its party, purpose and subject (a code sent to sign in to case A signs in to nothing else). Only
salted sha256 digests of the code and the phone are stored; the SMS goes straight to the provider,
never through the message table or the service log.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.notification.models import OneTimeCode

CODE_TTL_SECONDS = 300
CODE_TRIES = 5
RESEND_SECONDS = 60  # one code per minute for the same thing (sign-in, or one action on one case)
PER_PHONE_PER_HOUR = 10  # a mediation session may need a few confirmations in a row
PER_CLIENT_PER_HOUR = 20

# what a person reads when a code does not verify (the API keeps the `error` code)
MESSAGES_ZH = {
    "invalid_code": "验证码错误，还可尝试 {left} 次",
    "code_expired": "验证码已过期，请重新获取",
    "code_exhausted": "验证码错误次数过多，请重新获取",
    "code_used": "验证码已使用，请重新获取",
}


def digest(salt: str, value: str) -> str:
    return hashlib.sha256(f"{salt}:{value}".encode()).hexdigest()


def phone_digest(phone: str) -> str:
    return digest("phone", phone)


def new_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def sms_text(code: str, purpose: str) -> str:
    what = "登录查询" if purpose == "sign_in" else "确认本次操作"
    return f"【消费纠纷调解】验证码 {code}，用于{what}，5分钟内有效。请勿告诉他人。"


def throttled(session: Session, purpose: str, subject: str, phone: str, client: str, now: datetime) -> int | None:
    """Seconds to wait before another code for the same thing, to this phone or from this client,
    may be sent; None when it may."""
    pd = phone_digest(phone)
    last = session.scalar(
        select(func.max(OneTimeCode.created_at)).where(
            OneTimeCode.phone_digest == pd, OneTimeCode.purpose == purpose, OneTimeCode.subject == subject
        )
    )
    if last is not None and now - last < timedelta(seconds=RESEND_SECONDS):
        return RESEND_SECONDS - int((now - last).total_seconds())
    hour = now - timedelta(hours=1)
    for column, value, limit in (
        (OneTimeCode.phone_digest, pd, PER_PHONE_PER_HOUR),
        (OneTimeCode.client, client, PER_CLIENT_PER_HOUR),
    ):
        times = session.scalars(
            select(OneTimeCode.created_at)
            .where(column == value, OneTimeCode.created_at > hour)
            .order_by(OneTimeCode.created_at)
        ).all()
        if len(times) >= limit:
            return max(1, int((times[0] - hour).total_seconds()))
    return None


def issue(
    session: Session,
    *,
    party: str,
    purpose: str,
    subject: str,
    complaint_id: uuid.UUID | None,
    phone: str,
    client: str,
    now: datetime,
) -> str:
    """Record a new code (earlier unused codes for the same thing stop counting) and return it."""
    for earlier in session.scalars(
        select(OneTimeCode).where(
            OneTimeCode.party == party,
            OneTimeCode.purpose == purpose,
            OneTimeCode.subject == subject,
            OneTimeCode.used_at.is_(None),
        )
    ):
        earlier.expires_at = min(earlier.expires_at, now)
    code, row_id = new_code(), uuid.uuid4()
    session.add(
        OneTimeCode(
            id=row_id,
            party=party,
            purpose=purpose,
            subject=subject,
            complaint_id=complaint_id,
            phone_digest=phone_digest(phone),
            code_digest=digest(str(row_id), code),
            client=client[:64],
            tries=0,
            created_at=now,
            expires_at=now + timedelta(seconds=CODE_TTL_SECONDS),
        )
    )
    return code


@dataclass(frozen=True)
class Verdict:
    """`row` when the code verified (now used), else the `error` code and the tries left."""

    row: OneTimeCode | None
    error: str | None = None
    tries_left: int = 0

    def problem(self) -> dict[str, object]:
        message = MESSAGES_ZH[self.error or "invalid_code"].format(left=self.tries_left)
        return {"error": self.error, "message_zh": message, "tries_left": self.tries_left}


def verify(session: Session, *, party: str, purpose: str, subject: str, code: str, now: datetime) -> Verdict:
    """Check `code` against the newest code for this party, purpose and subject; every try counts,
    and a sixth try is refused even with the right code."""
    row = session.scalars(
        select(OneTimeCode)
        .where(OneTimeCode.party == party, OneTimeCode.purpose == purpose, OneTimeCode.subject == subject)
        .order_by(OneTimeCode.created_at.desc())
        .limit(1)
        .with_for_update()
    ).first()
    if row is None:
        return Verdict(None, "invalid_code", 0)
    if row.used_at is not None:
        return Verdict(None, "code_used")
    if row.tries >= CODE_TRIES:
        return Verdict(None, "code_exhausted")
    row.tries += 1
    if now >= row.expires_at:
        return Verdict(None, "code_expired")
    if not secrets.compare_digest(row.code_digest, digest(str(row.id), code)):
        left = CODE_TRIES - row.tries
        return Verdict(None, "invalid_code" if left else "code_exhausted", left)
    row.used_at = now
    return Verdict(row)
