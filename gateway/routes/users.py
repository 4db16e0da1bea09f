"""User and API key administration: tenant admins manage their own subtree, platform admins
everything (the rules are in gateway/identity.py and docs/identity.md).

Users and keys outside the caller's subtree answer 404, like those that do not exist. Passwords
and keys are never returned, except a new API key, once, when it is created or rotated.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from common.tenancy import Role
from gateway import accounts, apikeys, auth, identity, refresh
from gateway.deps import Rpc, Staff
from gateway.models import ApiKey, IdentityAudit, User

router = APIRouter(prefix="/api/v1", tags=["users"])

RoleName = Literal["intake_clerk", "mediator", "supervisor", "tenant_admin", "agency_liaison", "ops", "platform_admin"]
# usernames are case-insensitive: stored (and looked up at login) in lower case
Username = Annotated[
    str,
    BeforeValidator(lambda v: v.strip().lower() if isinstance(v, str) else v),
    StringConstraints(pattern=identity.USERNAME_PATTERN),
]
Password = Annotated[str, Field(min_length=12, max_length=200, description="at least 12 characters")]
TenantId = Annotated[
    str,
    Field(max_length=64, description="a division code (`330681109`) or `<unit code>-<agency type>` (`330681-police`)"),
]


def _tenant(value: str) -> str:
    identity.parse_tenant(value)  # ValueError becomes a 422 naming the field
    return value


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Username = Field(description="3-64 characters: a-z, 0-9, and . _ @ - (stored lowercase)")
    password: Password
    tenant: TenantId
    roles: list[RoleName] = Field(min_length=1, max_length=len(identity.ALL_ROLES))

    _check_tenant = field_validator("tenant")(_tenant)


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    roles: list[RoleName] | None = Field(default=None, min_length=1, max_length=len(identity.ALL_ROLES))
    disabled: bool | None = Field(default=None, description="disabling ends every session of the user at once")

    @model_validator(mode="after")
    def _something_to_change(self) -> UserPatch:
        if self.roles is None and self.disabled is None:
            raise ValueError("give roles, disabled, or both")
        return self


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: Password
    current_password: str | None = Field(
        default=None, max_length=200, description="required when changing your own password"
    )


class UserOut(BaseModel):
    username: str
    tenant: str
    roles: list[str]
    disabled: bool
    demo: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            username=user.username,
            tenant=user.tenant_code,
            roles=sorted(user.roles),
            disabled=user.disabled,
            demo=user.demo,
            created_at=user.created_at,
            updated_at=user.updated_at,
        )


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant: TenantId = Field(description="an agency tenant: `<unit code>-<agency type>`")
    name: str = Field(min_length=1, max_length=100, description="what the key is for, e.g. the system using it")

    _check_tenant = field_validator("tenant")(_tenant)


class ApiKeyRotate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grace_seconds: int = Field(
        default=0,
        ge=0,
        le=apikeys.MAX_GRACE_SECONDS,
        description="how long the previous key keeps working (0: it stops at once)",
    )


class ApiKeyOut(BaseModel):
    id: str
    tenant: str
    name: str
    prefix: str
    created_by: str
    created_at: datetime
    rotated_at: datetime | None
    revoked_at: datetime | None
    previous_valid_until: datetime | None

    @classmethod
    def of(cls, row: ApiKey) -> ApiKeyOut:
        return cls(
            id=str(row.id),
            tenant=row.tenant_code,
            name=row.name,
            prefix=row.prefix,
            created_by=row.created_by,
            created_at=row.created_at,
            rotated_at=row.rotated_at,
            revoked_at=row.revoked_at,
            previous_valid_until=row.previous_valid_until,
        )


class ApiKeyIssued(ApiKeyOut):
    key: str = Field(description="the key itself: shown only now, store it safely")


def _invalid(field: str, message: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ("body", field), "msg": message, "type": "value_error"}])


def manager(staff: Staff) -> auth.Staff:
    if staff.kind != "user" or not identity.MANAGER_ROLES & staff.roles:
        raise HTTPException(403, "only a tenant admin or a platform admin manages users and API keys")
    return staff


Manager = Annotated[auth.Staff, Depends(manager)]


def _engine(request: Request):
    return request.app.state.engine


def _require_manageable(staff: auth.Staff, tenant: str) -> None:
    if not identity.can_manage(staff.tenant, staff.roles, tenant):
        raise HTTPException(403, f"you manage tenant {staff.tenant} and the units below it only, not {tenant}")


async def _require_known_unit(client: Rpc, tenant: str) -> None:
    unit = identity.parse_tenant(tenant).unit
    served = await client.call("routing", "served_divisions", [unit])
    if not served.get(unit):
        raise _invalid("tenant", f"{unit} is not a division code served by an onboarded unit")


def _audit(session: Session, staff: auth.Staff, action: str, tenant: str, subject: str, **detail: Any) -> None:
    session.add(IdentityAudit(actor=staff.username, action=action, tenant=tenant, subject=subject, detail=detail))


def _visible_user(session: Session, staff: auth.Staff, username: str, *, lock: bool = False) -> User:
    query = select(User).where(User.username == username.lower())
    user = session.scalar(query.with_for_update() if lock else query)
    if user is None or not identity.can_manage(staff.tenant, staff.roles, user.tenant_code):
        raise HTTPException(404, f"no user {username!r}")
    return user


def _require_power_over(staff: auth.Staff, user: User) -> None:
    if Role.PLATFORM_ADMIN in user.roles and Role.PLATFORM_ADMIN not in staff.roles:
        raise HTTPException(403, "only a platform admin manages a platform admin")


# --- users --------------------------------------------------------------------------------------


@router.post("/users", status_code=201, response_model=UserOut)
async def create_user(body: UserCreate, staff: Manager, client: Rpc, request: Request) -> Any:
    """Create a user of a tenant in your subtree, holding exactly the roles given."""
    if body.password.strip().lower() == body.username:
        raise _invalid("password", "must not be the username")
    _require_manageable(staff, body.tenant)
    problems = identity.tenant_role_problems(identity.parse_tenant(body.tenant), body.roles)
    if problems:
        raise _invalid("roles", "; ".join(problems))
    refused = identity.grant_problems(staff.roles, [], body.roles)
    if refused:
        raise HTTPException(403, "; ".join(refused))
    await _require_known_unit(client, body.tenant)

    def create() -> UserOut:
        try:
            with Session(_engine(request)) as session, session.begin():
                user = accounts.create_user(session, body.username, body.password, body.tenant, body.roles)
                _audit(session, staff, "user_created", user.tenant_code, user.username, roles=sorted(user.roles))
                session.flush()
                session.refresh(user)
                return UserOut.of(user)
        except IntegrityError as exc:
            raise HTTPException(409, f"the username {body.username!r} is taken") from exc

    return await run_in_threadpool(create)


@router.get("/users", response_model=list[UserOut])
def list_users(
    staff: Manager,
    request: Request,
    tenant: Annotated[str | None, Query(max_length=64, description="only this tenant and its subtree")] = None,
    after: Annotated[str | None, Query(max_length=64, description="the last username of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Any:
    """Users of your subtree, by username."""
    query = select(User).order_by(User.username).limit(limit)
    if Role.PLATFORM_ADMIN not in staff.roles:
        query = query.where(identity.subtree_clause(User.tenant_code, staff.tenant))
    if tenant is not None:
        if not identity.is_tenant_id(tenant):
            raise RequestValidationError(
                [{"loc": ("query", "tenant"), "msg": "not a tenant id", "type": "value_error"}]
            )
        query = query.where(identity.subtree_clause(User.tenant_code, tenant))
    if after is not None:
        query = query.where(User.username > after)
    with Session(_engine(request)) as session:
        return [UserOut.of(user) for user in session.scalars(query)]


class AuditRow(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    tenant: str
    subject: str
    detail: dict[str, Any]


@router.get("/identity/audit", response_model=list[AuditRow])
def identity_audit(
    staff: Manager,
    request: Request,
    tenant: Annotated[str | None, Query(max_length=64, description="this tenant and its subtree")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> Any:
    """Changes to the accounts and API keys of your subtree, newest first: created, roles changed,
    disabled or enabled, password set, keys issued, rotated and revoked."""
    code = tenant or staff.tenant
    if not identity.is_tenant_id(code):
        raise _invalid("tenant", "not a tenant id")
    if not identity.can_manage(staff.tenant, staff.roles, code):
        raise HTTPException(404, f"no tenant {code!r} in your subtree")
    query = (
        select(IdentityAudit)
        .where(identity.subtree_clause(IdentityAudit.tenant, code))
        .order_by(IdentityAudit.id.desc())
        .limit(limit)
    )
    with Session(_engine(request)) as session:
        return [AuditRow.model_validate(row, from_attributes=True) for row in session.scalars(query)]


@router.get("/users/{username}", response_model=UserOut)
def get_user(username: str, staff: Manager, request: Request) -> Any:
    with Session(_engine(request)) as session:
        return UserOut.of(_visible_user(session, staff, username))


@router.patch("/users/{username}", response_model=UserOut)
def update_user(username: str, body: UserPatch, staff: Manager, request: Request) -> Any:
    """Change a user's roles (effective on their next request) or disable them (their tokens stop
    working at once) or enable them again."""
    with Session(_engine(request)) as session, session.begin():
        user = _visible_user(session, staff, username, lock=True)
        _require_power_over(staff, user)
        before = {"roles": sorted(user.roles), "disabled": user.disabled}
        if body.roles is not None:
            problems = identity.tenant_role_problems(identity.parse_tenant(user.tenant_code), body.roles)
            if problems:
                raise _invalid("roles", "; ".join(problems))
            refused = identity.grant_problems(staff.roles, user.roles, body.roles)
            if refused:
                raise HTTPException(403, "; ".join(refused))
            user.roles = sorted(set(body.roles))
        if body.disabled is not None and body.disabled != user.disabled:
            if body.disabled and user.username == staff.username:
                raise HTTPException(403, "you cannot disable your own account")
            user.disabled = body.disabled
            if body.disabled:
                refresh.revoke_user(session, user.username)
        after = {"roles": sorted(user.roles), "disabled": user.disabled}
        if after != before:
            _audit(session, staff, "user_changed", user.tenant_code, user.username, before=before, after=after)
        session.flush()
        session.refresh(user)
        return UserOut.of(user)


@router.post("/users/{username}/password", status_code=204, response_class=Response)
def set_password(username: str, body: PasswordChange, staff: Staff, request: Request) -> Response:
    """Set a password: your own (give `current_password`), or as an admin one of your subtree.
    Every session of the user ends; they log in again with the new password."""
    with Session(_engine(request)) as session, session.begin():
        if staff.kind == "user" and username.lower() == staff.username:
            user = session.scalar(select(User).where(User.username == staff.username).with_for_update())
            if user is None:
                raise HTTPException(404, f"no user {username!r}")
            if body.current_password is None:
                raise _invalid("current_password", "required to change your own password")
            if not auth.verify_password(user.password_hash, body.current_password):
                raise _invalid("current_password", "is not your current password")
        else:
            user = _visible_user(session, manager(staff), username, lock=True)
            _require_power_over(staff, user)
        if body.password.strip().lower() == user.username:
            raise _invalid("password", "must not be the username")
        user.password_hash = auth.hash_password(body.password)
        refresh.revoke_user(session, user.username)
        _audit(session, staff, "password_set", user.tenant_code, user.username, own=staff.username == user.username)
    return Response(status_code=204)


# --- API keys -----------------------------------------------------------------------------------


def _visible_key(session: Session, staff: auth.Staff, key_id: str, *, lock: bool = False) -> ApiKey:
    try:
        key = uuid.UUID(key_id)
    except ValueError:
        key = None
    query = select(ApiKey).where(ApiKey.id == key)
    row = session.scalar(query.with_for_update() if lock else query) if key else None
    if row is None or not identity.can_manage(staff.tenant, staff.roles, row.tenant_code):
        raise HTTPException(404, f"no API key {key_id!r}")
    return row


@router.post("/api-keys", status_code=201, response_model=ApiKeyIssued)
async def create_api_key(body: ApiKeyCreate, staff: Manager, client: Rpc, request: Request) -> Any:
    """Create an API key for an agency system of your subtree. The key is in this answer only."""
    if not identity.parse_tenant(body.tenant).is_agency:
        raise _invalid("tenant", "API keys belong to agency tenants: `<unit code>-<agency type>`")
    _require_manageable(staff, body.tenant)
    served = await client.call("routing", "served_divisions", [body.tenant])
    if not served.get(body.tenant):
        raise _invalid("tenant", f"{body.tenant} is not an onboarded agency; onboard it first (POST /api/v1/tenants)")

    def create() -> ApiKeyIssued:
        with Session(_engine(request)) as session, session.begin():
            row, key = apikeys.create(session, body.tenant, body.name, staff.username)
            _audit(session, staff, "api_key_created", row.tenant_code, str(row.id), name=row.name, prefix=row.prefix)
            session.refresh(row)
            return ApiKeyIssued(**ApiKeyOut.of(row).model_dump(), key=key)

    return await run_in_threadpool(create)


@router.get("/api-keys", response_model=list[ApiKeyOut])
def list_api_keys(
    staff: Manager,
    request: Request,
    include_revoked: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Any:
    """API keys of your subtree (never the keys themselves)."""
    query = select(ApiKey).order_by(ApiKey.tenant_code, ApiKey.created_at).limit(limit)
    if Role.PLATFORM_ADMIN not in staff.roles:
        query = query.where(identity.subtree_clause(ApiKey.tenant_code, staff.tenant))
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    with Session(_engine(request)) as session:
        return [ApiKeyOut.of(row) for row in session.scalars(query)]


@router.post("/api-keys/{key_id}/rotate", response_model=ApiKeyIssued)
def rotate_api_key(key_id: str, staff: Manager, request: Request, body: ApiKeyRotate | None = None) -> Any:
    """Replace a key. The previous key stops working at once, or after `grace_seconds` (at most a
    day). The new key is in this answer only."""
    with Session(_engine(request)) as session, session.begin():
        row = _visible_key(session, staff, key_id, lock=True)
        if row.revoked_at is not None:
            raise HTTPException(409, "the API key is revoked; create a new one")
        grace = (body or ApiKeyRotate()).grace_seconds
        key = apikeys.rotate(session, row, grace)
        _audit(session, staff, "api_key_rotated", row.tenant_code, str(row.id), prefix=row.prefix, grace_seconds=grace)
        session.refresh(row)
        return ApiKeyIssued(**ApiKeyOut.of(row).model_dump(), key=key)


@router.delete("/api-keys/{key_id}", status_code=204, response_class=Response)
def revoke_api_key(key_id: str, staff: Manager, request: Request) -> Response:
    """Revoke a key (and any previous key still in its grace) at once."""
    with Session(_engine(request)) as session, session.begin():
        row = _visible_key(session, staff, key_id, lock=True)
        if row.revoked_at is None:
            apikeys.revoke(session, row)
            _audit(session, staff, "api_key_revoked", row.tenant_code, str(row.id), name=row.name, prefix=row.prefix)
    return Response(status_code=204)
