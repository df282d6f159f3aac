"""Circuit breakers for the OS edge and the discovery providers.

The state machine lives in the client distribution (``leadstream_client.breaker``), so the SaaS client
and the OS edge share it; re-exported here. :class:`BreakerRegistry` keeps one breaker per (endpoint,
tenant), or (provider, tenant): the failures of one tenant's runs (its data, its filters, its floods)
open that tenant's breaker only, and every other tenant keeps being served.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Mapping

from leadstream_client.breaker import BREAKER_POLICIES, BreakerPolicy, BreakerState, CircuitBreaker, Clock

__all__ = ["BREAKER_POLICIES", "BreakerPolicy", "BreakerRegistry", "BreakerState", "CircuitBreaker"]

MAX_BREAKERS = 10_000  # (endpoint, tenant) pairs held; the least recently used beyond it are forgotten
_SEVERITY = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}


class BreakerRegistry:
    """One :class:`CircuitBreaker` per (name, tenant), made from the name's policy on first use.

    Bounded: past ``max_breakers`` pairs the least recently used is forgotten (a tenant seen again starts
    CLOSED; a token for any tenant must not let a caller grow the edge's memory by inventing tenants).
    :meth:`worst` and :meth:`states` report the worst state per name without naming tenants, for health
    pages and metrics that anyone may read.
    """

    def __init__(
        self,
        policies: Mapping[str, BreakerPolicy] = BREAKER_POLICIES,
        *,
        max_breakers: int = MAX_BREAKERS,
        now: Clock = time.monotonic,
    ) -> None:
        self._policies = dict(policies)
        self._max = max_breakers
        self._now = now
        self._lock = threading.Lock()
        self._breakers: OrderedDict[tuple[str, str], CircuitBreaker] = OrderedDict()
        self._troubled: dict[str, set[str]] = {name: set() for name in self._policies}  # not CLOSED when last seen

    def names(self) -> list[str]:
        return list(self._policies)

    def get(self, name: str, tenant: str) -> CircuitBreaker:
        """The breaker of ``name`` for ``tenant`` (KeyError for a name without a policy)."""
        key = (name, tenant)
        with self._lock:
            breaker = self._breakers.get(key)
            if breaker is None:
                breaker = self._policies[name].breaker(now=self._now, name=name)
                self._breakers[key] = breaker
                while len(self._breakers) > self._max:
                    (old_name, old_tenant), _ = self._breakers.popitem(last=False)
                    self._troubled[old_name].discard(old_tenant)
            else:
                self._breakers.move_to_end(key)
            return breaker

    def observe(self, name: str, tenant: str) -> BreakerState:
        """Note the state of (name, tenant) after an outcome was recorded; the worst state of ``name``."""
        with self._lock:
            breaker = self._breakers.get((name, tenant))
            troubled = self._troubled[name]
            if breaker is None or breaker.state is BreakerState.CLOSED:
                troubled.discard(tenant)
            else:
                troubled.add(tenant)
        return self.worst(name)

    def worst(self, name: str) -> BreakerState:
        """The worst state of any tenant's breaker of ``name`` (CLOSED when none is troubled)."""
        with self._lock:
            breakers = [self._breakers.get((name, t)) for t in list(self._troubled[name])]
        states = [b.state for b in breakers if b is not None]
        return max(states, key=_SEVERITY.__getitem__, default=BreakerState.CLOSED)

    def states(self) -> dict[str, BreakerState]:
        return {name: self.worst(name) for name in self._policies}

    def not_closed(self) -> dict[str, int]:
        """How many tenants' breakers of each name are OPEN or HALF_OPEN."""
        out = {}
        for name in self._policies:
            with self._lock:
                breakers = [self._breakers.get((name, t)) for t in list(self._troubled[name])]
            out[name] = sum(1 for b in breakers if b is not None and b.state is not BreakerState.CLOSED)
        return out


def severity(state: BreakerState) -> int:
    """0 closed, 1 half-open, 2 open: the breaker gauge's values."""
    return _SEVERITY[state]
