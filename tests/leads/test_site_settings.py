"""A site's time zone, currency and conversion settings: validated, OpsMantik's by default, set and
shown by the CLI."""

import orjson
import pytest
from pydantic import ValidationError

from leadstream.schemas.conversions import ConversionSettings, auto_stage
from leadstream.schemas.sites import SiteRecord
from leadstream.settings import Settings
from tests.processes import run_cli


def test_defaults_are_opsmantiks() -> None:
    site = SiteRecord(public_id="shop")
    assert (site.timezone, site.currency) == ("UTC", "TRY")
    c = site.conversions
    assert {s: (v.name, v.value) for s, v in c.stages.items()} == {
        "contacted": ("OpsMantik_Contacted", 10),
        "offered": ("OpsMantik_Offered", 50),
        "won": ("OpsMantik_Won", 100),
        "junk": ("OpsMantik_Junk_Exclusion", 0.1),
    }
    assert not c.auto_stage and c.conversion("won") is not None


@pytest.mark.parametrize(
    "bad", [{"timezone": "Mars/Base"}, {"currency": "lira"}, {"conversions": {"exported": ["lost"]}}]
)
def test_bad_settings_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        SiteRecord.model_validate({"public_id": "shop", **bad})


def test_a_partial_stage_table_keeps_the_other_defaults() -> None:
    c = ConversionSettings.model_validate({"stages": {"won": {"name": "Sale", "value": 250}}, "exported": ["won"]})
    assert c.stages["won"].name == "Sale" and c.stages["offered"].name == "OpsMantik_Offered"
    assert c.conversion("offered") is None


@pytest.mark.parametrize(
    ("score", "stage"),
    [(-5, "junk"), (0, "junk"), (1, "contacted"), (79, "contacted"), (80, "offered"), (99, "offered"), (100, "won")],
)
def test_auto_stage_from_score(score: int, stage: str) -> None:
    assert auto_stage(score) == stage


@pytest.mark.integration
def test_cli_sets_and_shows_conversion_settings(settings: Settings) -> None:
    run_cli(settings, "sites", "add", "shop", "--origin", "https://shop.example")
    run_cli(
        settings,
        "sites",
        "set",
        "shop",
        "--timezone",
        "Europe/Istanbul",
        "--currency",
        "eur",
        "--conversion-name",
        "won=Sale",
        "--conversion-value",
        "won=250",
        "--export",
        "offered,won",
        "--auto-stage",
    )
    shown = orjson.loads(run_cli(settings, "sites", "show", "shop", "--json"))
    assert shown["timezone"] == "Europe/Istanbul" and shown["currency"] == "EUR"
    assert shown["conversions"]["stages"]["won"] == {"name": "Sale", "value": 250.0}
    assert shown["conversions"]["exported"] == ["offered", "won"] and shown["conversions"]["auto_stage"] is True
    assert shown["origins"] == ["https://shop.example"]
    run_cli(settings, "sites", "update", "shop", "--name", "Shop")  # other commands keep the settings
    assert orjson.loads(run_cli(settings, "sites", "show", "shop", "--json"))["timezone"] == "Europe/Istanbul"
