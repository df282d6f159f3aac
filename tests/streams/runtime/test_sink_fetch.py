"""A warehouse sink's idle fetch waits as long as its batch may gather, not the stage chain's 25 ms:
fewer idle round trips to the broker (new records end a fetch's wait at once either way)."""

from __future__ import annotations

from leadstream.settings import Settings
from leadstream.streams.runtime.sink import idle_fetch_wait_ms


def test_a_sinks_fetch_waits_as_long_as_its_batch_may_gather() -> None:
    assert idle_fetch_wait_ms(Settings(sink_flush_s=0.25, worker_fetch_max_wait_ms=25)) == 250


def test_never_past_a_second_nor_below_the_workers_own_wait() -> None:
    assert idle_fetch_wait_ms(Settings(sink_flush_s=30, worker_fetch_max_wait_ms=25)) == 1000
    assert idle_fetch_wait_ms(Settings(sink_flush_s=0.01, worker_fetch_max_wait_ms=40)) == 40
