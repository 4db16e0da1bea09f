"""Facts about division codes: one place for the tier of a code, its parents, and subtree membership.

Codes are the 12-digit statistical codes: 1-6 county, 7-9 township, 10-12 village. A unit is
written with its significant digits only: city `330681`, township `330681109`, village
`330681109290`, so that "is inside" is a prefix test.
"""

from __future__ import annotations

import re
from enum import StrEnum

_CODE = re.compile(r"^\d{6}(\d{3}(\d{3})?)?$")


class Tier(StrEnum):
    CITY = "city"
    TOWNSHIP = "township"
    VILLAGE = "village"


_TIER_BY_LENGTH = {6: Tier.CITY, 9: Tier.TOWNSHIP, 12: Tier.VILLAGE}


def is_unit_code(code: str) -> bool:
    return bool(_CODE.match(code))


def tier_of(code: str) -> Tier:
    if not is_unit_code(code):
        raise ValueError(f"not a city, township or village division code: {code!r}")
    return _TIER_BY_LENGTH[len(code)]


def parent_of(code: str) -> str | None:
    """The unit one tier up, or None for a city (the top of this platform)."""
    return {6: None, 9: code[:6], 12: code[:9]}[len(code)] if is_unit_code(code) else None


def lineage(code: str) -> list[str]:
    """The code and every unit above it, lowest first: village, township, city."""
    return [code[:n] for n in (12, 9, 6) if len(code) >= n]


def covers(scope: str, code: str) -> bool:
    """Whether `code` lies in the subtree of `scope` (a unit covers itself)."""
    return is_unit_code(scope) and code.startswith(scope)


def lowest_common_unit(a: str, b: str) -> str | None:
    for n in (12, 9, 6):
        if len(a) >= n and len(b) >= n and a[:n] == b[:n]:
            return a[:n]
    return None
