"""``leadstream oci export SITE``: Google Ads' offline-conversion import file for a site, for a
manual upload (Google Ads > Goals > Conversions > Uploads). It claims nothing: order ids are
stable, so Google Ads counts a conversion once however often it is uploaded."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from leadstream.settings import Settings, get_settings

app = typer.Typer(no_args_is_help=True, help="Google Ads offline conversions (docs/conversions.md).")
err = Console(stderr=True)


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(1)


def _pending(settings: Settings, site: Any, since: datetime | None) -> list[dict[str, Any]]:
    """The site's conversions not uploaded yet: through the running worker in embedded mode (it
    owns the warehouse), else from the warehouse directly."""
    import httpx

    from leadstream.storage.warehouse import Warehouse, WarehouseLocked

    public = site.model_dump(mode="json", exclude={"signing_secret", "signing_secret_sealed"})
    body = {"site": public, "since": since.isoformat() if since else None}
    if settings.embedded_warehouse:
        try:
            r = httpx.post(
                f"{settings.worker_url}/leadstream/oci/pending", json=body, headers=settings.worker_headers, timeout=120
            )
        except httpx.ConnectError:
            pass  # no worker: nobody holds the directory
        else:
            if r.status_code != 200:
                hint = "" if settings.worker_token else " (set LEADSTREAM_WORKER_TOKEN as the worker has it)"
                raise _fail(f"the worker answered {r.status_code}: {r.text[:500]}{hint}")
            return list(r.json()["items"])
    from leadstream.oci.queue import OciQueue
    from leadstream.streams.web_leads import item_json

    warehouse = Warehouse(settings.clickhouse_dsn, settings.clickhouse_database)
    try:
        warehouse.open()
    except WarehouseLocked as exc:
        raise _fail(str(exc)) from None
    try:
        queue = OciQueue(warehouse, settings.oci_claim_timeout_s)
        items = asyncio.run(queue.pending(site, since))
        return [{**item_json(i, site.timezone), "conversionTimeUtc": i.conversion_time.isoformat()} for i in items]
    finally:
        warehouse.close()


@app.command("export")
def export(
    site_id: Annotated[str, typer.Argument(help="the site")],
    since: Annotated[str | None, typer.Option(help="conversions from this ISO date-time, e.g. 2026-01-01")] = None,
    out: Annotated[Path | None, typer.Option(help="write the file here (default: stdout)")] = None,
) -> None:
    """Write the site's pending conversions as Google Ads' import CSV (in the site's time zone)."""
    from leadstream.oci.csv_file import import_file
    from leadstream.sites.registry import RegistryUnavailable, read_sites

    settings = get_settings()
    when = None
    if since:
        try:
            when = datetime.fromisoformat(since.replace("Z", "+00:00"))
        except ValueError:
            raise _fail(f"--since {since!r} is not an ISO date-time; e.g. --since 2026-01-31") from None
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
    with err.status("reading the site..."):
        try:
            site = next((s for s in asyncio.run(read_sites(settings)) if s.public_id == site_id), None)
        except RegistryUnavailable as exc:
            raise _fail(str(exc)) from None
    if site is None:
        raise _fail(f"no site {site_id!r}; `leadstream sites list` shows the sites")
    with err.status("gathering the conversions (queueing what new stages made)..."):
        items = _pending(settings, site, when)
    text = import_file(items, site.timezone)
    if out is None:
        print(text, end="")
    else:
        out.write_text(text)
    err.print(f"{len(items)} conversion(s) for {site_id} ({site.timezone})" + (f" written to {out}" if out else ""))
