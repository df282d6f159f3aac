"""Garbage-collector settings for the long-running processes (edge, worker).

A full collection walks every tracked object. After start-up the edge and the worker hold a few
hundred thousand of them (FastAPI, Faust, pydantic and chDB modules, schemas, compiled
patterns), so each full collection stopped the event loop for 50-150 ms, and those stops made
most of the request latencies' p99. They live as long as the process, so once started they are moved
out of the collector's reach; objects made later are collected as usual.
"""

from __future__ import annotations

import gc


def settle_heap() -> None:
    """Collect what start-up left behind, then freeze the survivors (call once, when started)."""
    gc.collect()
    gc.freeze()
