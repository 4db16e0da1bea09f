"""The checks a complaint must pass beyond its shape: real phone numbers, credit codes, ID numbers,
known categories, places this platform serves, clean text and consistent fields. All problems are
reported at once, each naming its field; what passes comes back in the one form intake stores."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from common.categories import category
from common.contracts import ComplaintSubmission
from common.errors import InvalidInput
from common.workdays import SHANGHAI
from services.intake import validation

# the business's places and the consumer's own, checked against the served division table
_PLACE_FIELDS = (
    ("business.division_code", lambda s: s.business.division_code),
    ("business.registered_division_code", lambda s: s.business.registered_division_code),
    ("business.operating_division_code", lambda s: s.business.operating_division_code),
    ("complainant.division_code", lambda s: s.complainant.division_code),
)


def check_submission(
    submission: ComplaintSubmission,
    unserved_divisions: Callable[[list[str]], set[str]],
    *,
    today: date | None = None,
) -> ComplaintSubmission:
    """The submission with phone, codes and texts normalized, or InvalidInput naming every field
    that is wrong."""
    problems: list[dict[str, str]] = []
    fixed: dict[str, Any] = {}

    def check(field: str, test: Callable[[], object]) -> Any:
        try:
            return test()
        except validation.InvalidField as exc:
            problems.append({"field": exc.field, "message": exc.message})
        except KeyError:
            problems.append({"field": field, "message": "unknown code; see GET /api/v1/reference/categories"})
        return None

    def clean_text(path: str, value: str | None, max_len: int, min_len: int = 1) -> str | None:
        if value is None:
            return None
        return check(path, lambda: validation.text(value, path, max_len=max_len, min_len=min_len))

    person, business = submission.complainant, submission.business
    person_fix: dict[str, Any] = {
        "name": clean_text("complainant.name", person.name, 50),
        "phone": check("complainant.phone", lambda: validation.phone(person.phone, field="complainant.phone")),
    }
    if person.id_number:
        person_fix["id_number"] = check(
            "complainant.id_number", lambda: validation.id_number(person.id_number, field="complainant.id_number")
        )
    if person.address:
        person_fix["address"] = clean_text("complainant.address", person.address, validation.MAX_ADDRESS_LEN)
    business_fix: dict[str, Any] = {"name": clean_text("business.name", business.name, validation.MAX_NAME_LEN)}
    if business.credit_code:
        business_fix["credit_code"] = check(
            "business.credit_code", lambda: validation.credit_code(business.credit_code, field="business.credit_code")
        )
    for name, limit in (("address", validation.MAX_ADDRESS_LEN), ("platform", 100), ("shop_name", 100)):
        if getattr(business, name):
            business_fix[name] = clean_text(f"business.{name}", getattr(business, name), limit)
    if business.platform_shop and not business.platform:
        problems.append(
            {"field": "business.platform", "message": "required for a platform shop: which platform it sells on"}
        )
    if business.shop_name and not business.platform_shop:
        problems.append({"field": "business.shop_name", "message": "only for a platform shop (platform_shop: true)"})

    check("category", lambda: category(submission.category))
    fixed["summary"] = clean_text("summary", submission.summary, validation.MAX_SUMMARY_LEN, min_len=5)
    if submission.product is not None:
        fixed["product"] = clean_text("product", submission.product, validation.MAX_PRODUCT_LEN)
    if submission.request_details is not None:
        fixed["request_details"] = clean_text("request_details", submission.request_details, validation.MAX_NOTE_LEN)
    if submission.claim_amount is not None:
        fixed["claim_amount"] = check("claim_amount", lambda: validation.amount(submission.claim_amount))
    if submission.occurred_on is not None:
        local_today = today or _today()
        # one day of slack: the consumer's "today" may be ahead of the server's in another zone
        if submission.occurred_on > local_today + timedelta(days=1):
            problems.append({"field": "occurred_on", "message": "lies in the future"})
    if submission.also_report:
        if not submission.report_text:
            problems.append(
                {"field": "report_text", "message": "required with also_report: what the business did wrong (Art 9)"}
            )
        else:
            fixed["report_text"] = clean_text("report_text", submission.report_text, validation.MAX_SUMMARY_LEN, 5)
    elif submission.report_text:
        problems.append({"field": "also_report", "message": "set also_report: true to file report_text as a report"})

    places = {"incident_division_code": submission.incident_division_code}
    places.update({field: code for field, get in _PLACE_FIELDS if (code := get(submission))})
    unserved = unserved_divisions(sorted(set(places.values())))
    problems += [
        {"field": field, "message": f"division code {code} is unknown or not served by this platform"}
        for field, code in places.items()
        if code in unserved
    ]
    if problems:
        raise InvalidInput(problems)
    return submission.model_copy(
        update={
            **fixed,
            "complainant": person.model_copy(update=person_fix),
            "business": business.model_copy(update=business_fix),
        }
    )


def _today() -> date:
    from datetime import datetime

    return datetime.now(SHANGHAI).date()
