"""OCI session tokens: ``/api/oci/v2/verify`` trades a site key for a token bound to the site, good
for five minutes, which the Script then sends as ``Authorization: Bearer``.

The Script signs its acks with the site key itself (HMAC-SHA256), so the server needs the key to
check them, yet keeps only its hash. The token carries it: Redis holds, under a hash of the
token, the site and the key encrypted (AES-GCM) with a key derived from the token. Whoever reads
Redis learns neither the token nor the key; the caller holding the token already had the key.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from datetime import UTC, datetime, timedelta

import orjson
import redis.asyncio as aioredis
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

TOKEN_TTL = timedelta(minutes=5)
TOKEN_PREFIX = "oci_"


def _name(namespace: str, token: str) -> str:
    return f"{namespace}oci-session:{hashlib.sha256(b'id:' + token.encode()).hexdigest()}"


def _cipher(token: str) -> AESGCM:
    return AESGCM(hashlib.sha256(b"seal:" + token.encode()).digest())


async def open_session(client: aioredis.Redis, namespace: str, site_id: str, key: str) -> tuple[str, datetime]:
    """A new token for ``site_id`` and when it expires (raises when Redis does not take it)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    nonce = os.urandom(12)
    sealed = nonce + _cipher(token).encrypt(nonce, key.encode(), site_id.encode())
    value = orjson.dumps({"site_id": site_id, "sealed": base64.b64encode(sealed).decode()})
    await client.set(_name(namespace, token), value, ex=int(TOKEN_TTL.total_seconds()))
    return token, datetime.now(UTC) + TOKEN_TTL


async def session_of(client: aioredis.Redis, namespace: str, token: str) -> tuple[str, str] | None:
    """The site and key a live token stands for; None for an unknown or expired one."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    raw = await client.get(_name(namespace, token))
    if not raw:
        return None
    try:
        stored = orjson.loads(raw)
        sealed = base64.b64decode(stored["sealed"])
        key = _cipher(token).decrypt(sealed[:12], sealed[12:], stored["site_id"].encode()).decode()
    except (InvalidTag, KeyError, ValueError, TypeError):
        return None
    return stored["site_id"], key
