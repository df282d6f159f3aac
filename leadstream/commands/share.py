"""``leadstream sites share SITE``: a read-only share link of a site's dashboard.

Prints the absolute URL on its last stdout line; ``--revoke`` ends the site's link. A site has
one live link: sharing again ends the previous one.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console

from leadstream.commands.site_settings import _current_site
from leadstream.settings import Settings, get_settings

err = Console(stderr=True)


async def _share(settings: Settings, site: str, revoke: bool) -> str | bool:
    import redis.asyncio as aioredis

    from leadstream.dashboard import tokens

    client = aioredis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=5)
    try:
        if revoke:
            return await tokens.revoke_share(client, settings, site)
        return await tokens.mint_share(client, settings, site)
    finally:
        await client.aclose()


def site_share(
    public_id: Annotated[str, typer.Argument(help="the site whose dashboard to share")],
    revoke: Annotated[bool, typer.Option("--revoke", help="end the site's share link")] = False,
    base_url: Annotated[
        str | None, typer.Option(help="the edge's public URL (default http://EDGE_HOST:EDGE_PORT)")
    ] = None,
) -> None:
    """Print a read-only share link of the site's dashboard (no leads, no personal data), or end it."""
    settings = get_settings()
    site = _current_site(public_id)
    try:
        outcome = asyncio.run(_share(settings, site.public_id, revoke))
    except Exception as exc:
        err.print(f"[red]error:[/red] could not reach Redis at {settings.redis_url} ({exc}); nothing changed")
        raise typer.Exit(1) from None
    if revoke:
        print(f"share link of site {site.public_id} {'revoked' if outcome else 'was not shared'}")
        return
    base = (base_url or f"http://{settings.edge_host}:{settings.edge_port}").rstrip("/")
    err.print(f"anyone with this link sees {site.public_id}'s statistics (revoke: --revoke)")
    print(f"{base}/share/{outcome}")


def install(sites_app: typer.Typer) -> None:
    sites_app.command("share")(site_share)
