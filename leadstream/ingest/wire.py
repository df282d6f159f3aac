"""Raw-ASGI request and reply for the tracking hot path.

The tracking endpoints are served below FastAPI (see ``ingest.asgi``): per request they need
a handful of headers, the client address and a size-capped body, and they answer small JSON.
Doing that directly costs a fraction of a framework round trip (see bench/README.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.types import Receive, Scope, Send

from leadstream.ingest.client_ip import ClientAddress


class BodyTooLarge(Exception):
    pass


@dataclass(slots=True)
class Inbound:
    """A request as the handlers see it. ``client_ip`` is the resolved client (see ``client_ip``):
    held in memory for the request only; what is published of it is its prefix and keyed hash."""

    method: str
    path: str
    headers: dict[str, str]
    client_ip: str | None
    receive: Receive
    client_key: str = ""  # the client as rate limits name it (a keyed hash), set by the edge

    @classmethod
    def from_scope(cls, scope: Scope, receive: Receive, clients: ClientAddress | None = None) -> Inbound:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        client = scope.get("client")
        peer = client[0] if client else None
        client_ip = clients.resolve(peer, scope["headers"]) if clients is not None else peer
        return cls(scope["method"], scope["path"], headers, client_ip, receive)

    async def body(self, limit: int) -> bytes:
        """The raw body, refusing (without reading it all) anything over ``limit`` bytes."""
        declared = self.headers.get("content-length")
        if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
            raise BodyTooLarge
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)


@dataclass(slots=True)
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
        reply = cls(status, orjson.dumps(payload), {"content-type": "application/json"})
        if headers:
            reply.headers.update(headers)
        return reply

    async def send(self, send: Send) -> None:
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in self.headers.items()]
        raw.append((b"content-length", str(len(self.body)).encode()))
        raw.append((b"vary", b"Origin"))  # on every tracking response, whatever its status
        await send({"type": "http.response.start", "status": self.status, "headers": raw})
        await send({"type": "http.response.body", "body": self.body})
