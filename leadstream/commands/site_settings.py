"""``leadstream sites key|keys|set|show``: a site's API keys and its conversion settings.

``sites key SITE`` prints a new key on its last stdout line (shown once; only its hash is kept).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from leadstream.settings import get_settings

console = Console()
err = Console(stderr=True)


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(1)


def _current_site(public_id: str) -> Any:
    from leadstream.sites.registry import RegistryUnavailable, read_sites

    try:
        sites = asyncio.run(read_sites(get_settings()))
    except RegistryUnavailable as exc:
        raise _fail(str(exc)) from None
    site = next((s for s in sites if s.public_id == public_id), None)
    if site is None:
        raise _fail(f"no site {public_id!r}; add it with `leadstream sites add {public_id}`")
    return site


def site_key(public_id: Annotated[str, typer.Argument(help="the site the key reaches")]) -> None:
    """Make a new API key for a site; it is printed once, on the last line."""
    from leadstream.sites.keys import mint_key, publish_key

    site = _current_site(public_id)
    key, record = mint_key(site.public_id)
    try:
        asyncio.run(publish_key(get_settings(), record))
    except Exception as exc:
        raise _fail(f"could not store the key ({exc}); is Kafka up? Nothing was created") from None
    err.print(
        f"key {record.prefix} for site {site.public_id}: shown once, keep it now (revoke: --revoke {record.prefix})"
    )
    print(key)


def site_keys(
    public_id: Annotated[str, typer.Argument(help="the site")],
    revoke: Annotated[str | None, typer.Option(help="revoke the key with this prefix")] = None,
) -> None:
    """List a site's API keys (prefix, created, last used, revoked), or revoke one."""
    from leadstream.sites.keys import last_used, publish_key, read_keys

    s = get_settings()
    try:
        keys = asyncio.run(read_keys(s))
    except RuntimeError as exc:
        raise _fail(str(exc)) from None
    records = keys.of_site(public_id)
    if revoke is not None:
        found = next((r for r in records if r.prefix == revoke.strip()), None)
        if found is None:
            raise _fail(f"site {public_id} has no key {revoke!r}; `leadstream sites keys {public_id}` lists them")
        if not found.revoked:
            asyncio.run(publish_key(s, found.model_copy(update={"revoked_at": datetime.now(UTC)})))
        console.print(f"key {found.prefix} of site {public_id} revoked (edges refuse it within seconds)")
        return
    used = asyncio.run(last_used(s))
    table = Table("prefix", "created", "last used", "revoked")
    for r in records:
        revoked = r.revoked_at.isoformat(timespec="seconds") if r.revoked_at else "-"
        table.add_row(r.prefix, r.created_at.isoformat(timespec="seconds"), used.get(r.prefix, "-"), revoked)
    console.print(table)


def _pairs(values: list[str] | None, option: str) -> dict[str, str]:
    pairs = {}
    for item in values or []:
        stage, sep, value = item.partition("=")
        if not sep or not stage.strip():
            raise _fail(f"{option} takes STAGE=VALUE, e.g. {option} won=100 (got {item!r})")
        pairs[stage.strip()] = value.strip()
    return pairs


def site_set(
    public_id: Annotated[str, typer.Argument(help="the site")],
    timezone: Annotated[str | None, typer.Option(help="IANA time zone, e.g. Europe/Istanbul")] = None,
    currency: Annotated[str | None, typer.Option(help="ISO-4217 code, e.g. TRY")] = None,
    name: Annotated[
        list[str] | None, typer.Option("--conversion-name", help="STAGE=Google Ads conversion name, repeatable")
    ] = None,
    value: Annotated[
        list[str] | None, typer.Option("--conversion-value", help="STAGE=default value (major units), repeatable")
    ] = None,
    export: Annotated[str | None, typer.Option(help="stages exported, comma-separated, e.g. offered,won")] = None,
    auto_stage: Annotated[
        bool | None, typer.Option("--auto-stage/--no-auto-stage", help="each new lead's stage from its score")
    ] = None,
    require_signature: Annotated[
        bool | None, typer.Option("--require-signature/--no-require-signature", help="OCI acks must be signed")
    ] = None,
) -> None:
    """Change a site's time zone, currency and conversion settings."""
    from pydantic import ValidationError

    from leadstream.schemas.sites import SiteRecord
    from leadstream.sites.registry import publish_site

    site = _current_site(public_id)
    sealed = {"signing_secret"} if site.signing_secret_sealed else set()
    data = site.model_dump(exclude={"updated_at", *sealed})
    conversions = data["conversions"]
    for stage, text in _pairs(name, "--conversion-name").items():
        conversions["stages"].setdefault(stage, {"name": "", "value": 0})["name"] = text
    for stage, text in _pairs(value, "--conversion-value").items():
        conversions["stages"].setdefault(stage, {"name": stage, "value": 0})["value"] = text
    if export is not None:
        conversions["exported"] = [s.strip() for s in export.split(",") if s.strip()]
    changes = {"timezone": timezone, "currency": currency.upper() if currency else None}
    data.update({k: v for k, v in changes.items() if v is not None})
    if auto_stage is not None:
        conversions["auto_stage"] = auto_stage
    if require_signature is not None:
        conversions["require_signature"] = require_signature
    try:
        updated = SiteRecord.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise _fail(f"not changed: {problems}") from None
    try:
        asyncio.run(publish_site(get_settings(), updated))
    except ValueError as exc:
        raise _fail(str(exc)) from None
    _print_site(updated, as_json=False)


def site_show(
    public_id: Annotated[str, typer.Argument(help="the site")],
    as_json: Annotated[bool, typer.Option("--json", help="print it as JSON")] = False,
) -> None:
    """Show a site's settings: origins, time zone, currency, conversions."""
    _print_site(_current_site(public_id), as_json)


def _print_site(site: Any, as_json: bool) -> None:
    shown = site.model_dump(mode="json", exclude={"signing_secret", "signing_secret_sealed"})
    shown["signed"] = site.signed
    if as_json:
        print(orjson.dumps(shown, option=orjson.OPT_INDENT_2).decode())
        return
    c = site.conversions
    console.print(
        f"site {site.public_id} ({site.name or '-'}): active={site.active} timezone={site.timezone} "
        f"currency={site.currency} auto-stage={'on' if c.auto_stage else 'off'} "
        f"signed-acks={'required' if c.require_signature else 'optional'}"
    )
    table = Table("stage", "conversion name", "default value", "exported")
    for stage, conversion in c.stages.items():
        table.add_row(stage, conversion.name, f"{conversion.value:g}", "yes" if stage in c.exported else "no")
    console.print(table)


def install(sites_app: typer.Typer) -> None:
    sites_app.command("key")(site_key)
    sites_app.command("keys")(site_keys)
    sites_app.command("set")(site_set)
    sites_app.command("show")(site_show)
