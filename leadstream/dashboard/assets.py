"""The built dashboard bundle (``make dashboard``), read once, served with an ETag and gzip."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

STATIC = Path(__file__).parent / "static"
TYPES = {"dashboard.js": "text/javascript; charset=utf-8", "dashboard.css": "text/css; charset=utf-8"}


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes
    etag: str
    content_type: str


def _load() -> dict[str, Asset]:
    found = {}
    for name, content_type in TYPES.items():
        path = STATIC / name
        if path.is_file():
            body = path.read_bytes()
            etag = f'"{hashlib.sha256(body).hexdigest()[:20]}"'
            found[name] = Asset(body, gzip.compress(body, 9, mtime=0), etag, content_type)
    return found


ASSETS = _load()
