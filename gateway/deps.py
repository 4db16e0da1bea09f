"""What endpoints depend on: the RPC client, the identity database, and the calling staff member."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from gateway import auth
from gateway.rpc import RpcClient

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token")


def rpc(request: Request) -> RpcClient:
    return request.app.state.rpc


def identity_db(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine) as session:
        yield session


def current_staff(request: Request, token: Annotated[str, Depends(oauth2)]) -> auth.Staff:
    try:
        return auth.read_token(token, request.app.state.config.jwt_secret)
    except auth.InvalidToken as exc:
        raise HTTPException(
            401, "the token is missing, invalid or expired; log in again", headers={"WWW-Authenticate": "Bearer"}
        ) from exc


Staff = Annotated[auth.Staff, Depends(current_staff)]
Rpc = Annotated[RpcClient, Depends(rpc)]
IdentityDb = Annotated[Session, Depends(identity_db)]
