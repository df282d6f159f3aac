"""Sites' signing secrets never travel in clear on the sites topic, and a process that cannot
open one refuses the site's signed requests rather than skipping the check."""

from __future__ import annotations

import asyncio
import time

import orjson
import pytest

from leadstream.ingest.signing import sign
from leadstream.schemas.sites import SiteRecord
from leadstream.settings import Settings
from leadstream.sites.registry import publish_site, read_sites
from leadstream.sites.sealing import SealingKeyMissing, new_key, seal, unseal
from tests.edge_fixtures import SECRET, EdgeFactory, read_topic
from tests.processes import run_cli

pytestmark = pytest.mark.integration


def test_sealing_needs_a_key_and_any_listed_key_opens() -> None:
    old, new = new_key(), new_key()
    site = SiteRecord(public_id="s", signing_secret="hush")
    with pytest.raises(SealingKeyMissing, match="LEADSTREAM_SITES_KEYS"):
        seal(Settings(sites_keys=[]), site)
    sealed = seal(Settings(sites_keys=[old]), site)
    assert sealed.signing_secret is None and "hush" not in sealed.model_dump_json()
    assert unseal(Settings(sites_keys=[new, old]), sealed).signing_secret == "hush"  # rotated: old still opens
    assert unseal(Settings(sites_keys=[new]), sealed).signing_secret not in (None, "hush")  # fails closed


async def test_the_topic_holds_no_secret_in_clear(settings: Settings) -> None:
    await publish_site(settings, SiteRecord(public_id="sealed-site", signing_secret=SECRET))
    [record] = await read_topic(settings, settings.topics.sites, 1)
    assert SECRET.encode() not in record
    assert orjson.loads(record)["signing_secret"] is None
    [site] = await read_sites(settings)
    assert site.signed and site.signing_secret == SECRET


async def test_an_edge_without_the_key_refuses_signed_calls(edge: EdgeFactory) -> None:
    body = orjson.dumps({"site_id": "signed", "phone_number": "+971501234567", "fingerprint": "fp-1"})
    ts = int(time.time())
    headers = {"X-Ops-Ts": str(ts), "X-Ops-Signature": sign(SECRET, ts, body), "content-type": "application/json"}
    keyless = await edge(sites_keys=[])
    r = await keyless.post("/api/call-event", content=body, headers=headers)
    assert r.status_code == 401 and r.json()["status"] == "error"


def test_cli_update_keeps_a_sealed_secret(settings: Settings) -> None:
    run_cli(settings, "sites", "add", "cli-site", "--secret", "cli-secret")
    keyless = settings.model_copy(update={"sites_keys": []})
    run_cli(keyless, "sites", "update", "cli-site", "--name", "Renamed")  # cannot open it, must not lose it
    listing = run_cli(settings, "sites", "list")
    assert "Renamed" in listing and "yes" in listing
    [site] = asyncio.run(read_sites(settings))
    assert site.signing_secret == "cli-secret"
