"""The same facts filed again (Art 35) and the signs of abuse (Art 17), decided at filing time.

**Duplicate** (not handled twice): an earlier complaint of the same complainant (normalized phone)
against the same business (the same unified social credit code when both filings carry one, else
the same name once spaces and punctuation are dropped) whose facts are near-identical: the
summaries' similarity is at least `DUPLICATE_SIMILARITY` and the new filing brings no new fact.

**New facts** (a new case, linked to the earlier one with `related_to`): the summary is near-identical
but the new filing gives a different claim amount or incident day than the earlier one (where both
give one), or its summary holds a number (two digits or more: a date, an amount, an order number)
the earlier summary does not; or the new summary repeats the earlier one (`coverage` of the shorter
text at least `DUPLICATE_SIMILARITY`) and goes on at more length. Anything else is simply another
complaint.

**A retry** (answered with the earlier filing, nothing stored): the same filing again within
`RETRY_MINUTES` from the same caller (channel, filer and filing tenant; none for the public form)
without an Idempotency-Key, repeating an earlier one as a duplicate would (phone, business, facts).
Its caller was most likely told 503 or got no answer (gateway/admission.py, common/deadlines.py).

**Abuse signs** (flag for a clerk's review, never a refusal), each with an explanation:

- `shared_phone` / `shared_address`: at least `SHARED_CONTACT_MIN_COMPLAINANTS` people (different
  names) filed with one phone number / one address within `ABUSE_WINDOW_DAYS`;
- `frequent_against_business`: the same complainant filed at least `FREQUENT_AGAINST_BUSINESS`
  complaints against one business within `FREQUENCY_WINDOW_DAYS`;
- `frequent_complainant`: the same complainant filed at least `FREQUENT_COMPLAINANT` complaints
  (against anyone) within `FREQUENCY_WINDOW_DAYS` (abnormal frequency, 职业索赔 sign);
- `mass_near_identical`: at least `MASS_MIN_COMPLAINANTS` different complainants filed
  near-identical texts (similarity >= `MASS_SIMILARITY`) against one business within
  `FREQUENCY_WINDOW_DAYS`.

Counts include the filing at hand; duplicates and drafts do not count.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from difflib import SequenceMatcher
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from common.masking import mask_name, mask_phone
from services.intake.models import Complaint

DUPLICATE_SIMILARITY: Final = 0.8
MASS_SIMILARITY: Final = 0.9
ABUSE_WINDOW_DAYS: Final = 90
FREQUENCY_WINDOW_DAYS: Final = 30
SHARED_CONTACT_MIN_COMPLAINANTS: Final = 3
FREQUENT_AGAINST_BUSINESS: Final = 3
FREQUENT_COMPLAINANT: Final = 10
MASS_MIN_COMPLAINANTS: Final = 3
RETRY_MINUTES: Final = 10  # a client's retries and a person submitting the form again after a 503
_CANDIDATES: Final = 500  # rows read per check at most
CREDIT_CODE_KEY: Final = "cc:"  # a business key from a credit code (the case list searches it too)

# statuses that are no case of their own
NOT_A_CASE: Final = ("duplicate", "draft")

_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)
_NUMBER = re.compile(r"\d{2,}")


# the signs of abuse (Art 17, abuse_flags) as a person reads them
FLAG_LABELS = {
    "shared_phone": "多人共用一个电话号码",
    "shared_address": "多人共用一个地址",
    "frequent_against_business": "同一投诉人频繁投诉同一经营者",
    "frequent_complainant": "同一投诉人频繁投诉",
    "mass_near_identical": "多人提交内容近似的投诉",
}


def normalize(text: str | None) -> str:
    """For comparing: full-width folded, lower case, no spaces or punctuation."""
    return _NOISE.sub("", unicodedata.normalize("NFKC", text or "")).lower()


def business_key(business: dict[str, Any]) -> str | None:
    if business.get("credit_code"):
        return CREDIT_CODE_KEY + business["credit_code"]
    name = normalize(business.get("name"))
    return "name:" + name[:110] if name else None


def address_key(address: str | None) -> str | None:
    key = normalize(address)
    return key[:200] or None


def similarity(a: str | None, b: str | None) -> float:
    x, y = normalize(a), normalize(b)
    if not x or not y:
        return 0.0
    return SequenceMatcher(None, x, y, autojunk=False).ratio()


def coverage(a: str | None, b: str | None) -> float:
    """How much of the shorter text is found in the longer one (1.0: one repeats the other and
    perhaps adds to it)."""
    x, y = normalize(a), normalize(b)
    if not x or not y:
        return 0.0
    matcher = SequenceMatcher(None, x, y, autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks()) / min(len(x), len(y))


def same_business(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if a.get("credit_code") and b.get("credit_code"):
        return a["credit_code"] == b["credit_code"]
    return bool(normalize(a.get("name"))) and normalize(a.get("name")) == normalize(b.get("name"))


def new_facts(new: Complaint, old: Complaint) -> str | None:
    """What the new filing adds to the old one's facts, or None when it adds nothing."""
    if new.claim_amount is not None and old.claim_amount is not None and Decimal(new.claim_amount) != old.claim_amount:
        return f"a different claim amount ({new.claim_amount} instead of {old.claim_amount})"
    new_day, old_day = (new.details or {}).get("occurred_on"), (old.details or {}).get("occurred_on")
    if new_day and old_day and new_day != old_day:
        return f"a different incident day ({new_day} instead of {old_day})"
    added = sorted(
        set(_NUMBER.findall(unicodedata.normalize("NFKC", new.summary or "")))
        - set(_NUMBER.findall(unicodedata.normalize("NFKC", old.summary or "")))
    )
    if added:
        return f"new figures in the facts ({', '.join(added[:5])})"
    return None


