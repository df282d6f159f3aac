"""leadstream: run the edge and the worker, manage sites, query the warehouse."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
from pydantic import ValidationError
from pydantic_settings.exceptions import SettingsError
from rich.console import Console
from rich.table import Table

from leadstream.commands import oci as oci_commands
from leadstream.commands import share as share_command
from leadstream.commands import site_settings
from leadstream.settings import get_settings, settings_problems


class Role(StrEnum):
    all = "all"
    process = "process"
    store = "store"


if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False, help=__doc__)
sites_app = typer.Typer(no_args_is_help=True, help="Manage tracked sites (the registry topic).")
app.add_typer(sites_app, name="sites")
dlq_app = typer.Typer(no_args_is_help=True, help="Inspect and replay dead letters.")
app.add_typer(dlq_app, name="dlq")
os_app = typer.Typer(no_args_is_help=True, help="Sales OS data.")
app.add_typer(os_app, name="os")
stats_app = typer.Typer(no_args_is_help=True, help="The materialised daily per-site statistics.")
app.add_typer(stats_app, name="stats")
privacy_app = typer.Typer(no_args_is_help=True, help="Erase a visitor's data (docs/privacy.md).")
app.add_typer(privacy_app, name="privacy")
site_settings.install(sites_app)  # sites key / keys / set / show
share_command.install(sites_app)  # sites share (a read-only dashboard link)
app.add_typer(oci_commands.app, name="oci")  # oci export (Google Ads import CSV)
console = Console()
err = Console(stderr=True)


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(1)


@app.command()
def edge(
    host: Annotated[str | None, typer.Option(help="bind address (default LEADSTREAM_EDGE_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default LEADSTREAM_EDGE_PORT)")] = None,
    workers: Annotated[int | None, typer.Option(help="uvicorn worker processes")] = None,
) -> None:
    """Run the HTTP edge (tracking and OS endpoints)."""
    import os

    import uvicorn

    from leadstream.observability.exposition import prepare_multiprocess_dir
    from leadstream.observability.logs import uvicorn_log_config

    s = get_settings()
    port = port or s.edge_port
    workers = workers or s.edge_workers
    if workers != s.edge_workers:  # each process sizes its rate limits without Redis from the count
        os.environ["LEADSTREAM_EDGE_WORKERS"] = str(workers)
        get_settings.cache_clear()
    # Before any edge process imports prometheus_client: their metrics add up on GET /metrics.
    prepare_multiprocess_dir(s.var_dir / "metrics" / f"edge-{port}")
    uvicorn.run(
        "leadstream.edge.app:serve_app",
        factory=True,
        host=host or s.edge_host,
        port=port,
        workers=workers,
        proxy_headers=False,  # the edge resolves the client itself, from LEADSTREAM_TRUSTED_PROXIES only
        log_level="info",
        log_config=uvicorn_log_config(s.log_format),
        access_log=False,
        timeout_graceful_shutdown=10,
    )


@app.command()
def worker(
    role: Annotated[
        Role | None,
        typer.Option(help="all: everything in one process; process: scorer and matcher; store: warehouse writer"),
    ] = None,
    port: Annotated[int | None, typer.Option(help="web port (health, metrics); one per process on a host")] = None,
    loglevel: Annotated[str, typer.Option(help="log level")] = "info",
) -> None:
    """Run the stream worker in its role (default LEADSTREAM_WORKER_ROLE, "all")."""
    import os

    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)  # one process: the default registry (before its import)

    from leadstream.observability.logs import configure
    from leadstream.storage.warehouse import WarehouseLocked
    from leadstream.streams.app import run_worker
    from leadstream.streams.web import WorkerWebBindError

    settings = get_settings()
    chosen = {"worker_role": role.value if role else None, "worker_port": port}
    settings = settings.model_copy(update={k: v for k, v in chosen.items() if v is not None})
    configure(settings.log_format, loglevel)
    try:
        run_worker(settings, loglevel=loglevel)
    except (WarehouseLocked, WorkerWebBindError) as exc:
        raise _fail(str(exc)) from None


@app.command()
def run(
    processors: Annotated[
        int,
        typer.Option(
            min=0, help="0: one worker in role all; N: one warehouse writer and N processor processes (web ports +1..N)"
        ),
    ] = 0,
) -> None:
    """Run the edge and the worker together in the foreground; Ctrl-C stops all."""
    workers = [["worker"]]
    if processors:
        port = get_settings().worker_port
        workers = [["worker", "--role", "store"]]
        workers += [["worker", "--role", "process", "--port", str(port + i)] for i in range(1, processors + 1)]
    procs = [subprocess.Popen([sys.executable, "-m", "leadstream", *args]) for args in [*workers, ["edge"]]]
    asked_to_stop = False

    def stop(*_: object) -> None:
        nonlocal asked_to_stop
        asked_to_stop = True
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        crashed = not asked_to_stop
    finally:
        stop()
        codes = [p.wait() for p in procs]
    if crashed:  # one of them died by itself: say so and fail
        exits = ", ".join(f"{' '.join(a)} exited {c}" for a, c in zip([*workers, ["edge"]], codes, strict=True))
        err.print(f"[red]stopped:[/red] {exits}; see the log above")
        raise typer.Exit(1)


def _on_warehouse(endpoint: str, work: Callable[[Client], dict[str, Any]]) -> tuple[dict[str, Any], str]:
    """Run ``work`` on the warehouse and return its answer and where it ran. In embedded mode the
    running worker owns the directory, so its ``endpoint`` does the work; with no worker running,
    or against a ClickHouse server, it runs here."""
    import httpx

    from leadstream.storage.warehouse import Warehouse, WarehouseLocked

    s = get_settings()
    if s.embedded_warehouse:
        try:
            r = httpx.post(f"{s.worker_url}{endpoint}", json={}, headers=s.worker_headers, timeout=120)
        except httpx.ConnectError:
            pass  # no worker: nobody holds the directory
        else:
            if r.status_code != 200:
                hint = "" if s.worker_token else " (set LEADSTREAM_WORKER_TOKEN as the worker has it: var/secrets.env)"
                raise _fail(f"the worker answered {r.status_code}: {r.text[:2000]}{hint}")
            return r.json(), " through the worker"
    w = Warehouse(s.clickhouse_dsn, s.clickhouse_database)
    try:
        w.open()
    except WarehouseLocked as exc:
        raise _fail(str(exc)) from None
    try:
        return w.sync(work), ""
    finally:
        w.close()


@app.command()
def migrate() -> None:
    """Apply pending warehouse migrations (idempotent)."""
    from leadstream.storage.migrations import migrate as apply

    done, where = _on_warehouse("/leadstream/migrate", lambda c: {"applied": [m.label for m in apply(c)]})
    console.print(f"applied{where}: {', '.join(done['applied']) or 'nothing (up to date)'}")


@stats_app.command("refresh")
def stats_refresh() -> None:
    """Refresh the materialised daily statistics now (the worker does every LEADSTREAM_DAILY_STATS_REFRESH_S)."""
    from leadstream.storage.daily_stats import refresh_daily_stats

    margin_s = get_settings().daily_stats_margin_s
    done, where = _on_warehouse("/leadstream/stats/refresh", lambda c: refresh_daily_stats(c, margin_s).as_dict())
    since = f"changes since {done['changes_since']}" if done["changes_since"] else "first refresh: all recomputed"
    console.print(f"refreshed{where}: {done['site_days']} site-day row(s) at {done['refreshed_at']} ({since})")


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="a read-only SQL statement")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="table | json | tsv")] = "table",
) -> None:
    """Run a read-only query against the warehouse (through the worker in embedded mode)."""
    from leadstream.storage.analyst import QueryError, analyst_query
    from leadstream.storage.warehouse import WarehouseLocked

    try:
        result = analyst_query(get_settings(), sql)
    except (QueryError, WarehouseLocked) as exc:
        raise _fail(str(exc)) from None
    _print_result(result, fmt)


def _site_command(public_id: str, update: dict[str, object], must_exist: bool) -> None:
    from leadstream.schemas.sites import SiteRecord
    from leadstream.sites.registry import RegistryUnavailable, publish_site, read_sites

    s = get_settings()

    async def go() -> SiteRecord:
        current = {site.public_id: site for site in await read_sites(s)}.get(public_id)
        if must_exist and current is None:
            raise _fail(f"no site {public_id!r}; add it with `leadstream sites add {public_id}`")
        # a sealed secret carries over as sealed: this process may not hold the key that opens it
        kept_secret = {"signing_secret"} if current is not None and current.signing_secret_sealed else set()
        base = current.model_dump(exclude={"updated_at", *kept_secret}) if current else {"public_id": public_id}
        changes = {k: v for k, v in update.items() if v is not None}
        if "signing_secret" in changes:
            changes["signing_secret_sealed"] = None  # a new secret, sealed anew
        site = SiteRecord.model_validate({**base, **changes})
        await publish_site(s, site)
        return site

    try:
        site = asyncio.run(go())
    except (ValueError, RegistryUnavailable) as exc:  # SealingKeyMissing is a ValueError
        raise _fail(str(exc)) from None
    console.print(f"site {site.public_id}: active={site.active} origins={', '.join(site.origins) or '-'}")


@sites_app.command("add")
def sites_add(
    public_id: Annotated[str, typer.Argument(help="the id trackers send as `s`")],
    name: Annotated[str, typer.Option(help="display name")] = "",
    origin: Annotated[list[str] | None, typer.Option(help="allowed origin, repeatable")] = None,
    secret: Annotated[str | None, typer.Option(help="signing secret for /api/call-event")] = None,
    require_consent: Annotated[
        bool, typer.Option(help="events without consent_scopes count as not consented (not stored)")
    ] = False,
) -> None:
    """Register a site (or replace its settings)."""
    fields = {"name": name, "origins": origin or [], "signing_secret": secret, "require_consent": require_consent}
    _site_command(public_id, {**fields, "active": True}, False)


@sites_app.command("update")
def sites_update(
    public_id: str,
    name: Annotated[str | None, typer.Option()] = None,
    origin: Annotated[list[str] | None, typer.Option(help="replaces the origin list, repeatable")] = None,
    secret: Annotated[str | None, typer.Option()] = None,
    active: Annotated[bool | None, typer.Option("--active/--inactive")] = None,
    require_consent: Annotated[
        bool | None,
        typer.Option("--require-consent/--no-require-consent", help="events without consent_scopes are not stored"),
    ] = None,
) -> None:
    """Change a registered site."""
    fields = {"name": name, "origins": origin, "signing_secret": secret, "require_consent": require_consent}
    _site_command(public_id, {**fields, "active": active}, True)


@sites_app.command("disable")
def sites_disable(public_id: str) -> None:
    """Stop accepting events for a site (answers 404)."""
    _site_command(public_id, {"active": False}, True)


@sites_app.command("new-key")
def sites_new_key() -> None:
    """Print a new key for LEADSTREAM_SITES_KEYS (seals the sites' signing secrets on the topic)."""
    from leadstream.sites.sealing import new_key

    print(new_key())


@sites_app.command("list")
def sites_list() -> None:
    """List registered sites."""
    from leadstream.sites.registry import RegistryUnavailable, read_sites

    try:
        sites = asyncio.run(read_sites(get_settings()))
    except RegistryUnavailable as exc:
        raise _fail(str(exc)) from None
    table = Table("public_id", "name", "active", "origins", "signed", "consent", "updated_at")
    for site in sites:
        table.add_row(
            site.public_id,
            site.name,
            str(site.active),
            ", ".join(site.origins),
            "yes" if site.signed else "no",
            "required" if site.require_consent else "assumed",
            site.updated_at.isoformat(timespec="seconds"),
        )
    console.print(table)


def _print_result(result: object, fmt: str) -> None:
    columns, rows = result.columns, result.rows  # type: ignore[attr-defined]
    if fmt == "json":
        records = [dict(zip(columns, r, strict=True)) for r in rows]
        sys.stdout.write(orjson.dumps(records, default=str).decode() + "\n")
    elif fmt == "tsv":
        sys.stdout.write("\t".join(columns) + "\n")
        for r in rows:
            sys.stdout.write("\t".join("" if v is None else str(v) for v in r) + "\n")
    else:
        table = Table(*columns)
        for r in rows:
            table.add_row(*("NULL" if v is None else str(v) for v in r))
        console.print(table)


@dlq_app.command("list")
def dlq_list(
    stage: Annotated[str | None, typer.Option(help="only this stage, e.g. events")] = None,
    limit: Annotated[int, typer.Option(help="newest first, at most this many")] = 50,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table | json | tsv")] = "table",
) -> None:
    """List dead letters: where they came from and why they failed."""
    from leadstream.commands.dead_letters import list_dead_letters
    from leadstream.storage.analyst import QueryError

    try:
        _print_result(list_dead_letters(get_settings(), stage, limit), fmt)
    except (QueryError, ValueError) as exc:
        raise _fail(str(exc)) from None


@dlq_app.command("replay")
def dlq_replay(
    stage: Annotated[str | None, typer.Option(help="only this stage, e.g. events")] = None,
    limit: Annotated[int, typer.Option(help="at most this many")] = 10_000,
) -> None:
    """Publish dead letters to their source topics again (after a fix)."""
    from rich.progress import Progress

    from leadstream.commands.dead_letters import replay_dead_letters
    from leadstream.storage.analyst import QueryError

    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("replaying", total=None)
        try:
            n = asyncio.run(
                replay_dead_letters(get_settings(), stage, limit, lambda i: progress.update(task, completed=i))
            )
        except (QueryError, ValueError) as exc:
            raise _fail(str(exc)) from None
    console.print(f"replayed {n} dead letter(s)")


@os_app.command("load")
def os_load(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSONL or CSV file")],
    tenant: Annotated[str, typer.Option(help="the tenant these rows belong to")],
    kind: Annotated[str, typer.Option(help="companies | signals")] = "companies",
) -> None:
    """Load a tenant's companies or signals (the `custom` discovery source)."""
    from rich.progress import Progress

    from leadstream.commands.os_load import KINDS, load_file

    if kind not in KINDS:
        raise _fail(f"--kind must be one of {', '.join(KINDS)}")
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task(f"loading {kind}", total=None)
        sent, problems = asyncio.run(
            load_file(get_settings(), tenant, kind, path, lambda n: progress.update(task, completed=n))
        )
    for problem in problems[:20]:
        err.print(f"[yellow]skipped[/yellow] {problem}")
    console.print(f"loaded {sent} {kind} for tenant {tenant}" + (f"; skipped {len(problems)}" if problems else ""))
    if problems:
        raise typer.Exit(1)


@app.command()
def status(
    watch: Annotated[bool, typer.Option("--watch", help="refresh until Ctrl-C")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print it as JSON, for scripts")] = False,
    interval: Annotated[float, typer.Option(help="seconds between the two lag readings (and refreshes)")] = 0.0,
) -> None:
    """One screen for an operator: stack health, lag and rate per consumer group, dead letters, last errors."""
    from rich.live import Live

    from leadstream.observability.status import gather, render

    s = get_settings()
    interval = interval or (2.0 if watch else 1.0)
    if as_json and not watch:
        found = gather(s, interval)
        sys.stdout.write(orjson.dumps(found, default=str, option=orjson.OPT_INDENT_2).decode() + "\n")
        raise typer.Exit(0 if found["ok"] else 1)
    if not watch:
        found = gather(s, interval)
        console.print(render(found))
        raise typer.Exit(0 if found["ok"] else 1)
    try:
        with Live(console=console, auto_refresh=False, screen=False) as live:
            while True:
                found = gather(s, interval)
                if as_json:
                    sys.stdout.write(orjson.dumps(found, default=str).decode() + "\n")
                    sys.stdout.flush()
                else:
                    live.update(render(found), refresh=True)
    except KeyboardInterrupt:
        pass


def main() -> None:
    try:
        get_settings()  # a bad setting fails here, named, rather than deep inside a command
    except (ValidationError, SettingsError) as exc:
        for line in settings_problems(exc):
            print(line, file=sys.stderr)
        print("fix it in the environment or .env (see the settings table in README.md)", file=sys.stderr)
        raise SystemExit(2) from None
    app()


@privacy_app.command("erase")
def privacy_erase(
    site: Annotated[str, typer.Option(help="the site the visitor was tracked on")],
    fingerprint: Annotated[str | None, typer.Option(help="the visitor id (meta.fp): all its sessions")] = None,
    session: Annotated[str | None, typer.Option(help="one session id")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="count what would be removed, change nothing")] = False,
    wait: Annotated[float, typer.Option(help="seconds to wait for the worker to carry it out")] = 120.0,
) -> None:
    """Remove a visitor's (or a session's) events, sessions and calls, and keep them out for good."""
    from leadstream.privacy import requests
    from leadstream.storage.analyst import QueryError

    if (fingerprint is None) == (session is None):
        raise _fail("give exactly one of --fingerprint or --session")
    scope = "fingerprint" if fingerprint is not None else "session"
    value = str(fingerprint if fingerprint is not None else session).strip()
    s = get_settings()
    if dry_run:
        try:
            found = requests.counts(s, site, scope, value)
        except QueryError as exc:
            raise _fail(f"could not count in the warehouse: {exc}") from None
        _print_counts(f"dry run: an erasure of this {scope} on {site} would remove", found)
        return

    request = asyncio.run(requests.publish(s, site, scope, value))
    console.print(f"erasure {request.request_id} accepted (the worker carries it out and keeps the {scope} out)")
    with console.status("waiting for the worker to remove the rows..."):
        try:
            done = asyncio.run(requests.wait_done(s, request.request_id, wait))
        except Exception as exc:  # the request stands: the worker carries it out when it runs
            raise _fail(f"could not read the result ({exc}); it is carried out when the worker runs") from None
    if done is None:
        raise _fail(
            f"not carried out within {wait:.0f}s: is the worker running? It carries the request out when it "
            f"starts; check with: leadstream query \"SELECT * FROM erasures WHERE request_id = '{request.request_id}'\""
        )
    _print_counts("removed", done)


def _print_counts(title: str, counts: dict[str, int]) -> None:
    table = Table(*counts)
    table.add_row(*(str(n) for n in counts.values()))
    console.print(title)
    console.print(table)
