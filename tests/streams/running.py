"""Processors and the warehouse writer's sinks, run in the test's loop as the worker runs them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from leadstream.settings import Settings
from leadstream.storage.warehouse import Warehouse
from leadstream.streams.app import matcher_runner, scorer_runner
from leadstream.streams.copies import copy_specs
from leadstream.streams.runtime.producer import BulkProducer
from leadstream.streams.runtime.sink import TableSink

__all__ = ["matcher_runner", "scorer_runner", "start_sinks"]


def start_sinks(
    settings: Settings, warehouse: Warehouse, producer: BulkProducer, names: Iterable[str]
) -> list[asyncio.Task[None]]:
    """The writer's sinks named (``session-rows``, ``call-rows``, ...), as tasks."""
    wanted = set(names)
    specs = [spec for spec in copy_specs(settings) if spec.name in wanted]
    return [asyncio.create_task(TableSink(spec, settings, warehouse, producer).run()) for spec in specs]