@dataclass(frozen=True)
class Match:
    duplicate_of: Complaint | None = None
    related_to: Complaint | None = None
    new_facts: str | None = None


def find_duplicate(session: Session, complaint: Complaint) -> Match:
    """The earliest earlier complaint this one repeats, else the earliest it adds new facts to."""
    if not complaint.complainant_phone:
        return Match()
    earlier = session.scalars(
        select(Complaint)
        .where(
            Complaint.complainant_phone == complaint.complainant_phone,
            Complaint.kind == "complaint",
            Complaint.status.not_in(NOT_A_CASE),
            Complaint.id != complaint.id,
        )
        .order_by(Complaint.received_at)
        .limit(_CANDIDATES)
    ).all()
    related: tuple[Complaint, str] | None = None
    for old in earlier:
        if not same_business(complaint.business, old.business):
            continue
        alike = similarity(complaint.summary, old.summary) >= DUPLICATE_SIMILARITY
        if not alike and coverage(complaint.summary, old.summary) < DUPLICATE_SIMILARITY:
            continue
        added = new_facts(complaint, old)
        if alike and added is None:
            return Match(duplicate_of=old)
        if related is None:
            related = (old, added or "the facts told again at more length")
    return Match(related_to=related[0], new_facts=related[1]) if related else Match()


def repeats(new: Complaint, old: Complaint) -> bool:
    """Art 35's test, the complainant aside: the same business, near-identical facts, nothing new."""
    return (
        same_business(new.business, old.business)
        and similarity(new.summary, old.summary) >= DUPLICATE_SIMILARITY
        and new_facts(new, old) is None
    )


def find_retry(session: Session, filing: Complaint, now: datetime) -> Complaint | None:
    """The earlier filing that `filing` (not stored) repeats as a retry: within `RETRY_MINUTES`, by
    the same channel, filer and filing tenant, from the same phone, and `repeats` it. A duplicate
    counts too (the retry is answered as it was), a draft does not."""
    if not filing.complainant_phone:
        return None
    earlier = session.scalars(
        select(Complaint)
        .where(
            Complaint.complainant_phone == filing.complainant_phone,
            Complaint.kind == "complaint",
            Complaint.status != "draft",
            Complaint.channel == filing.channel,
            Complaint.received_by.is_not_distinct_from(filing.received_by),
            Complaint.source_tenant.is_not_distinct_from(filing.source_tenant),
            Complaint.received_at >= now - timedelta(minutes=RETRY_MINUTES),
        )
        .order_by(Complaint.received_at)
        .limit(_CANDIDATES)
    ).all()
    return next((old for old in earlier if repeats(filing, old)), None)


