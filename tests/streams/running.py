"""Processors and the warehouse writer's sinks, run in the test's loop as the worker runs them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from leadstream.settings import Settings
from leadstream.storage.warehouse import Warehouse
from leadstream.streams.copies import copy_specs
from leadstream.streams.matcher import POLL_S, CallMatcher
from leadstream.streams.runtime.group import FlushWindow
from leadstream.streams.runtime.producer import BulkProducer
from leadstream.streams.runtime.runner import Runner
from leadstream.streams.runtime.sink import TableSink
from leadstream.streams.sessions import SessionScorer


def scorer_runner(scorer: SessionScorer, settings: Settings, producer: BulkProducer) -> Runner:
    return Runner(scorer, settings, producer, FlushWindow(settings.sink_flush_s), every_turn=True)


def matcher_runner(matcher: CallMatcher, settings: Settings, producer: BulkProducer) -> Runner:
    window = FlushWindow(POLL_S, floor_s=POLL_S)
    options = matcher.consumer_options
    return Runner(matcher, settings, producer, window, every_turn=True, consumer_options=options)


def start_sinks(
    settings: Settings, warehouse: Warehouse, producer: BulkProducer, names: Iterable[str]
) -> list[asyncio.Task[None]]:
    """The writer's sinks named (``session-rows``, ``call-rows``, ...), as tasks."""
    wanted = set(names)
    specs = [spec for spec in copy_specs(settings) if spec.name in wanted]
    return [asyncio.create_task(TableSink(spec, settings, warehouse, producer).run()) for spec in specs]
