"""Circuit breaker per endpoint (SPEC §5.4, the contract's VS6): a pure state machine, no I/O.

The clock is injected (``now``: a monotonic clock in seconds), so every transition is testable without
waiting. Used by the SaaS client (``leadstream_client``) and by the OS edge for its own endpoints.

States:

* ``CLOSED``: every call is let through. ``failure_threshold`` consecutive failures open it; a success
  resets the count.
* ``OPEN``: calls are refused (the caller answers with its fallback) until ``reset_timeout_s`` has passed
  since it opened; then it is ``HALF_OPEN``.
* ``HALF_OPEN``: at most ``half_open_max_calls`` trial calls may be in flight at once (default:
  ``success_threshold``, i.e. just enough to close it; the others keep getting the fallback, so a
  recovering endpoint is not hit by the whole backlog). ``success_threshold`` successes close it; any
  failure re-opens it and restarts the reset timeout.

One outcome is recorded per call admitted by :meth:`CircuitBreaker.allow`: ``record_success``,
``record_failure``, or ``release`` when the call ended without one (cancelled). Outcomes arriving while
OPEN are ignored: those calls were admitted before it opened and tell nothing new.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = [
    "BREAKER_POLICIES",
    "BreakerPolicy",
    "BreakerState",
    "CircuitBreaker",
]

Clock = Callable[[], float]


class BreakerState(StrEnum):
    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


class CircuitBreaker:
    """CLOSED -> OPEN after ``failure_threshold`` consecutive failures -> HALF_OPEN after
    ``reset_timeout_s`` -> CLOSED after ``success_threshold`` successes (any half-open failure re-opens).

    Thread-safe (a lock around each method, never held across I/O), so one breaker may serve an event
    loop or several threads.
    """

    def __init__(
        self,
        failure_threshold: int = 5,
        reset_timeout_s: float = 30.0,
        success_threshold: int = 2,
        *,
        half_open_max_calls: int | None = None,
        now: Clock = time.monotonic,
        name: str = "",
    ) -> None:
        half_open_max_calls = success_threshold if half_open_max_calls is None else half_open_max_calls
        _require(failure_threshold >= 1, "failure_threshold must be >= 1")
        _require(success_threshold >= 1, "success_threshold must be >= 1")
        _require(half_open_max_calls >= 1, "half_open_max_calls must be >= 1")
        _require(reset_timeout_s >= 0, "reset_timeout_s must be >= 0")
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_timeout_s = float(reset_timeout_s)
        self.success_threshold = success_threshold
        self.half_open_max_calls = half_open_max_calls
        self._now = now
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._failures = 0  # consecutive, while CLOSED
        self._successes = 0  # while HALF_OPEN
        self._in_flight = 0  # trial calls admitted while HALF_OPEN and not yet reported
        self._opened_at = 0.0

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return self._current()

    def allow(self) -> bool:
        """May a call go through now? In HALF_OPEN a True takes a trial slot until its outcome is recorded."""
        with self._lock:
            state = self._current()
            if state is BreakerState.CLOSED:
                return True
            if state is BreakerState.HALF_OPEN and self._in_flight < self.half_open_max_calls:
                self._in_flight += 1
                return True
            return False

    def record_success(self) -> None:
        with self._lock:
            state = self._current()
            if state is BreakerState.CLOSED:
                self._failures = 0
            elif state is BreakerState.HALF_OPEN:
                self._free_slot()
                self._successes += 1
                if self._successes >= self.success_threshold:
                    self._close()

    def record_failure(self) -> None:
        with self._lock:
            state = self._current()
            if state is BreakerState.CLOSED:
                self._failures += 1
                if self._failures >= self.failure_threshold:
                    self._open()
            elif state is BreakerState.HALF_OPEN:
                self._open()

    def release(self) -> None:
        """A call admitted by :meth:`allow` ended without an outcome (e.g. cancelled): free its trial slot."""
        with self._lock:
            if self._current() is BreakerState.HALF_OPEN:
                self._free_slot()

    def reset(self) -> None:
        """Back to CLOSED with every count cleared."""
        with self._lock:
            self._close()

    def snapshot(self) -> dict[str, Any]:
        """The breaker's state for health pages and logs."""
        with self._lock:
            state = self._current()
            remaining = self._opened_at + self.reset_timeout_s - self._now() if state is BreakerState.OPEN else 0.0
            return {
                "name": self.name,
                "state": state.value,
                "consecutive_failures": self._failures,
                "half_open_successes": self._successes,
                "half_open_in_flight": self._in_flight,
                "open_remaining_s": max(0.0, remaining),
            }

    def __repr__(self) -> str:
        return f"CircuitBreaker(name={self.name!r}, state={self.state.value})"

    # --- transitions (called with the lock held) ----------------------------------------------------

    def _current(self) -> BreakerState:
        """The state now: an OPEN breaker whose reset timeout has passed is HALF_OPEN."""
        if self._state is BreakerState.OPEN and self._now() - self._opened_at >= self.reset_timeout_s:
            self._state = BreakerState.HALF_OPEN
            self._successes = 0
            self._in_flight = 0
        return self._state

    def _open(self) -> None:
        self._state = BreakerState.OPEN
        self._opened_at = self._now()
        self._failures = 0
        self._successes = 0
        self._in_flight = 0

    def _close(self) -> None:
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._successes = 0
        self._in_flight = 0

    def _free_slot(self) -> None:
        # Floors at 0: an outcome of a call admitted before the breaker opened has no slot to free.
        self._in_flight = max(0, self._in_flight - 1)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    """One endpoint's resilience settings: its breaker, and the retries and timeout of each call."""

    failure_threshold: int
    reset_timeout_s: float
    retries: int  # after the first attempt; so retries + 1 attempts at most
    request_timeout_s: float
    success_threshold: int = 2

    def breaker(self, *, now: Clock = time.monotonic, name: str = "") -> CircuitBreaker:
        return CircuitBreaker(self.failure_threshold, self.reset_timeout_s, self.success_threshold, now=now, name=name)


