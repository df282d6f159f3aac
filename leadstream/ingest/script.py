"""``GET /t.js``: the tracker a site owner adds with one tag (source and build: ``tracker/``).

The built script is read, compressed and hashed once when the edge starts; a request only
picks the variant (gzip when the client takes it) and answers 304 to a matching ETag.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from importlib import resources

from leadstream.ingest.wire import Inbound, Reply

SCRIPT_PATH = "/t.js"
CACHE_CONTROL = "public, max-age=300"  # short: a new tracker reaches pages within minutes


@dataclass(frozen=True)
class Variant:
    body: bytes
    etag: str
    headers: dict[str, str]


class TrackerScript:
    def __init__(self, source: bytes) -> None:
        digest = hashlib.sha256(source).hexdigest()[:20]
        common = {
            "content-type": "application/javascript; charset=utf-8",
            "cache-control": CACHE_CONTROL,
            "vary": "Accept-Encoding",
            "x-content-type-options": "nosniff",
            "access-control-allow-origin": "*",  # public and credential-free: lets a page use SRI
        }
        self.plain = Variant(source, f'"{digest}"', {**common, "etag": f'"{digest}"'})
        packed = gzip.compress(source, compresslevel=9, mtime=0)
        gz_tag = f'"{digest}-gz"'
        self.gzip = Variant(packed, gz_tag, {**common, "etag": gz_tag, "content-encoding": "gzip"})

    @classmethod
    def bundled(cls) -> TrackerScript:
        return cls(resources.files("leadstream.ingest").joinpath("static/t.min.js").read_bytes())

    def reply(self, inbound: Inbound) -> Reply:
        if inbound.method not in ("GET", "HEAD"):
            return Reply(405, b"", {"allow": "GET, HEAD"})
        variant = self.gzip if accepts_gzip(inbound.headers.get("accept-encoding", "")) else self.plain
        if etag_matches(inbound.headers.get("if-none-match", ""), (self.plain.etag, self.gzip.etag)):
            return Reply(304, b"", dict(variant.headers))
        return Reply(200, variant.body, dict(variant.headers))  # uvicorn leaves the body out for HEAD


def accepts_gzip(accept_encoding: str) -> bool:
    """``gzip`` (or ``*``) listed with a q-value above 0."""
    for item in accept_encoding.lower().split(","):
        coding, *params = (part.strip() for part in item.split(";"))
        if coding in ("gzip", "*"):
            q = next((p.removeprefix("q=") for p in params if p.startswith("q=")), "1")
            try:
                return float(q) > 0
            except ValueError:
                return False
    return False


def etag_matches(if_none_match: str, current: tuple[str, ...]) -> bool:
    """Weak comparison (RFC 9110 §13.1.2): ``W/`` prefixes are ignored; ``*`` matches anything."""
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",") if t.strip()}
    return "*" in tags or any(tag in tags for tag in current)
