"""The answers of the services' RPCs and of the gateway's routes, one module per area: what each
field is, so the OpenAPI document shows the real shapes and a field a service adds without
declaring it fails (`extra="forbid"`: FastAPI checks every answer against its route's model).

Values keep the form they travel in as JSON: instants, days and money are strings (ISO 8601,
decimal), so an answer passes through a model unchanged. A field a service sometimes leaves out is
optional; routes answer with `response_model_exclude_unset`, so it stays left out.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, WithJsonSchema


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


Instant = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
Day = Annotated[str, WithJsonSchema({"type": "string", "format": "date"})]
Money = Annotated[str, WithJsonSchema({"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "description": "元, decimal"})]
# a figure that is a whole number or not, as computed (a rate, an average)
Number = int | float


class UnitRef(Answer):
    """A unit (or an agency) as answers name it."""

    code: str
    name: str
    tier: str
