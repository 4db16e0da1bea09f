"""Admission control for submissions: refuse at once what the platform cannot file in time.

Offered more complaints than it can file, the platform used to queue them all: every caller waited
out the RPC timeout, and most were told 503 after 10 s. Now at most `MAX_SUBMISSIONS_IN_FLIGHT`
submissions wait on intake per gateway process; one more is answered 503 `overloaded` with
`Retry-After` in milliseconds, before anything is sent to intake (so it is certainly not filed). The
default and why: docs/performance.md, "Admission control".
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, Request

# how long a refused submitter should wait: long enough for the admitted ones to be answered
OVERLOADED_RETRY_AFTER_SECONDS = 2


class Overloaded(Exception):
    """The gateway already has its limit of submissions in flight."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"{limit} complaints are being filed at this moment, the most this server takes at once")
        self.retry_after = OVERLOADED_RETRY_AFTER_SECONDS


class Admission:
    """A bound on the submissions in flight in this process (one event loop: a plain counter)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0

    @contextmanager
    def slot(self) -> Iterator[None]:
        if self.in_flight >= self.limit:
            raise Overloaded(self.limit)
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1


async def _admitted(request: Request) -> AsyncIterator[None]:
    # async and the endpoint's first dependency: refused before any other work (no threadpool hop for
    # the credentials, no validation of the body)
    with request.app.state.admission.slot():
        yield


Admitted = Annotated[None, Depends(_admitted)]
