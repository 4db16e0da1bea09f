"""Supervision orders (督办, services/routing/supervision.py): a higher unit's order to a lower one
about a case, its clock, the answer and what became of it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from common.clocks import Colour
from common.contracts.answers import Answer, UnitRef

State = Literal["open", "answered", "returned", "accepted", "withdrawn"]


class OrderClock(Answer):
    kind: str
    started_at: datetime
    deadline: datetime
    remaining_seconds: int
    colour: Colour
    paused: bool
    stopped_at: datetime | None
    met: bool | None
    unit: str
    tier: str


class OrderStep(Answer):
    step: str
    unit: str
    detail: dict[str, Any]
    actor: str
    at: datetime


class SupervisionOrder(Answer):
    id: uuid.UUID
    complaint_id: uuid.UUID
    from_unit: UnitRef
    sent_by: str
    to_unit: UnitRef
    follows_case: bool
    instruction: str
    state: State
    sent_at: datetime
    working_days: int
    deadline: datetime
    clock: OrderClock
    overdue: bool = Field(description="waiting for an answer past its deadline")
    overdue_at: datetime | None
    answer: str | None
    attachments: list[str]
    answered_at: datetime | None
    answered_by: str | None
    return_reason: str | None
    closed_at: datetime | None
    history: list[OrderStep]
    allowed_actions: list[Literal["answer", "accept", "return"]] = Field(
        default_factory=list, description="what the caller may do on the order now"
    )
