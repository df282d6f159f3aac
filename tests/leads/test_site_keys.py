"""Site API keys: their shape, the hashed record, the mirror's answer, and the CLI that makes,
lists and revokes them on the real broker."""

import asyncio
import re
from datetime import UTC, datetime

import pytest

from leadstream.schemas.site_keys import KEY_PATTERN, hash_key, key_prefix
from leadstream.settings import Settings
from leadstream.sites.keys import SiteKeys, mint_key, read_keys
from tests.processes import run_cli


def test_a_minted_key_has_the_documented_shape_and_only_its_hash_is_kept() -> None:
    key, record = mint_key("shop")
    assert KEY_PATTERN.match(key)
    assert key.startswith(f"lsk_{record.prefix}_") and len(key.split("_", 2)[2]) == 43
    assert record.key_hash == hash_key(key) and key not in record.model_dump_json()
    assert key_prefix(key) == record.prefix


def test_the_mirror_answers_the_site_of_a_live_key_only(settings: Settings) -> None:
    keys = SiteKeys(settings)
    key, record = mint_key("shop")
    keys.put(record)
    assert keys.site_for(key) == "shop"
    forged = key[:-1] + ("A" if key[-1] != "A" else "B")  # same prefix, another secret
    assert keys.site_for(forged) is None
    assert keys.site_for("lsk_nothere_x") is None and keys.site_for("") is None
    keys.put(record.model_copy(update={"revoked_at": datetime.now(UTC)}))
    assert keys.site_for(key) is None


@pytest.mark.integration
def test_cli_makes_lists_and_revokes_keys(settings: Settings) -> None:
    run_cli(settings, "sites", "add", "shop")
    out = run_cli(settings, "sites", "key", "shop")
    key = out.strip().splitlines()[-1]
    assert KEY_PATTERN.match(key)
    prefix = key_prefix(key)
    keys = asyncio.run(read_keys(settings))
    assert keys.site_for(key) == "shop"
    listed = run_cli(settings, "sites", "keys", "shop")
    assert prefix in listed and key not in listed
    run_cli(settings, "sites", "keys", "shop", "--revoke", str(prefix))
    assert asyncio.run(read_keys(settings)).site_for(key) is None
    assert re.search(rf"{prefix}.*\d{{4}}-\d\d-\d\dT", run_cli(settings, "sites", "keys", "shop"))
