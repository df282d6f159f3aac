"""The ceiling: a bare ASGI app on the same server stack, answering POSTs with a fixed JSON body.

It reads the request body (as the edge must) and does nothing else: no validation, no
Kafka, no Redis. ``uvicorn bench.bare_app:app`` with the edge's server options.
"""

from __future__ import annotations

from typing import Any

BODY = b'{"ok":true,"score":10,"status":"synced"}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