# Retries and request timeouts are the contract's table (VS9 "Retry Configuration"). The contract is
# silent on thresholds and reset timeouts; these are the reference SaaS's (research notes §7.2):
# discovery fans out to external providers, so it opens sooner (3) and waits longer (60 s) before
# probing; the others open after 5 and probe after 30 s. The pipeline's timeout "varies" in the
# contract; it chains discovery, score and outreach, so it gets the sum of their budgets (30 + 15 + 20)
# rather than the reference's 10 s, which its own discovery stage alone could exceed.
BREAKER_POLICIES: dict[str, BreakerPolicy] = {
    "score": BreakerPolicy(failure_threshold=5, reset_timeout_s=30.0, retries=2, request_timeout_s=15.0),
    "discovery": BreakerPolicy(failure_threshold=3, reset_timeout_s=60.0, retries=2, request_timeout_s=30.0),
    "discovery_v2": BreakerPolicy(failure_threshold=3, reset_timeout_s=60.0, retries=2, request_timeout_s=30.0),
    "outreach": BreakerPolicy(failure_threshold=5, reset_timeout_s=30.0, retries=2, request_timeout_s=20.0),
    "pipeline": BreakerPolicy(failure_threshold=5, reset_timeout_s=30.0, retries=1, request_timeout_s=65.0),
    # The SaaS's other calls, as its client ships them: Decision Mode shares discovery's settings, feedback
    # and deal evaluation the general ones (feedback 1 retry, deal 2). Enrich has no breaker in the SaaS;
    # the edge keeps one, as its stage may call the providers.
    "intelligence_session": BreakerPolicy(failure_threshold=3, reset_timeout_s=60.0, retries=2, request_timeout_s=30.0),
    "intelligence_feedback": BreakerPolicy(
        failure_threshold=5, reset_timeout_s=30.0, retries=1, request_timeout_s=10.0
    ),
    "deal_evaluation": BreakerPolicy(failure_threshold=5, reset_timeout_s=30.0, retries=2, request_timeout_s=10.0),
    "enrich": BreakerPolicy(failure_threshold=5, reset_timeout_s=30.0, retries=0, request_timeout_s=10.0),
}
