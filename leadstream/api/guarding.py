"""The injection guard on the edge's event loop.

Scanning a 256 KiB body takes tens of milliseconds of CPU. Done in one go on the event loop, every
other request of that edge process waits for it, so one tenant sending large bodies would set every
tenant's latency. Here a body is scanned in slices (``guard.scan_steps``, a few ms each), yielding to
the loop between slices, and at most :data:`LARGE_SCANS_AT_ONCE` bodies past their first slice are
scanned at a time: the others wait their turn without holding the loop.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from leadstream.salesos.guard import ScanResult, scan_steps

LARGE_SCANS_AT_ONCE = 2
_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def _large_scans() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    turns = _turns.get(loop)
    if turns is None:
        turns = _turns[loop] = asyncio.Semaphore(LARGE_SCANS_AT_ONCE)
    return turns


async def guard_body(body: Any) -> ScanResult:
    """``scan_payload(body)``, with the loop free between slices. A body that fits in one slice (nearly
    every request) is scanned at once, with no yield and no wait."""
    steps = scan_steps(body)
    try:
        next(steps)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    async with _large_scans():
        while True:
            await asyncio.sleep(0)  # let the requests that came in meanwhile run
            try:
                next(steps)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
