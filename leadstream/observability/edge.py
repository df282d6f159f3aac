"""The edge's per-request metrics, with the labelled children cached (the hot path does a dict lookup)."""

from __future__ import annotations

from typing import Any

from leadstream.observability import metrics as m

RATE_LIMITED_STATUS = 429
UNAVAILABLE_STATUS = 503


class RequestMetrics:
    def __init__(self) -> None:
        self._counters: dict[tuple[str, str, int], Any] = {}
        self._timers: dict[str, Any] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = m.HTTP_REQUESTS.labels(route, method, str(status))
        counter.inc()
        timer = self._timers.get(route)
        if timer is None:
            timer = self._timers[route] = m.HTTP_DURATION.labels(route)
        timer.observe(seconds)
        if status == RATE_LIMITED_STATUS:
            m.RATE_LIMITED.labels(route).inc()
        elif status == UNAVAILABLE_STATUS and route.startswith("/api/"):
            m.BROKER_UNAVAILABLE.labels(route).inc()
