"""Dashboard sessions and share links, kept in Redis under the SHA-256 of their token (a Redis dump
reveals no usable token).

Sessions expire (``SESSION_TTL_S``), remember which key opened them (revoking that key ends them)
and carry a CSRF token the page sends back on every unsafe request. A site has at most one live
share link: minting a new one ends the previous one. Share links live in Redis only, not on a
compacted topic: losing Redis's data ends every share link (the owner shares again) and every
session (owners log in again), which this tolerates.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import orjson
import redis.asyncio as aioredis

from leadstream.settings import Settings

SESSION_TTL_S = 12 * 3600


@dataclass(frozen=True)
class Session:
    site: str
    csrf: str
    key_prefix: str  # of the site key that opened it


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _session_key(settings: Settings, token: str) -> str:
    return f"{settings.topic_prefix}dash-session:{_digest(token)}"


def _share_key(settings: Settings, token: str) -> str:
    return f"{settings.topic_prefix}dash-share:{_digest(token)}"


def _share_of_site(settings: Settings, site: str) -> str:
    return f"{settings.topic_prefix}dash-share-of:{site}"


async def open_session(client: aioredis.Redis, settings: Settings, site: str, key_prefix: str) -> tuple[str, Session]:
    """A new session for ``site`` opened with the key ``key_prefix``: its cookie token (never
    stored) and the session."""
    token = secrets.token_urlsafe(32)
    session = Session(site=site, csrf=secrets.token_urlsafe(32), key_prefix=key_prefix)
    value = orjson.dumps({"site": session.site, "csrf": session.csrf, "key": key_prefix})
    await client.set(_session_key(settings, token), value, ex=SESSION_TTL_S)
    return token, session


async def session_of(client: aioredis.Redis, settings: Settings, token: str) -> Session | None:
    if not token or len(token) > 128:
        return None
    raw = await client.get(_session_key(settings, token))
    if raw is None:
        return None
    data = orjson.loads(raw)
    return Session(site=str(data["site"]), csrf=str(data["csrf"]), key_prefix=str(data["key"]))


async def close_session(client: aioredis.Redis, settings: Settings, token: str) -> None:
    if token and len(token) <= 128:
        await client.delete(_session_key(settings, token))


async def mint_share(client: aioredis.Redis, settings: Settings, site: str) -> str:
    """A new share token for ``site`` (the previous one, if any, ends)."""
    await revoke_share(client, settings, site)
    token = secrets.token_urlsafe(32)
    async with client.pipeline(transaction=True) as pipe:
        pipe.set(_share_key(settings, token), site)
        pipe.set(_share_of_site(settings, site), _digest(token))
        await pipe.execute()
    return token


async def revoke_share(client: aioredis.Redis, settings: Settings, site: str) -> bool:
    """End the site's share link; False when it had none."""
    digest = await client.get(_share_of_site(settings, site))
    if digest is None:
        return False
    async with client.pipeline(transaction=True) as pipe:
        pipe.delete(f"{settings.topic_prefix}dash-share:{digest.decode()}")
        pipe.delete(_share_of_site(settings, site))
        await pipe.execute()
    return True


async def shared_site(client: aioredis.Redis, settings: Settings, token: str) -> str | None:
    """The site a live share token shows, else None."""
    if not token or len(token) > 128:
        return None
    raw = await client.get(_share_key(settings, token))
    return raw.decode() if raw is not None else None
