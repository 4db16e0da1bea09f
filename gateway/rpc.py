"""A small asyncio client speaking nameko's RPC protocol over one AMQP connection.

Requests go to the `nameko-rpc` exchange with routing key `service.method`, a JSON body
`{"args", "kwargs"}`, `reply_to` our exclusive reply queue and a `correlation_id`; context data
(the caller's tenant scope) travels as `nameko.`-prefixed headers, exactly as nameko's own proxies
send it. Replies `{"result", "error"}` resolve the waiting future. One connection serves every
concurrent request of the process, unlike a pool of blocking standalone proxies.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage
from aio_pika.exceptions import DeliveryError

from common.telemetry import rpc_client_span

RPC_EXCHANGE = "nameko-rpc"


class RemoteError(Exception):
    """A service raised: `exc_type` is the exception's class name, `value` its message."""

    def __init__(self, exc_type: str, value: str) -> None:
        super().__init__(f"{exc_type}: {value}")
        self.exc_type = exc_type
        self.value = value


class ServiceUnavailable(Exception):
    """Nobody consumes the service's queue, or it did not answer in time."""


class RpcClient:
    def __init__(self, amqp_uri: str, timeout: float = 10.0) -> None:
        self.amqp_uri = amqp_uri
        self.timeout = timeout
        self._pending: dict[str, asyncio.Future[Any]] = {}

    async def start(self) -> None:
        self._connection = await aio_pika.connect_robust(self.amqp_uri)
        self._channel = await self._connection.channel(publisher_confirms=True)
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
        correlation_id = uuid.uuid4().hex
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[correlation_id] = future
        headers: dict[str, Any] = {f"nameko.{key}": value for key, value in (context or {}).items()}
        headers["nameko.call_id_stack"] = [f"gateway.{method}.{correlation_id}"]
        try:
            # a CLIENT span whose context travels as `nameko.traceparent` (no-op when tracing is off)
            with rpc_client_span(service, method, headers):
                message = aio_pika.Message(
                    json.dumps({"args": args, "kwargs": kwargs}).encode(),
                    content_type="application/json",
                    correlation_id=correlation_id,
                    reply_to=self._reply_queue.name,
                    headers=headers,
                )
                try:
                    await self._exchange.publish(message, routing_key=f"{service}.{method}", mandatory=True)
                except DeliveryError as exc:
                    raise ServiceUnavailable(f"service {service!r} is not running") from exc
                try:
                    return await asyncio.wait_for(future, timeout or self.timeout)
                except TimeoutError as exc:
                    raise ServiceUnavailable(f"service {service!r} did not answer in time") from exc
        finally:
            self._pending.pop(correlation_id, None)

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        future = self._pending.get(message.correlation_id or "")
        if future is None or future.done():
            return
        body = json.loads(message.body)
        error = body.get("error")
        if error:
            future.set_exception(RemoteError(error.get("exc_type", "Exception"), error.get("value", "")))
        else:
            future.set_result(body.get("result"))
