"""A small asyncio client speaking nameko's RPC protocol over one AMQP connection.

Requests go to the `nameko-rpc` exchange with routing key `service.method`, a JSON body
`{"args", "kwargs"}`, `reply_to` our exclusive reply queue and a `correlation_id`; context data
(the caller's tenant scope) travels as `nameko.`-prefixed headers, exactly as nameko's own proxies
send it. Replies `{"result", "error"}` resolve the waiting future. One connection serves every
concurrent request of the process, unlike a pool of blocking standalone proxies.

The broker may restart under a running gateway (tests/integration/test_restarts.py): the robust
connection reconnects on its own and redeclares the reply queue, its binding and its consumer. Until
then every call answers `ServiceUnavailable` (the gateway's 503) at once, never an unhandled error:
a publish on the closed channel raises one, and calls waiting for a reply are failed when the
connection drops (their exclusive reply queue went with it, so no reply can come any more).

Likewise when a service's database restarts: the service's call fails with the driver's
`OperationalError` (connection refused, "terminating connection due to administrator command", "the
database system is starting up"), which says nothing about the request and everything about the
moment. Such errors (`UNAVAILABLE_ERRORS`) become `ServiceUnavailable` too, never a 500. The client
tries again, with its `Idempotency-Key`: that also covers the rare commit whose answer was lost.

A 503 for a request that took too long is true as well: the request carries the instant the client
gives up, as its AMQP `expiration` (the broker drops it if it is still queued then) and as the
`nameko.deadline` context data the service checks before it commits (common/deadlines.py).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import aio_pika
import aiormq.exceptions
from aio_pika.abc import AbstractIncomingMessage
from aio_pika.exceptions import DeliveryError

from common.deadlines import deadline_context
from common.errors import DeadlinePassed
from common.telemetry import rpc_client_span

RPC_EXCHANGE = "nameko-rpc"
# remote exception classes that mean "the service's database or broker is unreachable right now":
# SQLAlchemy's (and psycopg2's) OperationalError and InterfaceError, kombu's OperationalError (the
# service could not reach the broker for its own call). A service calling another re-raises the
# inner failure as nameko's RemoteError whose message starts with the inner class name.
UNAVAILABLE_ERRORS = frozenset({"OperationalError", "InterfaceError", "DisconnectionError"})
RECONNECT_SECONDS = 1.0  # how often the robust connection tries the broker again while it is away

# what publishing raises while the broker is away or the robust connection is still reconnecting
# (ChannelInvalidStateError, "channel closed", is a RuntimeError, not an AMQPError)
BROKER_ERRORS = (aiormq.exceptions.AMQPError, aiormq.exceptions.ChannelInvalidStateError, ConnectionError)


class RemoteError(Exception):
    """A service raised: `exc_type` is the exception's class name, `value` its message."""

    def __init__(self, exc_type: str, value: str) -> None:
        super().__init__(f"{exc_type}: {value}")
        self.exc_type = exc_type
        self.value = value


class ServiceUnavailable(Exception):
    """Nobody consumes the service's queue, it did not answer in time, or the broker or its
    database is unreachable (restarting): the gateway's 503, "try again shortly"."""


class RpcClient:
    def __init__(self, amqp_uri: str, timeout: float = 10.0) -> None:
        self.amqp_uri = amqp_uri
        self.timeout = timeout
        self._pending: dict[str, asyncio.Future[Any]] = {}

    async def start(self) -> None:
        self._connection = await aio_pika.connect_robust(self.amqp_uri, reconnect_interval=RECONNECT_SECONDS)
        self._connection.close_callbacks.add(self._on_connection_lost)
        # on_return_raises: a request no queue is bound for (the service never ran) raises DeliveryError
        # at once instead of waiting out the timeout
        self._channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
        self._exchange = await self._channel.declare_exchange(RPC_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
        self._reply_queue = await self._channel.declare_queue(
            f"rpc.reply-gateway-{uuid.uuid4()}", exclusive=True, auto_delete=True
        )
        await self._reply_queue.bind(self._exchange, routing_key=self._reply_queue.name)
        await self._reply_queue.consume(self._on_reply, no_ack=True)

    async def close(self) -> None:
        await self._connection.close()

    async def call(
        self,
        service: str,
        method: str,
        *args: Any,
        context: dict[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> Any:
        wait = timeout or self.timeout
        loop = asyncio.get_running_loop()
        gives_up = loop.time() + wait  # publishing and waiting for the reply share the one timeout
        correlation_id = uuid.uuid4().hex
        future: asyncio.Future[Any] = loop.create_future()
        self._pending[correlation_id] = future
        headers: dict[str, Any] = {f"nameko.{key}": value for key, value in (context or {}).items()}
        headers["nameko.call_id_stack"] = [f"gateway.{method}.{correlation_id}"]
        # the instant we give up, for the service to honour (common/deadlines.py)
        headers.update({f"nameko.{key}": value for key, value in deadline_context(wait).items()})
        try:
            # a CLIENT span whose context travels as `nameko.traceparent` (no-op when tracing is off)
            with rpc_client_span(service, method, headers):
                message = aio_pika.Message(
                    json.dumps({"args": args, "kwargs": kwargs}).encode(),
                    content_type="application/json",
                    correlation_id=correlation_id,
                    reply_to=self._reply_queue.name,
                    headers=headers,
                    # a request still queued when we give up is dropped by the broker, never worked on
                    expiration=wait,
                )
                try:
                    await self._exchange.publish(
                        message, routing_key=f"{service}.{method}", mandatory=True, timeout=wait
                    )
                except DeliveryError as exc:
                    raise ServiceUnavailable(f"service {service!r} is not running") from exc
                except (*BROKER_ERRORS, TimeoutError) as exc:
                    raise ServiceUnavailable("the message broker is not reachable") from exc
                try:
                    return await asyncio.wait_for(future, max(gives_up - loop.time(), 0))
                except TimeoutError as exc:
                    raise ServiceUnavailable(f"service {service!r} did not answer in time") from exc
        finally:
            self._pending.pop(correlation_id, None)

    def _on_connection_lost(self, connection: Any, exc: BaseException | None = None) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ServiceUnavailable("the connection to the message broker was lost"))

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        future = self._pending.get(message.correlation_id or "")
        if future is None or future.done():
            return
        body = json.loads(message.body)
        error = body.get("error")
        if error:
            exc_type, value = error.get("exc_type", "Exception"), error.get("value", "")
            failed = _failed_class(exc_type, value)
            if failed == DeadlinePassed.__name__:  # refused before its commit: nothing was stored
                future.set_exception(ServiceUnavailable(f"the service could not finish in time: {value}"))
            elif failed in UNAVAILABLE_ERRORS:
                future.set_exception(ServiceUnavailable(f"a service's database or broker is unreachable: {exc_type}"))
            else:
                future.set_exception(RemoteError(exc_type, value))
        else:
            future.set_result(body.get("result"))


def _failed_class(exc_type: str, value: str) -> str:
    """The class of the exception that failed the call, also through a service's nested call."""
    if exc_type == "RemoteError":  # nameko's wrapper of a failed nested call: "<inner class> <message>"
        return value.split(" ", 1)[0]
    return exc_type
