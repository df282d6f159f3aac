"""Who may call the OS edge, for which tenants (SPEC §5.1).

Two credentials: ``x-pr-os-token`` (always required; which tenants it may act for) and, when a
verification key is configured (``LEADSTREAM_OS_JWT_KEY``), ``Authorization: Bearer <JWT>``, the
contract's production OIDC token. With a key, the Bearer token is required and must verify: signature
by the key, an allowed algorithm, ``exp`` present and not past, ``aud`` and ``iss`` present and equal to
the configured audience and issuer. A key without an audience and an issuer is refused at start: an
unchecked audience would take tokens the same issuer minted for any other service (a Google ID token
for someone else's Cloud Run service, say). Without a key, a Bearer header is accepted and not looked
at. Either credential failing is the contract's 401.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import jwt
from pydantic import SecretStr

from leadstream.settings import Settings, os_token_table

log = logging.getLogger(__name__)
VERIFIED_CACHE_SIZE = 1024  # tokens verified once are taken again until they expire: a SaaS reuses one for an hour


class OSAuthError(Exception):
    def __init__(self, status: int, error: str, error_code: str) -> None:
        super().__init__(error)
        self.status, self.error, self.error_code = status, error, error_code


AUTH_FAILED = OSAuthError(401, "Invalid or missing x-pr-os-token", "OS_AUTH_FAILED")
AUTH_DENIED = OSAuthError(403, "Authorization denied - check IAM bindings", "OS_AUTH_DENIED")
TENANT_REQUIRED = OSAuthError(400, "x-tenant-id header or tenant_id in the body is required", "OS_TENANT_REQUIRED")
TENANT_MISMATCH = OSAuthError(400, "tenant_id in the body does not match x-tenant-id", "OS_TENANT_MISMATCH")


class BearerVerifier:
    """Checks ``Authorization: Bearer <JWT>`` against one configured key.

    The key is prepared once per allowed algorithm (a PEM public key for RS/PS/ES/EdDSA, a shared
    secret for HS), and a verified token is remembered until its ``exp`` (the last 1024 tokens), so a
    request costs a dict lookup, or one signature check for a token not seen yet. A key unusable for an
    algorithm (an HS secret with RS256, a public key with HS256) is a configuration error at start, and
    ``none`` is never allowed.
    """

    def __init__(self, key: str, algorithms: str | Sequence[str], audience: str, issuer: str) -> None:
        if key.lstrip().startswith("-----BEGIN") and "\\n" in key:
            key = key.replace("\\n", "\n")  # a PEM squeezed onto one line of an env file
        if not audience.strip() or not issuer.strip():
            raise ValueError(
                "LEADSTREAM_OS_JWT_KEY needs LEADSTREAM_OS_JWT_AUDIENCE and LEADSTREAM_OS_JWT_ISSUER: "
                "tokens are accepted only for this audience, from this issuer"
            )
        listed = algorithms.split(",") if isinstance(algorithms, str) else algorithms
        names = [a.strip() for a in listed if a.strip()]
        if not names or any(a.lower() == "none" for a in names):
            raise ValueError("LEADSTREAM_OS_JWT_ALGORITHMS must name signing algorithms, e.g. RS256 (never none)")
        self._keys: dict[str, Any] = {}
        for name in names:
            try:
                self._keys[name] = jwt.get_algorithm_by_name(name).prepare_key(key)
            except (NotImplementedError, jwt.InvalidKeyError, ValueError, TypeError) as exc:
                raise ValueError(f"LEADSTREAM_OS_JWT_KEY is not a usable {name} key: {exc}") from None
        self._audience = audience.strip()
        self._issuer = issuer.strip()
        self._verified: dict[str, tuple[float, dict[str, Any]]] = {}  # token -> (exp, claims); oldest first

    @classmethod
    def from_settings(cls, settings: Settings) -> BearerVerifier | None:
        """None when no key is configured: Bearer tokens are then accepted unverified."""
        key = settings.os_jwt_key
        # a copy of settings made with model_copy(update=...) is not validated: a plain string may come
        secret = key.get_secret_value() if isinstance(key, SecretStr) else str(key or "")
        if not secret.strip():
            return None
        return cls(secret, settings.os_jwt_algorithms, settings.os_jwt_audience, settings.os_jwt_issuer)

    def verify(self, authorization: str | None) -> dict[str, Any]:
        """The token's claims, or AUTH_FAILED (missing, not Bearer, malformed, bad signature, expired,
        wrong audience or issuer, algorithm not allowed)."""
        scheme, _, token = (authorization or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise AUTH_FAILED
        known = self._verified.get(token)
        if known is not None and known[0] > time.time():
            return known[1]
        try:
            claims = self._decode(token)
        except jwt.PyJWTError as exc:
            log.debug("Bearer token refused: %s", type(exc).__name__)
            raise AUTH_FAILED from None
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.pop(next(iter(self._verified)))
        self._verified[token] = (float(claims["exp"]), claims)
        return claims

    def _decode(self, token: str) -> dict[str, Any]:
        if len(self._keys) == 1:  # the usual case: no need to read the header first
            [(alg, key)] = self._keys.items()
        else:
            alg = jwt.get_unverified_header(token).get("alg")
            key = self._keys.get(alg) if isinstance(alg, str) else None
            if key is None:
                raise jwt.InvalidAlgorithmError("algorithm not allowed")
        return jwt.decode(
            token,
            key,
            algorithms=[alg],
            audience=self._audience,
            issuer=self._issuer,
            options={"require": ["exp", "aud", "iss"]},
        )


class TokenTable:
    """Tokens and the tenants each may act for (``*``: any). Parsed once from settings.

    With a :class:`BearerVerifier`, a request also needs a Bearer token it accepts."""

    def __init__(self, tokens: Mapping[str, Sequence[str]] | str, bearer: BearerVerifier | None = None) -> None:
        table = os_token_table(tokens)  # the settings' own check: a string where a list belongs is refused
        self._tokens = {token.encode(): frozenset(tenants) for token, tenants in table.items()}
        self._bearer = bearer

    def tenants_for(self, token: str) -> frozenset[str] | None:
        """Compared against every token in constant time, so timing tells nothing about near misses."""
        presented = token.encode()
        found = None
        for known, tenants in self._tokens.items():
            if hmac.compare_digest(known, presented):
                found = tenants
        return found

    def authenticate(self, headers: Mapping[str, str]) -> frozenset[str]:
        """The tenants the request's credentials may act for, or OS_AUTH_FAILED."""
        tenants = self.tenants_for(headers.get("x-pr-os-token") or "")
        if tenants is None:
            raise AUTH_FAILED
        if self._bearer is not None:
            self._bearer.verify(headers.get("authorization"))
        return tenants

    def authorize(self, headers: Mapping[str, str], body_tenant: str | None = None) -> str:
        """The tenant this request acts for, or OSAuthError (see :func:`tenant_of`)."""
        return tenant_of(self.authenticate(headers), headers.get("x-tenant-id"), body_tenant)


def tenant_of(allowed: frozenset[str], header_tenant: str | None, body_tenant: str | None) -> str:
    """The request's tenant: ``x-tenant-id``, else the body's ``tenant_id`` (the SaaS's pipeline route
    sends only that). Either way the credentials must be allowed to act for it (else OS_AUTH_DENIED);
    neither given is OS_TENANT_REQUIRED, both given and different OS_TENANT_MISMATCH (400)."""
    header = (header_tenant or "").strip()
    body = (body_tenant or "").strip()
    tenant = header or body
    if not tenant:
        raise TENANT_REQUIRED
    if "*" not in allowed and tenant not in allowed:
        raise AUTH_DENIED
    if header and body and header != body:
        raise TENANT_MISMATCH
    return tenant
