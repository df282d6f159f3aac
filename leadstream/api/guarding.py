"""The injection guard on the edge's event loop.

Scanning a 256 KiB body takes 50-120 ms of CPU. Done in one go on the event loop, every other request
of that edge process waits for it, so one tenant sending large bodies would set every tenant's latency.
Here a body is scanned in slices (``guard.scan_steps``, a millisecond or two each); after each slice
the scan leaves the loop to the others for four times as long as the slice took, so large bodies get
at most a fifth of the loop (their sender waits; everyone else does not), and only
:data:`LARGE_SCANS_AT_ONCE` body is scanned past its first slice at a time: the others wait their turn
without holding the loop. A body whose scan takes less than :data:`INLINE_CPU_S` of CPU (nearly all:
a score, a rank of tens of entities) is scanned at once, without a turn to wait for: slices count
short strings dearly, so an ordinary rank of ten entities is three of them (~0.2 ms in all), and
queueing every such request behind one turn made the turn, not the scan, set their latency.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from typing import Any

from leadstream.salesos.guard import ScanResult, scan_steps

LARGE_SCANS_AT_ONCE = 1
SLICE_UNITS = 4_000  # about a millisecond or two of scanning
REST_PER_SLICE = 4.0  # after a slice, the loop is left to the others this many times as long
INLINE_CPU_S = 0.001  # scanned at once up to this much CPU (thread time: a preempted scan is not charged)
_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def _large_scans() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    turns = _turns.get(loop)
    if turns is None:
        turns = _turns[loop] = asyncio.Semaphore(LARGE_SCANS_AT_ONCE)
    return turns


async def guard_body(body: Any) -> ScanResult:
    """``scan_payload(body)``, with the loop free between slices. A body scanned within
    :data:`INLINE_CPU_S` (nearly every request) is scanned at once, with no yield and no wait."""
    steps = scan_steps(body, slice_units=SLICE_UNITS)
    inline_until = time.thread_time() + INLINE_CPU_S
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        if time.thread_time() >= inline_until:
            break
    async with _large_scans():
        took = 0.0
        while True:
            await asyncio.sleep(took * REST_PER_SLICE)  # the requests that came in meanwhile run
            started = time.perf_counter()
            try:
                next(steps)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            took = time.perf_counter() - started
