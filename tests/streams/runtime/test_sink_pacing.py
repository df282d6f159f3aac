"""How often a warehouse sink goes to the broker and to the warehouse: an idle fetch waits as long as
a batch may gather (not the stage chain's 25 ms), and a table nobody waits on gathers for a fixed
window (an insert costs the same ~10 ms of CPU whatever its size) from fetches the broker holds until
a MiB or the window (a consumer fetches again as soon as it has handed out what it fetched)."""

from __future__ import annotations

from leadstream.settings import Settings
from leadstream.streams.copies import copy_specs
from leadstream.streams.runtime.sink import TableSink, fetch_options, idle_fetch_wait_ms


def test_a_sinks_fetch_waits_as_long_as_its_batch_may_gather() -> None:
    assert idle_fetch_wait_ms(Settings(sink_flush_s=0.25, worker_fetch_max_wait_ms=25)) == 250


def test_never_past_a_second_nor_below_the_workers_own_wait() -> None:
    assert idle_fetch_wait_ms(Settings(sink_flush_s=30, worker_fetch_max_wait_ms=25)) == 1000
    assert idle_fetch_wait_ms(Settings(sink_flush_s=0.01, worker_fetch_max_wait_ms=40)) == 40


def test_the_os_runs_sink_gathers_a_second_whatever_the_load_and_the_others_follow_theirs() -> None:
    settings = Settings(topic_prefix="t.", sink_flush_s=0.25)
    sinks = {spec.name: TableSink(spec, settings, None, None) for spec in copy_specs(settings)}  # type: ignore[arg-type]
    runs = sinks["os-runs"].window
    runs.took(0.005)  # a quick insert does not shorten its window
    assert runs.seconds == runs.ceiling_s == 1.0
    events = sinks["events"].window
    events.took(0.5)
    assert events.ceiling_s == 0.25 and events.seconds == 0.25


def test_a_fixed_window_sink_asks_the_broker_to_hold_its_fetches_and_the_others_do_not() -> None:
    settings = Settings(topic_prefix="t.", sink_flush_s=0.25)
    specs = {spec.name: spec for spec in copy_specs(settings)}
    assert fetch_options(specs["os-runs"], settings) == {"fetch_max_wait_ms": 1000, "fetch_min_bytes": 1 << 20}
    assert fetch_options(specs["events"], settings) == {"fetch_max_wait_ms": 250}  # rows someone waits for
