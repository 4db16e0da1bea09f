"""The tenant scope that travels with every RPC and event, and the one rule that applies it.

The gateway puts the caller's scope into nameko context data (message headers prefixed
`nameko.`); services read it with the `CurrentScope` dependency and filter every query with
`scope_clause`, so no query decides visibility on its own. On PostgreSQL the same rule is enforced a
second time by row-level security: `scope_settings` is what `UnitOfWork.scoped` hands the database.

Two kinds of scope share one string, the tenant id a token carries:

- a unit: its division code (`330681`, `330681109`, `330681109290`); it sees the cases whose
  responsible unit lies in its subtree (a prefix test), and read-only the cases a unit of its subtree
  passed up (rows of `intake.case_viewers`);
- an agency attached to a unit: `<unit code>-<agency type>` (`330681-police`); it sees only the cases
  handed to it (`agency_tenant` equal to its tenant id), never a subtree.

See docs/tenancy.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from nameko.extensions import DependencyProvider
from sqlalchemy import ColumnElement, exists, false, or_

from common.divisions import covers, is_unit_code

SCOPE_HEADER = "tenant_scope"
USER_HEADER = "user"
ROLES_HEADER = "roles"

# what an agency is called after the dash of its tenant id: police, court, procuratorate, petition, ...
_AGENCY_TYPE = re.compile(r"^[a-z][a-z_]{1,39}$")


def parse_tenant(tenant: str) -> tuple[str, str | None] | None:
    """The one parser of tenant ids: `330681` -> ("330681", None), `330681-police` -> ("330681",
    "police"); None for anything else (which then sees nothing)."""
    unit, dash, agency = tenant.partition("-")
    if not is_unit_code(unit):
        return None
    if not dash:
        return unit, None
    return (unit, agency) if _AGENCY_TYPE.match(agency) else None


@dataclass(frozen=True)
class Scope:
    """Who is asking: the tenant at the top of what they may see, and their roles.

    `unit` is the tenant id exactly as the token carries it: a division code for a unit, or
    `<unit code>-<agency type>` for an agency. An agency id is a prefix of no division code, so even
    a query that wrongly tested `startswith(scope.unit)` would find nothing for an agency."""

    unit: str
    user: str = ""
    roles: frozenset[str] = field(default_factory=frozenset)

    @property
    def tenant(self) -> str:
        return self.unit

    @property
    def valid(self) -> bool:
        return parse_tenant(self.unit) is not None

    @property
    def agency(self) -> str | None:
        """The agency type (`police`) of an agency scope; None for a unit."""
        parsed = parse_tenant(self.unit)
        return parsed[1] if parsed else None

    @property
    def is_agency(self) -> bool:
        return self.agency is not None

    @property
    def home_unit(self) -> str | None:
        """The division code of the unit itself, or of the unit an agency is attached to."""
        parsed = parse_tenant(self.unit)
        return parsed[0] if parsed else None

    def sees(self, unit_code: str | None) -> bool:
        """Whether a case whose responsible unit is `unit_code` lies in this unit's subtree (never
        for an agency: it sees cases handed to it, not a subtree)."""
        return unit_code is not None and not self.is_agency and covers(self.unit, unit_code)

    def handles(self, unit_code: str | None) -> bool:
        """Staff handling the case: the responsible unit itself, holding a case-handling role. Only
        they see personal data in full, and only in the single-case view."""
        return unit_code is not None and self.unit == unit_code and self.valid and bool(self.roles & CASE_ROLES)

    def to_context(self) -> dict[str, str]:
        return {SCOPE_HEADER: self.unit, USER_HEADER: self.user, ROLES_HEADER: ",".join(sorted(self.roles))}

    @classmethod
    def from_context(cls, data: dict) -> Scope | None:
        tenant = data.get(SCOPE_HEADER)
        if not tenant or not isinstance(tenant, str) or parse_tenant(tenant) is None:
            return None
        roles = frozenset(r for r in str(data.get(ROLES_HEADER, "")).split(",") if r)
        return cls(unit=tenant, user=str(data.get(USER_HEADER, "")), roles=roles)


@dataclass(frozen=True)
class Viewers:
    """Rows granting units a read-only view of a case (`intake.case_viewers`): the viewer row's unit
    column and the condition tying a viewer row to the row being filtered."""

    unit: ColumnElement[str]
    correlation: ColumnElement[bool]


def scope_clause(
    unit_column: ColumnElement[str],
    scope: Scope | None,
    *,
    agency_column: ColumnElement[str] | None = None,
    viewers: Viewers | None = None,
) -> ColumnElement[bool]:
    """The WHERE clause for the rows `scope` may see; nothing without a (valid) scope.

    A unit: rows whose `unit_column` lies in its subtree, or (with `viewers`) for which a viewer row
    of its subtree exists. An agency: rows whose `agency_column` is its tenant id; a table without
    such a column shows an agency nothing."""
    if scope is None or not scope.valid:
        return false()
    if scope.is_agency:
        return agency_column == scope.unit if agency_column is not None else false()
    own = unit_column.startswith(scope.unit, autoescape=True)
    if viewers is None:
        return own
    viewed = exists().where(viewers.correlation, viewers.unit.startswith(scope.unit, autoescape=True))
    return or_(own, viewed)


# the per-transaction settings row-level security reads (see UnitOfWork.scoped and the migrations)
SCOPE_UNIT_SETTING = "app.scope_unit"
SCOPE_AGENCY_SETTING = "app.scope_agency"


def scope_settings(scope: Scope | None) -> dict[str, str]:
    """What the database is told about the caller: the unit prefix or the agency id, the other one
    empty; both empty (nothing visible) without a valid scope."""
    unit = scope.unit if scope is not None and scope.valid and not scope.is_agency else ""
    agency = scope.unit if scope is not None and scope.valid and scope.is_agency else ""
    return {SCOPE_UNIT_SETTING: unit, SCOPE_AGENCY_SETTING: agency}


class CurrentScope(DependencyProvider):
    """Gives a worker the caller's scope from the context data, or None when there is none."""

    def get_dependency(self, worker_ctx) -> Scope | None:
        return Scope.from_context(worker_ctx.context_data)


class Role:
    INTAKE_CLERK = "intake_clerk"
    MEDIATOR = "mediator"
    SUPERVISOR = "supervisor"
    TENANT_ADMIN = "tenant_admin"
    AGENCY_LIAISON = "agency_liaison"
    OPS = "ops"
    PLATFORM_ADMIN = "platform_admin"


# what a unit's staff may hold; the demo account of a unit holds all of them
UNIT_ROLES = frozenset({Role.INTAKE_CLERK, Role.MEDIATOR, Role.SUPERVISOR, Role.TENANT_ADMIN})
# the roles of staff handling cases: with one of them, the responsible unit sees personal data in full
CASE_ROLES = frozenset({Role.INTAKE_CLERK, Role.MEDIATOR, Role.SUPERVISOR})
