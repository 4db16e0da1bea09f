"""The platform's own answers: health (`GET /healthz`) and each service's `ping`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from common.contracts.answers import Answer


class Health(Answer):
    status: Literal["ok", "degraded"]
    services: dict[str, str] = Field(description="each service: `ok`, or why not")


class Pong(Answer):
    service: str
    database: bool
