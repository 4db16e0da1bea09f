"""The party a settle-first request acts for: a complainant (tracking number and phone) or a business
(credit code), as a party token says. Parties (branch `parties`, one-time SMS codes) issues these
tokens after verifying the code; until it is merged this module reads the claims it will carry
(`typ: "party"`, signed with JWT_SECRET). Replace `current_party` with parties' verifier at merge."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated

import jwt
from fastapi import Depends, HTTPException, Request
from fastapi.security import OAuth2PasswordBearer

_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


@dataclass(frozen=True)
class Party:
    kind: str  # complainant | business
    tracking_no: str | None = None  # a complainant's case
    phone: str | None = None  # the complainant's phone, as the code was sent to it
    credit_code: str | None = None  # a business


def issue(party: Party, secret: str, ttl_seconds: int = 1800) -> str:
    now = int(time.time())
    claims = {"typ": "party", "party": party.kind, "iat": now, "exp": now + ttl_seconds}
    claims.update({k: v for k, v in vars(party).items() if k != "kind" and v is not None})
    return jwt.encode(claims, secret, algorithm="HS256")


def current_party(request: Request, token: Annotated[str | None, Depends(_bearer)]) -> Party:
    message = "a party token is needed (sign in with the SMS code sent to your phone)"
    if token is None:
        raise HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})
    try:
        claims = jwt.decode(token, request.app.state.config.jwt_secret, algorithms=["HS256"])
    except jwt.PyJWTError as exc:
        raise HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"}) from exc
    if claims.get("typ") != "party" or claims.get("party") not in ("complainant", "business"):
        raise HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})
    return Party(
        kind=claims["party"],
        tracking_no=claims.get("tracking_no"),
        phone=claims.get("phone"),
        credit_code=claims.get("credit_code"),
    )


def business(party: Annotated[Party, Depends(current_party)]) -> Party:
    if party.kind != "business" or not party.credit_code:
        raise HTTPException(403, "this is for a business signed in with its credit code")
    return party


def complainant(party: Annotated[Party, Depends(current_party)]) -> Party:
    if party.kind != "complainant" or not party.tracking_no or not party.phone:
        raise HTTPException(403, "this is for the complainant signed in for the case")
    return party


BusinessParty = Annotated[Party, Depends(business)]
ComplainantParty = Annotated[Party, Depends(complainant)]
