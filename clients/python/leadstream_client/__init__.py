"""leadstream-client: the SaaS's Python client for the leadstream Sales OS (``/api/os``).

Depends on httpx and tenacity only. ``OSClient`` (async) and ``SyncOSClient`` send the contract's
headers, retry with backoff, keep a circuit breaker per endpoint and return the contract's fallback
bodies when the OS cannot answer.
"""

from leadstream_client.breaker import BREAKER_POLICIES, BreakerPolicy, BreakerState, CircuitBreaker
from leadstream_client.client import (
    CLIENT_POLICIES,
    RETRYABLE_STATUSES,
    Backoff,
    OSClient,
    OSClientError,
    OSUnavailableError,
    SyncOSClient,
    parse_retry_after,
)
from leadstream_client.fallbacks import fallback_body

__version__ = "0.2.0"
__all__ = [
    "BREAKER_POLICIES",
    "CLIENT_POLICIES",
    "RETRYABLE_STATUSES",
    "Backoff",
    "BreakerPolicy",
    "BreakerState",
    "CircuitBreaker",
    "OSClient",
    "OSClientError",
    "OSUnavailableError",
    "SyncOSClient",
    "fallback_body",
    "parse_retry_after",
]
