"""Health that tells the truth: each worker loop reports its progress, and the worker's
``/leadstream/health`` names the loops that are stuck or crash-looping (then it answers 503).

Two kinds of loop:

* ``poll``: a consumer loop (table sinks, the scorer, the matcher, the sales-OS stages). It polls
  every second or so even when idle, so no poll for ``stall_s`` means it is stuck: e.g. a batch's
  insert waiting for the warehouse, a changelog recovery that does not end, a stage's run that hangs.
* ``periodic``: work every ``period_s`` (the daily-stats refresher): stuck if no success for
  ``period_s + stall_s``.

Any loop that failed ``crash_after`` times in a row (no successful turn in between) is crash-looping.
The clock is injectable: the verdicts are pure logic, unit-tested without waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

Kind = Literal["poll", "periodic"]
DEFAULT_STALL_S = 120.0
DEFAULT_CRASH_AFTER = 3


def _iso(wall: float | None) -> str | None:
    return None if wall is None else datetime.fromtimestamp(wall, UTC).isoformat(timespec="milliseconds")


@dataclass
class Loop:
    name: str
    kind: Kind
    registry: Loops
    period_s: float = 0.0
    started: float = 0.0  # monotonic, when registered (a loop that never polled is measured from here)
    last_poll: float | None = None
    last_poll_wall: float | None = None
    last_commit_wall: float | None = None
    failures: int = 0  # in a row
    restarts: int = 0
    last_error: str | None = None
    last_error_wall: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    # --- what the loops call -----------------------------------------------------------------
    def polled(self) -> None:
        """A poll (or, for a periodic loop, a run) finished: the loop is making progress."""
        self.last_poll = self.registry.clock()
        self.last_poll_wall = self.registry.wall()

    def committed(self) -> None:
        """A turn's work is done and its offsets committed: also ends a run of failures."""
        self.last_commit_wall = self.registry.wall()
        self.failures = 0

    def turned(self) -> None:
        """A turn ended well with nothing to commit (idle): ends a run of failures."""
        self.failures = 0

    def failed(self, exc: BaseException | str) -> None:
        self.failures += 1
        self.restarts += 1
        self.last_error = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"[:500]
        self.last_error_wall = self.registry.wall()
        self.registry.on_failure(self.name)

    # --- the verdict -------------------------------------------------------------------------
    def problem(self, now: float) -> str | None:
        """Why this loop is unhealthy, or None."""
        reg = self.registry
        if self.failures >= reg.crash_after:
            return f"crash-looping: failed {self.failures} times in a row (last: {self.last_error})"
        since = now - (self.last_poll if self.last_poll is not None else self.started)
        if self.kind == "poll" and since > reg.stall_s:
            return f"stuck: no poll for {since:.0f}s (threshold {reg.stall_s:g}s)"
        if self.kind == "periodic" and since > self.period_s + reg.stall_s:
            return f"stuck: no successful run for {since:.0f}s (every {self.period_s:g}s)"
        return None

    def report(self, now: float) -> dict[str, Any]:
        problem = self.problem(now)
        return {
            "ok": problem is None,
            "problem": problem,
            "kind": self.kind,
            "last_poll": _iso(self.last_poll_wall),
            "last_commit": _iso(self.last_commit_wall),
            "failures_in_a_row": self.failures,
            "restarts": self.restarts,
            "last_error": self.last_error,
            "last_error_at": _iso(self.last_error_wall),
            **self.extra,
        }


class Loops:
    """The loops of one worker process."""

    def __init__(
        self,
        stall_s: float = DEFAULT_STALL_S,
        crash_after: int = DEFAULT_CRASH_AFTER,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        on_failure: Callable[[str], None] = lambda _: None,
    ) -> None:
        self.stall_s = stall_s
        self.crash_after = crash_after
        self.clock = clock
        self.wall = wall
        self.on_failure = on_failure
        self._loops: dict[str, Loop] = {}

    def configure(self, stall_s: float, crash_after: int) -> None:
        self.stall_s, self.crash_after = stall_s, crash_after

    def loop(self, name: str, kind: Kind = "poll", period_s: float = 0.0) -> Loop:
        """The loop called ``name`` (registered now, or the one already there)."""
        found = self._loops.get(name)
        if found is None:
            found = self._loops[name] = Loop(name, kind, self, period_s, started=self.clock())
        return found

    def get(self, name: str) -> Loop | None:
        return self._loops.get(name)

    def report(self) -> dict[str, Any]:
        """``{"ok", "failing": [...], "loops": {name: ...}}``: ``failing`` names each bad loop and why."""
        now = self.clock()
        loops = {name: loop.report(now) for name, loop in sorted(self._loops.items())}
        failing = [f"{name}: {r['problem']}" for name, r in loops.items() if not r["ok"]]
        return {"ok": not failing, "failing": failing, "loops": loops}

    def clear(self) -> None:
        self._loops.clear()


def _count_restart(name: str) -> None:
    from leadstream.observability.metrics import LOOP_RESTARTS

    LOOP_RESTARTS.labels(name).inc()


LOOPS = Loops(on_failure=_count_restart)  # the worker's loops (one worker per process)
