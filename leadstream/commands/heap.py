"""Garbage-collector settings for the long-running processes (edge, worker).

A full collection walks every tracked object. After start-up the edge and the worker hold a few
hundred thousand of them (FastAPI, Faust, pydantic and chDB modules, schemas, compiled
patterns), so each full collection stopped the event loop for 50-150 ms, and those stops made
most of the request latencies' p99. They live as long as the process, so once started they are moved
out of the collector's reach; objects made later are collected as usual.
"""

from __future__ import annotations

import gc

# The worker's collector thresholds. It allocates a few objects per record at tens of
# thousands of records a second and keeps its tables' entries for days, so with the defaults
# (700, 10, 10) it ran ~140 young collections and a full one every second: ~9 % of its wall
# time (gc callbacks, 200,000-event bench run), landing mostly in the events sink. With these,
# ~3 %, each young collection ~8 ms; the sink did ~20 % and the scorer ~10 % more events/s
# (two runs each way; single runs vary by as much).
WORKER_GC_THRESHOLDS = (20_000, 20, 100)


def settle_heap(thresholds: tuple[int, int, int] | None = None) -> None:
    """Collect what start-up left behind, then freeze the survivors (call once, when started);
    set the collector's ``thresholds`` if given."""
    gc.collect()
    gc.freeze()
    if thresholds is not None:
        gc.set_threshold(*thresholds)
