"""Faust's aiokafka transport with a short fetch long-poll and a cheap per-record hand-off.

Faust builds its consumer with ``fetch_max_wait_ms=1500``. aiokafka keeps one fetch in flight
per broker and leaves out of it the partitions whose fetched records are still being handed to
the agents; a record arriving on such a partition then waits for that long-poll to end, up to
1.5 s. Behind a request-reply chain (the sales-OS stages) this was the whole latency: at 100
requests/s, 0.2-5 s from the edge's publish to the agent. Under load fetches return at once
with data, so a short wait costs only a few empty fetches per second when idle.

Faust hands every fetched record to its stream through ``wait_first(callback(message),
suspend_flow.wait())``: four tasks and an ``asyncio.wait`` a record, so that a hand-off blocked
on a full stream buffer can be abandoned when a rebalance suspends the flow. Nearly every
hand-off completes without blocking, so the callback is stepped once in place; only one that
blocks goes on as a task under the full ``wait_first``. Measured on the session scorer's
topic, the hand-off was the largest cost of the worker's event loop after the agents' own work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from faust.transport import drivers
from faust.transport.drivers import aiokafka as faust_aiokafka
from mode.services import WaitResults

SCHEME = "leadstream"


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    fetch_max_wait_ms = 1500  # set by use_fetch_max_wait()

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = self.fetch_max_wait_ms  # read by the fetcher it creates on start
        return consumer


async def _finish(coro: Coroutine[Any, Any, Any], waiting_on: Any) -> Any:
    """Drive a coroutine that suspended on ``waiting_on`` to its end, as a Task would."""
    try:
        while True:
            if waiting_on is None:  # a bare yield (asyncio.sleep(0)): one loop turn
                await asyncio.sleep(0)
            else:
                waiting_on._asyncio_future_blocking = False  # what a Task resets before resuming
                await asyncio.wait([waiting_on])
            waiting_on = coro.send(None)
    except StopIteration as done:
        return done.value
    except asyncio.CancelledError:
        if waiting_on is not None:
            waiting_on.cancel()
        coro.close()  # its cleanup (e.g. a queue's waiting putter) runs here
        raise


class Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> _ConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def wait_first(self, *coros: Any, timeout: Any = None) -> WaitResults:
        first, rest = coros[0], coros[1:]
        if timeout is not None or not asyncio.iscoroutine(first) or self._stopped.is_set() or self._crashed.is_set():
            return await super().wait_first(*coros, timeout=timeout)
        try:
            waiting_on = first.send(None)
        except StopIteration as done:  # handed off without blocking: the common case
            for other in rest:
                if asyncio.iscoroutine(other):
                    other.close()  # never started: closed, so no "never awaited" warning
            return WaitResults([first], [done.value], False)
        return await super().wait_first(asyncio.ensure_future(_finish(first, waiting_on)), *rest)


class Transport(faust_aiokafka.Transport):
    Consumer = Consumer


def use_fetch_max_wait(ms: int) -> str:
    """Register the transport and return the broker URL scheme that selects it."""
    _ConsumerThread.fetch_max_wait_ms = ms
    drivers.TRANSPORTS.aliases.setdefault(SCHEME, f"{__name__}:Transport")
    return SCHEME
