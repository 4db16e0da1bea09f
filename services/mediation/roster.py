"""Choosing a mediator within the unit: pure, so the rule is tested without a database.

Candidates are the unit's active roster entries minus the excluded (the mediator stepping aside, and
for a re-review everyone who has held the case). Among them, a mediator whose category skills
include the case's category comes first, then generalists (no skills listed: any category), then
the others; within a group the one with the fewest open cases, then by username (stable).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Candidate:
    username: str
    categories: tuple[str, ...]
    active: bool = True


def rank(candidate: Candidate, category: str, load: int) -> tuple[int, int, str]:
    if category in candidate.categories:
        skill = 0
    elif not candidate.categories:
        skill = 1
    else:
        skill = 2
    return (skill, load, candidate.username)


def pick(
    candidates: Iterable[Candidate], category: str, loads: Mapping[str, int], exclude: Iterable[str] = ()
) -> str | None:
    excluded = set(exclude)
    eligible = [c for c in candidates if c.active and c.username not in excluded]
    if not eligible:
        return None
    return min(eligible, key=lambda c: rank(c, category, loads.get(c.username, 0))).username
