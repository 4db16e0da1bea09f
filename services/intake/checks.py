"""The checks a complaint must pass beyond its shape: real phone numbers, credit codes, ID numbers,
known categories, and places this platform serves. All problems are reported at once."""

from __future__ import annotations

from collections.abc import Callable

from common.contracts import ComplaintSubmission
from common.errors import InvalidInput
from services.intake import validation
from services.intake.categories import category


def check_submission(submission: ComplaintSubmission, unserved_divisions: Callable[[list[str]], set[str]]) -> None:
    problems: list[dict[str, str]] = []

    def check(field: str, test: Callable[[], object]) -> None:
        try:
            test()
        except validation.InvalidField as exc:
            problems.append({"field": exc.field, "message": exc.message})
        except KeyError:
            problems.append({"field": field, "message": "unknown code; see GET /api/v1/reference/categories"})

    person, business = submission.complainant, submission.business
    check("complainant.phone", lambda: validation.phone(person.phone, field="complainant.phone"))
    if person.id_number:
        check("complainant.id_number", lambda: validation.id_number(person.id_number, field="complainant.id_number"))
    if business.credit_code:
        check(
            "business.credit_code", lambda: validation.credit_code(business.credit_code, field="business.credit_code")
        )
    check("category", lambda: category(submission.category))

    places = {"incident_division_code": submission.incident_division_code}
    if business.division_code:
        places["business.division_code"] = business.division_code
    unserved = unserved_divisions(sorted(set(places.values())))
    problems += [
        {"field": field, "message": f"division code {code} is unknown or not served by this platform"}
        for field, code in places.items()
        if code in unserved
    ]
    if problems:
        raise InvalidInput(problems)
