"""The tenant scope that travels with every RPC and event, and the one rule that applies it.

The gateway puts the caller's scope into nameko context data (message headers prefixed
`nameko.`); services read it with the `CurrentScope` dependency and filter every query with
`scope_clause`, so no query decides visibility on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nameko.extensions import DependencyProvider
from sqlalchemy import ColumnElement, false

from common.divisions import covers, is_unit_code

SCOPE_HEADER = "tenant_scope"
USER_HEADER = "user"
ROLES_HEADER = "roles"


@dataclass(frozen=True)
class Scope:
    """Who is asking: the unit (division code) at the top of what they may see, and their roles."""

    unit: str
    user: str = ""
    roles: frozenset[str] = field(default_factory=frozenset)

    def sees(self, unit_code: str | None) -> bool:
        return unit_code is not None and covers(self.unit, unit_code)

    def to_context(self) -> dict[str, str]:
        return {SCOPE_HEADER: self.unit, USER_HEADER: self.user, ROLES_HEADER: ",".join(sorted(self.roles))}

    @classmethod
    def from_context(cls, data: dict) -> Scope | None:
        unit = data.get(SCOPE_HEADER)
        if not unit or not is_unit_code(unit):
            return None
        roles = frozenset(r for r in str(data.get(ROLES_HEADER, "")).split(",") if r)
        return cls(unit=unit, user=str(data.get(USER_HEADER, "")), roles=roles)


def scope_clause(column: ColumnElement[str], scope: Scope | None) -> ColumnElement[bool]:
    """The WHERE clause for rows whose unit lies in the caller's subtree; nothing without a scope."""
    if scope is None:
        return false()
    return column.startswith(scope.unit, autoescape=True)


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
