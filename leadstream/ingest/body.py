"""Reading request bodies with a hard size cap, before any parsing."""

from __future__ import annotations

import orjson
from fastapi import Request

from leadstream.schemas.errors import PayloadError


class BodyTooLarge(Exception):
    pass


async def read_capped(request: Request, limit: int) -> bytes:
    """The raw body, refusing (without reading it all) anything over ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def decode_json(raw: bytes) -> object:
    if not raw:
        raise PayloadError("body", "empty; expected a JSON object")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise PayloadError("body", "not valid JSON") from None
