"""Who may call the OS edge, for which tenants (SPEC §5.1)."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

import orjson


class OSAuthError(Exception):
    def __init__(self, status: int, error: str, error_code: str) -> None:
        super().__init__(error)
        self.status, self.error, self.error_code = status, error, error_code


AUTH_FAILED = OSAuthError(401, "Invalid or missing x-pr-os-token", "OS_AUTH_FAILED")
AUTH_DENIED = OSAuthError(403, "Authorization denied - check IAM bindings", "OS_AUTH_DENIED")
TENANT_REQUIRED = OSAuthError(400, "x-tenant-id header is required", "OS_TENANT_REQUIRED")


class TokenTable:
    """Tokens and the tenants each may act for (``*``: any). Parsed once from settings."""

    def __init__(self, spec: str) -> None:
        raw = orjson.loads(spec or "{}")
        if not isinstance(raw, dict):
            raise ValueError('LEADSTREAM_OS_TOKENS must be a JSON object: {"token": ["tenant", ...]}')
        self._tokens = {str(k).encode(): frozenset(map(str, v)) for k, v in raw.items() if k}

    def tenants_for(self, token: str) -> frozenset[str] | None:
        """Compared against every token in constant time, so timing tells nothing about near misses."""
        presented = token.encode()
        found = None
        for known, tenants in self._tokens.items():
            if hmac.compare_digest(known, presented):
                found = tenants
        return found

    def authorize(self, headers: Mapping[str, str]) -> str:
        """The tenant this request acts for, or OSAuthError."""
        tenants = self.tenants_for(headers.get("x-pr-os-token") or "")
        if tenants is None:
            raise AUTH_FAILED
        tenant = (headers.get("x-tenant-id") or "").strip()
        if not tenant:
            raise TENANT_REQUIRED
        if "*" not in tenants and tenant not in tenants:
            raise AUTH_DENIED
        return tenant
