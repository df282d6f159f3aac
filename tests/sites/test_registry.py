"""The registry topic reaches running processes without restarts (SPEC §2.5: within 5 s)."""

import asyncio
import time

import pytest

from leadstream.schemas.sites import SiteRecord
from leadstream.settings import Settings
from leadstream.sites.registry import SiteRegistry, publish_site, read_sites

pytestmark = pytest.mark.integration


async def test_changes_reach_a_running_registry(settings: Settings) -> None:
    registry = SiteRegistry(settings)
    await registry.start()
    try:
        await registry.wait_loaded(60)  # loading is not the propagation being timed
        assert registry.get("shop") is None
        started = time.monotonic()
        await publish_site(settings, SiteRecord(public_id="shop", origins=["https://shop.example"]))
        while registry.get("shop") is None:
            assert time.monotonic() - started < 5, "site not visible within 5 s"
            await asyncio.sleep(0.05)
        await publish_site(settings, SiteRecord(public_id="shop", active=False))
        while registry.get("shop") is not None:
            assert time.monotonic() - started < 10, "disable not visible"
            await asyncio.sleep(0.05)
    finally:
        await registry.stop()
    assert [s.public_id for s in await read_sites(settings)] == ["shop"]


def test_origins_must_be_exact() -> None:
    with pytest.raises(ValueError, match="exact"):
        SiteRecord(public_id="x", origins=["*"])
    assert SiteRecord(public_id="x", origins=["https://a.example/"]).origins == ["https://a.example"]
