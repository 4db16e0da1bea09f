"""Login, refresh and logout: staff exchange a username and password for a short-lived bearer token
and a refresh token, rotate the refresh token for new pairs, and end the session."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from common.bounds import control_character_problem
from gateway import auth, refresh, throttle
from gateway.deps import Staff
from gateway.errors import problem

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

MAX_USERNAME = 64


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="seconds the access token is valid")
    refresh_token: str = Field(description="single use: exchange it at /api/v1/auth/refresh for a new pair")
    refresh_expires_in: int = Field(description="seconds the refresh token is valid")
    tenant: str
    roles: list[str]


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str = Field(min_length=1, max_length=200)


class LogoutRequest(RefreshRequest):
    everywhere: bool = Field(default=False, description="also end every other session of the user")


class Principal(BaseModel):
    username: str
    tenant: str
    roles: list[str]
    kind: str = Field(description="user (bearer token) or api_key")


def _pair(request: Request, staff: auth.Staff, refresh_token: str) -> Token:
    config = request.app.state.config
    return Token(
        access_token=auth.issue_token(staff, config.jwt_secret, config.token_ttl_seconds),
        expires_in=config.token_ttl_seconds,
        refresh_token=refresh_token,
        refresh_expires_in=config.refresh_ttl_seconds,
        tenant=staff.tenant,
        roles=sorted(staff.roles),
    )


@router.post(
    "/token",
    response_model=Token,
    responses={401: {"description": "wrong username or password"}, 429: {"description": "too many failed logins"}},
)
async def login(request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Any:
    """Log in. After 5 failed logins for a username from one address the next must wait 30 seconds,
    doubling with each further failure (at most 15 minutes); after 20 from one address within 15
    minutes the address waits. Meanwhile the answer is 429 with Retry-After, even for the right
    password. Failures from elsewhere do not delay the owner; a successful login resets the
    username's count at its address."""
    engine = request.app.state.engine
    config = request.app.state.config
    limits = throttle.Limits.from_settings(config)
    username = form.username.strip().lower()[:MAX_USERNAME]
    client_ip = throttle.client_address(request)
    for field, value in (("username", form.username), ("password", form.password)):
        # a multipart form passes gateway.plain_text unread
        if found := control_character_problem(value):
            return problem(422, "invalid_input", f"{field}: {found}", [{"field": field, "message": found}])

    def attempt() -> tuple[auth.Staff, str]:
        throttle.reserve(engine, username, client_ip, limits)
        try:
            with Session(engine) as session, session.begin():
                staff = auth.authenticate(session, username, form.password)
                refresh_token = refresh.issue(session, staff, config.refresh_ttl_seconds)
        except auth.InvalidCredentials:
            throttle.failed(engine, limits)
            raise
        throttle.succeeded(engine, username, client_ip)
        return staff, refresh_token

    try:
        staff, refresh_token = await run_in_threadpool(attempt)
    except throttle.Throttled as exc:
        what = "for this account from this address" if exc.reason == "username" else "from this address"
        response = problem(
            429,
            "too_many_attempts",
            f"too many failed logins {what}; try again in {exc.retry_after} seconds",
        )
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except auth.InvalidCredentials:
        return problem(401, "invalid_credentials", "wrong username or password")
    return _pair(request, staff, refresh_token)


@router.post("/refresh", response_model=Token, responses={401: {"description": "the refresh token is not usable"}})
async def refresh_tokens(request: Request, body: RefreshRequest) -> Any:
    """Exchange a refresh token for a new access token and a new refresh token. The old refresh
    token stops working; presenting it again revokes the whole session."""
    config = request.app.state.config
    try:
        staff, refresh_token = await run_in_threadpool(
            refresh.rotate, request.app.state.engine, body.refresh_token, config.refresh_ttl_seconds
        )
    except refresh.RefreshRefused as exc:
        return problem(401, "invalid_refresh_token", f"{exc}; log in again")
    return _pair(request, staff, refresh_token)


@router.post("/logout", status_code=204, response_class=Response)
async def logout(request: Request, body: LogoutRequest) -> Response:
    """End the session of a refresh token (and with `everywhere`, every session of its user,
    including access tokens already issued). Answers 204 even for an unknown token."""
    await run_in_threadpool(refresh.logout, request.app.state.engine, body.refresh_token, everywhere=body.everywhere)
    return Response(status_code=204)


@router.get("/me", response_model=Principal)
async def me(staff: Staff) -> Any:
    """Who the credentials (bearer token or X-API-Key) stand for, as of now."""
    return Principal(username=staff.username, tenant=staff.tenant, roles=sorted(staff.roles), kind=staff.kind)
