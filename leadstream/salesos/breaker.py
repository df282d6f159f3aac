"""The per-endpoint circuit breaker lives in the client distribution (``leadstream_client.breaker``),
so the SaaS client and the OS edge share one state machine; re-exported here for the edge."""

from leadstream_client.breaker import BREAKER_POLICIES, BreakerPolicy, BreakerState, CircuitBreaker

__all__ = ["BREAKER_POLICIES", "BreakerPolicy", "BreakerState", "CircuitBreaker"]
