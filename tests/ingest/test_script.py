"""``GET /t.js``: the tracker as a browser fetches it (headers, validators, compression)."""

from __future__ import annotations

import gzip
from importlib import resources

import httpx
import pytest

from leadstream.ingest.script import TrackerScript, accepts_gzip, etag_matches

BUILT = resources.files("leadstream.ingest").joinpath("static/t.min.js").read_bytes()
MAX_GZIPPED = 2048


def test_the_tracker_is_at_most_2_kb_gzipped() -> None:
    assert len(TrackerScript(BUILT).gzip.body) <= MAX_GZIPPED


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("gzip, deflate, br", True),
        ("br;q=1.0, gzip;q=0.8", True),
        ("*", True),
        ("gzip;q=0", False),
        ("gzip;q=0.000", False),
        ("identity", False),
        ("", False),
        ("gzip;q=oops", False),
    ],
)
def test_accepts_gzip(header: str, expected: bool) -> None:
    assert accepts_gzip(header) is expected


def test_etag_weak_comparison() -> None:
    assert etag_matches('W/"abc"', ('"abc"',))
    assert etag_matches('"x", "abc"', ('"abc"',))
    assert etag_matches("*", ('"abc"',))
    assert not etag_matches('"abcd"', ('"abc"',))
    assert not etag_matches("", ('"abc"',))


@pytest.mark.integration
async def test_served_with_cache_validators_and_gzip(client: httpx.AsyncClient) -> None:
    plain = await client.get("/t.js", headers={"accept-encoding": "identity"})
    assert plain.status_code == 200 and plain.content == BUILT
    assert plain.headers["content-type"] == "application/javascript; charset=utf-8"
    assert plain.headers["cache-control"] == "public, max-age=300"
    assert "content-encoding" not in plain.headers
    etag = plain.headers["etag"]

    packed = await client.get("/t.js", headers={"accept-encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip" and packed.content == BUILT  # httpx inflates it
    assert int(packed.headers["content-length"]) <= MAX_GZIPPED
    assert packed.headers["etag"] != etag and "Accept-Encoding" in packed.headers["vary"]

    again = await client.get("/t.js", headers={"if-none-match": etag, "accept-encoding": "gzip"})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == packed.headers["etag"]

    changed = await client.get("/t.js", headers={"if-none-match": '"stale"'})
    assert changed.status_code == 200

    head = await client.head("/t.js", headers={"accept-encoding": "identity"})
    assert head.status_code == 200 and head.headers["content-length"] == str(len(BUILT))


@pytest.mark.integration
async def test_only_get_and_head(client: httpx.AsyncClient) -> None:
    assert (await client.post("/t.js")).status_code == 405


def test_gzip_body_inflates_to_the_script() -> None:
    assert gzip.decompress(TrackerScript(BUILT).gzip.body) == BUILT
