"""The rules of staff identity, free of I/O: what a tenant id looks like, which roles a tenant's
users may hold, who manages whom, and what a tenant admin may grant. docs/identity.md explains them.

A tenant id is a unit's division code (`330681`, `330681109`, `330681109290`) or an agency attached
to a unit, written `<unit code>-<agency type>` (`330681-police`, `330681109-court`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement

from common import tenancy
from common.divisions import Tier, tier_of
from common.reference import AGENCY_TYPES
from common.tenancy import Role

ALL_ROLES = frozenset(
    {
        Role.INTAKE_CLERK,
        Role.MEDIATOR,
        Role.SUPERVISOR,
        Role.TENANT_ADMIN,
        Role.AGENCY_LIAISON,
        Role.OPS,
        Role.PLATFORM_ADMIN,
    }
)
# roles a user of a unit (city, township, village) may hold; ops only at a city, see tenant_role_problems
UNIT_TENANT_ROLES = frozenset(
    {Role.INTAKE_CLERK, Role.MEDIATOR, Role.SUPERVISOR, Role.TENANT_ADMIN, Role.OPS, Role.PLATFORM_ADMIN}
)
# roles a user of an agency may hold
AGENCY_TENANT_ROLES = frozenset({Role.AGENCY_LIAISON, Role.TENANT_ADMIN})
# roles that only a platform admin grants, changes or holds power over
PLATFORM_ONLY_ROLES = frozenset({Role.PLATFORM_ADMIN})
MANAGER_ROLES = frozenset({Role.TENANT_ADMIN, Role.PLATFORM_ADMIN})

USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._@-]{2,63}$"


@dataclass(frozen=True)
class Tenant:
    unit: str
    agency: str | None = None

    @property
    def id(self) -> str:
        return f"{self.unit}-{self.agency}" if self.agency else self.unit

    @property
    def is_agency(self) -> bool:
        return self.agency is not None

    @property
    def tier(self) -> Tier:
        return tier_of(self.unit)


def parse_tenant(value: str) -> Tenant:
    """A tenant id (read by `common.tenancy.parse_tenant`, the one parser), or ValueError saying what
    is wrong with it. Stricter than that parser: the agency type must be a known one."""
    parsed = tenancy.parse_tenant(value)
    if parsed is None:
        raise ValueError(
            "must be a city (6 digits), township (9) or village (12) division code, "
            "or `<unit code>-<agency type>` for an agency"
        )
    unit, agency = parsed
    if agency is not None and agency not in AGENCY_TYPES:
        raise ValueError(f"unknown agency type {agency!r}; one of {', '.join(AGENCY_TYPES)}")
    return Tenant(unit=unit, agency=agency)


def is_tenant_id(value: str) -> bool:
    try:
        parse_tenant(value)
    except ValueError:
        return False
    return True


def in_subtree(root: str, tenant: str) -> bool:
    """Whether `tenant` lies under the tenant `root`: a unit's subtree is every unit whose code
    starts with its own and every agency attached to such a unit; an agency's is only itself."""
    try:
        top, other = parse_tenant(root), parse_tenant(tenant)
    except ValueError:
        return False
    if top.is_agency:
        return other == top
    return other.unit.startswith(top.unit)


def subtree_clause(column: ColumnElement[str], root: str) -> ColumnElement[bool]:
    """SQL for `in_subtree(root, column)` over stored (valid) tenant ids."""
    if parse_tenant(root).is_agency:
        return column == root
    # a valid tenant id starts with its unit code, so the prefix test covers attached agencies too
    return column.startswith(root, autoescape=True)


def tenant_role_problems(tenant: Tenant, roles: Iterable[str]) -> list[str]:
    """Why these roles do not fit this tenant (empty when they do)."""
    problems = []
    allowed = AGENCY_TENANT_ROLES if tenant.is_agency else UNIT_TENANT_ROLES
    for role in sorted(set(roles)):
        if role not in ALL_ROLES:
            problems.append(f"unknown role {role!r}")
        elif role not in allowed:
            kind = "an agency" if tenant.is_agency else "a unit"
            problems.append(f"{role} cannot be held by a user of {kind}")
        elif role == Role.OPS and tenant.tier is not Tier.CITY:
            problems.append("ops is held only at a city")
    return problems


def can_manage(manager_tenant: str, manager_roles: Iterable[str], tenant: str) -> bool:
    """Whether someone may manage users and API keys of `tenant`."""
    roles = set(manager_roles)
    if Role.PLATFORM_ADMIN in roles:
        return is_tenant_id(tenant)
    return Role.TENANT_ADMIN in roles and in_subtree(manager_tenant, tenant)


def grant_problems(manager_roles: Iterable[str], before: Iterable[str], after: Iterable[str]) -> list[str]:
    """Why a manager may not change a user's roles from `before` to `after` (empty when allowed).
    A platform admin may grant anything; a tenant admin may neither grant nor take away a
    platform-only role."""
    if Role.PLATFORM_ADMIN in set(manager_roles):
        return []
    changed = set(before) ^ set(after)
    return [f"only a platform admin may grant or remove {role}" for role in sorted(changed & PLATFORM_ONLY_ROLES)]


def retry_after(recent_failures: Sequence[datetime], limit: int, window_seconds: int, now: datetime) -> int | None:
    """Seconds until one more attempt is allowed, given the failures of the last window (newest
    first; only the newest `limit` matter), or None when an attempt is allowed now."""
    if limit <= 0:
        return None
    in_window = [at for at in recent_failures if (now - at).total_seconds() < window_seconds]
    if len(in_window) < limit:
        return None
    # the attempt is allowed again once the limit-th newest failure leaves the window
    oldest_that_counts = sorted(in_window, reverse=True)[limit - 1]
    return max(1, math.ceil(window_seconds - (now - oldest_that_counts).total_seconds()))


def growing_delay(
    recent_failures: Sequence[datetime], free: int, first_delay: int, window_seconds: int, now: datetime
) -> int | None:
    """Seconds until one more attempt is allowed after the failures of the last window (any order),
    or None when it is allowed now. The first `free` failures cost nothing; each one after them
    must wait `first_delay` seconds after the newest, doubled for every further failure, at most
    the window: the owner who mistyped waits half a minute, a guesser ever longer."""
    in_window = [at for at in recent_failures if (now - at).total_seconds() < window_seconds]
    if free <= 0 or len(in_window) < free:
        return None
    delay = min(window_seconds, first_delay * 2 ** (len(in_window) - free))
    wait = delay - (now - max(in_window)).total_seconds()
    return max(1, math.ceil(wait)) if wait > 0 else None
