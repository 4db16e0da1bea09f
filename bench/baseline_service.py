"""The bare nameko ceiling for `bench.submit`: the smallest shape of "take a submission, announce it".

`BaselineService.submit` is an `@rpc` method that dispatches one nameko event and returns;
`BaselineSink` handles that event and only counts it. No database, no validation, no outbox: what
is left is nameko's own RPC and event machinery on this machine's RabbitMQ. Run each class in its
own `nameko run` process (as the platform runs each service), with the platform's nameko.yaml:

    nameko run --config deploy/nameko.yaml bench.baseline_service:BaselineService
    nameko run --config deploy/nameko.yaml bench.baseline_service:BaselineSink
"""

from __future__ import annotations

from typing import Any, ClassVar

from nameko.events import EventDispatcher, event_handler
from nameko.rpc import rpc

SOURCE = "bench_baseline"
EVENT = "submitted"


class BaselineService:
    name = SOURCE

    dispatch = EventDispatcher()

    @rpc
    def submit(self, submission: dict[str, Any]) -> dict[str, str]:
        self.dispatch(EVENT, submission)
        return {"status": "received"}

    @rpc
    def ping(self) -> str:
        return "pong"


class BaselineSink:
    name = "bench_baseline_sink"

    # nameko makes a service instance per worker: the count lives on the class, one per process.
    # Workers are greenthreads and `+=` does not yield, so no lock is needed.
    handled: ClassVar[int] = 0

    @event_handler(SOURCE, EVENT)
    def on_submitted(self, submission: dict[str, Any]) -> None:
        BaselineSink.handled += 1

    @rpc
    def handled_count(self) -> int:
        return BaselineSink.handled