def _recent(session: Session, since: datetime, *conditions: Any) -> list[Complaint]:
    return list(
        session.scalars(
            select(Complaint)
            .where(
                *conditions,
                Complaint.kind == "complaint",
                Complaint.status.not_in(NOT_A_CASE),
                Complaint.received_at >= since,
            )
            .order_by(Complaint.received_at.desc())
            .limit(_CANDIDATES)
        )
    )


def abuse_flags(session: Session, complaint: Complaint, now: datetime) -> list[dict[str, str]]:
    """The Art 17 signs this filing shows, each {code, explanation}; the filing itself counts."""
    flags: list[dict[str, str]] = []
    name = normalize(complaint.complainant.get("name"))
    others = [c for c in _recent_by_phone(session, complaint, now) if c.id != complaint.id]

    def shared(code: str, what: str, rows: list[Complaint]) -> None:
        names = {normalize(c.complainant.get("name")): c for c in rows if c.id != complaint.id}
        names.pop(name, None)
        if len(names) + 1 >= SHARED_CONTACT_MIN_COMPLAINANTS:
            shown = ", ".join(sorted({mask_name(c.complainant.get("name", "")) for c in names.values()}))
            numbers = ", ".join(sorted(c.tracking_no for c in names.values())[:5])
            flags.append(
                {
                    "code": code,
                    "explanation": f"{len(names) + 1} complainants with different names share {what} within "
                    f"{ABUSE_WINDOW_DAYS} days (others: {shown}; cases {numbers}); Art 17: check whether "
                    "the complaints are coordinated",
                }
            )

    phone = complaint.complainant_phone or ""
    shared("shared_phone", f"the phone number {mask_phone(phone)}", others)
    if complaint.address_key:
        by_address = _recent(
            session, now - timedelta(days=ABUSE_WINDOW_DAYS), Complaint.address_key == complaint.address_key
        )
        shared("shared_address", "one address", by_address)

    window = now - timedelta(days=FREQUENCY_WINDOW_DAYS)
    mine = [c for c in others if c.received_at >= window]
    against = [c for c in mine if same_business(c.business, complaint.business)]
    if len(against) + 1 >= FREQUENT_AGAINST_BUSINESS:
        flags.append(
            {
                "code": "frequent_against_business",
                "explanation": f"this complainant filed {len(against) + 1} complaints against "
                f"{complaint.business.get('name')} within {FREQUENCY_WINDOW_DAYS} days (threshold "
                f"{FREQUENT_AGAINST_BUSINESS}); Art 17: abnormal frequency",
            }
        )
    if len(mine) + 1 >= FREQUENT_COMPLAINANT:
        flags.append(
            {
                "code": "frequent_complainant",
                "explanation": f"this complainant filed {len(mine) + 1} complaints within {FREQUENCY_WINDOW_DAYS} "
                f"days (threshold {FREQUENT_COMPLAINANT}); Art 17: abnormal purchase or complaint frequency",
            }
        )
    if complaint.business_key:
        same = _recent(session, window, Complaint.business_key == complaint.business_key)
        alike = {
            c.complainant_phone
            for c in same
            if c.id != complaint.id
            and c.complainant_phone != complaint.complainant_phone
            and similarity(c.summary, complaint.summary) >= MASS_SIMILARITY
        }
        if len(alike) + 1 >= MASS_MIN_COMPLAINANTS:
            flags.append(
                {
                    "code": "mass_near_identical",
                    "explanation": f"{len(alike) + 1} different complainants filed near-identical texts against "
                    f"{complaint.business.get('name')} within {FREQUENCY_WINDOW_DAYS} days (threshold "
                    f"{MASS_MIN_COMPLAINANTS}, similarity >= {MASS_SIMILARITY}); Art 17: mass or coordinated "
                    "complaints",
                }
            )
    return flags


def _recent_by_phone(session: Session, complaint: Complaint, now: datetime) -> list[Complaint]:
    if not complaint.complainant_phone:
        return []
    return _recent(
        session, now - timedelta(days=ABUSE_WINDOW_DAYS), Complaint.complainant_phone == complaint.complainant_phone
    )


def lock_complainant(session: Session, phone: str) -> None:
    """Serialize filings of one phone number, so two identical filings at once cannot both be first."""
    session.execute(select(func.pg_advisory_xact_lock(func.hashtext("intake.complainant:" + phone))))
