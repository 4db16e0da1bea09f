"""Choosing a mediator within the unit: pure, so the rule is tested without a database.

Candidates are the unit's active roster entries minus the excluded (the mediator stepping aside, and
for a re-review everyone who has held the case). Mediators a supervisor put on the roster come
before staff who joined it only by acting on a case (a supervisor holding the mediator role too
should not be handed cases while rostered mediators are free). Among them, a mediator whose
category skills include the case's category comes first, then generalists (no skills listed: any
category), then the others; within a group the one with the fewest open cases, then by username
(stable).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Candidate:
    username: str
    categories: tuple[str, ...]
    active: bool = True
    rostered: bool = True  # put on the roster by a supervisor (False: joined by acting on a case)


def rank(candidate: Candidate, category: str, load: int) -> tuple[bool, int, int, str]:
    if category in candidate.categories:
        skill = 0
    elif not candidate.categories:
        skill = 1
    else:
        skill = 2
    return (not candidate.rostered, skill, load, candidate.username)


def pick(
    candidates: Iterable[Candidate], category: str, loads: Mapping[str, int], exclude: Iterable[str] = ()
) -> str | None:
    excluded = set(exclude)
    eligible = [c for c in candidates if c.active and c.username not in excluded]
    if not eligible:
        return None
    return min(eligible, key=lambda c: rank(c, category, loads.get(c.username, 0))).username
