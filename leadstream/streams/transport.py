"""Faust's aiokafka transport with a short fetch long-poll.

Faust builds its consumer with ``fetch_max_wait_ms=1500``. aiokafka keeps one fetch in flight
per broker and leaves out of it the partitions whose fetched records are still being handed to
the agents; a record arriving on such a partition then waits for that long-poll to end, up to
1.5 s. Behind a request-reply chain (the sales-OS stages) this was the whole latency: at 100
requests/s, 0.2-5 s from the edge's publish to the agent. Under load fetches return at once
with data, so a short wait costs only a few empty fetches per second when idle.
"""

from __future__ import annotations

from typing import Any

from faust.transport import drivers
from faust.transport.drivers import aiokafka as faust_aiokafka

SCHEME = "leadstream"


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    fetch_max_wait_ms = 1500  # set by use_fetch_max_wait()

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = self.fetch_max_wait_ms  # read by the fetcher it creates on start
        return consumer


class Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> _ConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(faust_aiokafka.Transport):
    Consumer = Consumer


def use_fetch_max_wait(ms: int) -> str:
    """Register the transport and return the broker URL scheme that selects it."""
    _ConsumerThread.fetch_max_wait_ms = ms
    drivers.TRANSPORTS.aliases.setdefault(SCHEME, f"{__name__}:Transport")
    return SCHEME
