"""What endpoints depend on: the RPC client, the identity database, and the calling staff member."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from sqlalchemy.orm import Session

from gateway import apikeys, auth
from gateway.rpc import RpcClient

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="an agency system's API key (instead of a bearer token)"
)


def rpc(request: Request) -> RpcClient:
    return request.app.state.rpc


def identity_db(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine) as session:
        yield session


def _unauthorized(message: str, scheme: str = "Bearer") -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": scheme})


def current_staff(
    request: Request,
    token: Annotated[str | None, Depends(oauth2)],
    api_key: Annotated[str | None, Depends(api_key_header)],
) -> auth.Staff:
    """The caller: a staff member by bearer token, or an agency system by API key. A plain `def`,
    so FastAPI runs its one indexed lookup in the identity schema in the threadpool."""
    engine = request.app.state.engine
    if api_key is not None:
        if token is not None:
            raise _unauthorized("send either a bearer token or an API key, not both")
        with engine.connect() as conn:
            principal = apikeys.principal(conn, api_key)
        if principal is None:
            raise _unauthorized("the API key is unknown, rotated or revoked", scheme="ApiKey")
        return principal
    message = "the token is missing, invalid, expired or revoked; log in again"
    if token is None:
        raise _unauthorized(message)
    try:
        claimed = auth.read_token(token, request.app.state.config.jwt_secret)
        with engine.connect() as conn:
            return auth.current_user(conn, claimed)
    except auth.InvalidToken as exc:
        raise _unauthorized(message) from exc


Staff = Annotated[auth.Staff, Depends(current_staff)]
Rpc = Annotated[RpcClient, Depends(rpc)]
IdentityDb = Annotated[Session, Depends(identity_db)]
