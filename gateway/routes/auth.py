"""Login: staff exchange a username and password for a bearer token."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel
from sqlalchemy.orm import Session

from gateway import auth
from gateway.errors import problem

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    tenant: str
    roles: list[str]


@router.post("/token", response_model=Token)
async def login(request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Any:
    def check() -> auth.Staff:
        with Session(request.app.state.engine) as session:
            return auth.authenticate(session, form.username, form.password)

    try:
        staff = await run_in_threadpool(check)
    except auth.InvalidCredentials:
        return problem(401, "invalid_credentials", "wrong username or password")
    config = request.app.state.config
    return Token(
        access_token=auth.issue_token(staff, config.jwt_secret, config.token_ttl_seconds),
        expires_in=config.token_ttl_seconds,
        tenant=staff.tenant,
        roles=sorted(staff.roles),
    )
