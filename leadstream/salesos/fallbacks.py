"""The contract's fallback bodies (VS6) live in the client distribution (``leadstream_client.fallbacks``),
so the edge and the SaaS client answer the same; re-exported here for the edge."""

from leadstream_client.fallbacks import fallback_body, fallback_data

__all__ = ["fallback_body", "fallback_data"]
