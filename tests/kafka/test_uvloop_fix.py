"""aiokafka on uvloop when the broker drops a connection (``leadstream.kafka.uvloop_fix``).

A broker killed with requests in flight resets its connections. For a loop turn or more the
socket is closed while aiokafka still holds the connection (its reader got an error, not an
end of stream, so the connection still reports itself connected). The tests build that state
by aborting the socket under a connection and keeping its ``connected()`` true until aiokafka
closes it. They reach into aiokafka's connection objects on purpose: the shim patches those.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest
import uvloop
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import KafkaConnectionError
from aiokafka.protocol.metadata import MetadataRequest

from leadstream.kafka import uvloop_fix as kafka_uvloop
from leadstream.settings import Settings

pytestmark = pytest.mark.integration
T = TypeVar("T")


def on_uvloop(coro: Coroutine[Any, Any, T]) -> T:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


async def dropped_connection(client: AIOKafkaClient) -> Any:
    """The client's connection to its broker, reset under it, before aiokafka has noticed."""
    await client.bootstrap()
    conn = await client._get_conn(client.get_random_node())
    conn._writer.transport.abort()  # uvloop closes the socket's handle on the next loop turn
    conn.connected = lambda: conn._reader is not None  # a reset, unlike an EOF, leaves this true
    return conn


def test_a_request_on_a_dropped_connection_is_a_connection_error(settings: Settings) -> None:
    kafka_uvloop.install()

    async def scenario() -> None:
        client = AIOKafkaClient(bootstrap_servers=settings.kafka_bootstrap)
        try:
            conn = await dropped_connection(client)
            await asyncio.sleep(0)
            with pytest.raises(KafkaConnectionError):
                await conn.send(MetadataRequest([]))
            assert not conn.connected()  # closed as broken: the next request opens a new one
        finally:
            await client.close()

    on_uvloop(scenario())


def test_metadata_refresh_survives_a_connection_dropped_under_it(settings: Settings) -> None:
    """Unpatched, the refresh's RuntimeError ends the metadata task and this waits forever."""
    kafka_uvloop.install()

    async def scenario() -> None:
        client = AIOKafkaClient(bootstrap_servers=settings.kafka_bootstrap, retry_backoff_ms=50)
        try:
            await dropped_connection(client)  # the refresh below runs while aiokafka has not noticed
            async with asyncio.timeout(10):
                while not await client.force_metadata_update():  # the first try may fail; a later one not
                    await asyncio.sleep(0.05)
            assert not client._sync_task.done()
        finally:
            await client.close()

    on_uvloop(scenario())
