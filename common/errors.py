"""Errors that cross RPC and become HTTP answers a person can act on.

nameko sends an exception as its class name and message; the gateway maps the class name to a
status code (`HTTP_STATUS`). Field errors travel as JSON in the message.
"""

from __future__ import annotations

import json


class DomainError(Exception):
    status = 400


class InvalidInput(DomainError):
    """One or more fields are wrong: `fields` is a list of {"field", "message"}."""

    status = 422

    def __init__(self, fields: list[dict[str, str]] | str) -> None:
        self.fields = json.loads(fields) if isinstance(fields, str) else fields
        super().__init__(json.dumps(self.fields, ensure_ascii=False))

    @classmethod
    def one(cls, field: str, message: str) -> InvalidInput:
        return cls([{"field": field, "message": message}])


class NotFound(DomainError):
    """Absent or outside the caller's scope: the two answer alike so nobody can probe."""

    status = 404


class Conflict(DomainError):
    """The action is not allowed in the case's current state."""

    status = 409


class Forbidden(DomainError):
    status = 403


class Unauthorized(DomainError):
    """A caller that authenticates by signature (a provider's callback) could not be verified."""

    status = 401


class DeadlinePassed(DomainError):
    """The caller's deadline passed before the work could be committed: nothing was stored (the
    caller, the gateway, has answered 503 or is about to; common/deadlines.py)."""

    status = 503


EXPECTED = (InvalidInput, NotFound, Conflict, Forbidden, Unauthorized, DeadlinePassed)
HTTP_STATUS = {cls.__name__: cls.status for cls in EXPECTED}
