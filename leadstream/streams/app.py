"""The worker process in its role: processors, warehouse writer, or both; with web endpoints
(Starlette on uvicorn, a task of the process; Faust's own web server stays off)."""

from __future__ import annotations

import asyncio
import logging

import faust
from faust.app.base import BootStrategy

from leadstream.commands.heap import WORKER_GC_THRESHOLDS, settle_heap
from leadstream.kafka.broker import core_topics, ensure_topics
from leadstream.observability.health import LOOPS
from leadstream.observability.lag import LagMonitor
from leadstream.observability.logs import reformat
from leadstream.privacy.erasure import ErasureExecutor
from leadstream.privacy.forgotten import ForgottenVisitors
from leadstream.settings import Settings
from leadstream.storage.migrations import migrate
from leadstream.storage.retention import apply_retention
from leadstream.storage.warehouse import QueryLimits, Warehouse
from leadstream.streams.copies import copy_specs
from leadstream.streams.daily_stats import DailyStatsRefresher
from leadstream.streams.lead_stages import stages_runner
from leadstream.streams.matcher import POLL_S as MATCH_POLL_S
from leadstream.streams.matcher import CallMatcher
from leadstream.streams.os_chain import register_os_chain
from leadstream.streams.runtime.changelog_table import ChangelogTable
from leadstream.streams.runtime.expiry import TableExpiry
from leadstream.streams.runtime.group import FlushWindow
from leadstream.streams.runtime.producer import BulkProducer
from leadstream.streams.runtime.runner import Runner
from leadstream.streams.runtime.sink import TableSink
from leadstream.streams.sessions import SessionScorer
from leadstream.streams.stats_rollup import StatsRollupRefresher
from leadstream.streams.web import WorkerWeb, create_web_app
from leadstream.streams.web_leads import keep_figures, queue_for

log = logging.getLogger(__name__)


PROCESSES = ("all", "process")  # the roles that run the scorer and the matcher
STORES = ("all", "store")  # the roles that open the warehouse


class _ShellBoot(BootStrategy):
    # The runtime's own consumers and producer do every Kafka read and write. Faust's consumer
    # thread, started with nothing to consume, still took 15 % of the writer's samples.
    enable_kafka = False


class WorkerShell(faust.App):
    """Faust as the process shell: lifecycle and tasks; no Kafka clients or web server of its own."""

    BootStrategy = _ShellBoot


def create_worker_app(settings: Settings, warehouse: Warehouse | None) -> faust.App:
    """The worker for ``settings.worker_role``: the processors (``process``), the warehouse
    writer (``store``; ``warehouse`` given), or both in one process (``all``)."""
    role = settings.worker_role
    LOOPS.configure(settings.health_stall_s, settings.health_crash_after)
    datadir = settings.worker_state_dir
    datadir.mkdir(parents=True, exist_ok=True)
    app = WorkerShell(
        settings.worker_group,
        broker=f"kafka://{settings.kafka_bootstrap}",
        store="memory://",  # Faust keeps no tables: the process shell only (README, "What runs on Faust")
        datadir=str(datadir),
        autodiscover=False,
        web_enabled=False,  # its aiohttp server bound every interface; the endpoints are WorkerWeb's
    )
    producer = BulkProducer(settings)  # every processor's outputs, changelogs and dead letters
    app.on_before_shutdown.connect(lambda *_, **__: producer.stop())
    forgotten = ForgottenVisitors(settings)  # every processor that stores a visitor's records asks it
    app.task(forgotten.run)
    if role in PROCESSES:
        for runner in processors(settings, producer, forgotten):
            app.task(runner.run)
            table = runner.processor.table
            if table is not None:
                expiry = TableExpiry(
                    table,
                    producer,
                    runner.processor.last_active,
                    runner.processor.ttl,
                    settings.state_expiry_interval_s,
                )
                app.task(expiry.run)
    refresher = None
    if role in STORES:
        assert warehouse is not None, "the store role opens the warehouse"
        app.task(ErasureExecutor(settings, warehouse, forgotten).run)
        for spec in copy_specs(settings, forgotten):
            app.task(TableSink(spec, settings, warehouse, producer).run)
        register_os_chain(app, settings, warehouse, producer)
        refresher = DailyStatsRefresher(settings, warehouse)
        app.task(refresher.run)
        app.task(StatsRollupRefresher(settings, warehouse).run)  # the Stats API's hourly rollup
        app.task(lambda: keep_figures(lambda: queue_for(warehouse, settings)))  # OCI queue figures in /metrics
    app.task(LagMonitor(settings.kafka_bootstrap, settings.worker_group, settings.metrics_lag_interval_s).run)
    web = WorkerWeb(create_web_app(settings, warehouse, refresher), settings)  # binds now: a port in use fails here
    app.task(web.serve)
    return app


def processors(settings: Settings, producer: BulkProducer, forgotten: ForgottenVisitors) -> list[Runner]:
    """The scorer and the matcher, each on the runtime in a group of its own."""
    return [
        scorer_runner(SessionScorer(settings, forgotten), settings, producer),
        matcher_runner(CallMatcher(settings, forgotten), settings, producer),
        stages_runner(settings, producer, forgotten),
    ]


def scorer_runner(scorer: SessionScorer, settings: Settings, producer: BulkProducer) -> Runner:
    # every turn: an erasure is carried out without new traffic
    window = FlushWindow(settings.processor_flush_s)
    return Runner(
        scorer,
        settings,
        producer,
        window,
        every_turn=True,
        previous_group=settings.worker_group,
        batch_records=settings.processor_batch_records,
    )


def matcher_runner(matcher: CallMatcher, settings: Settings, producer: BulkProducer) -> Runner:
    # every turn: a call whose grace ran out is answered without new records
    window = FlushWindow(MATCH_POLL_S, floor_s=MATCH_POLL_S)
    options = matcher.consumer_options
    return Runner(
        matcher,
        settings,
        producer,
        window,
        every_turn=True,
        consumer_options=options,
        previous_group=settings.worker_group,
        batch_records=settings.processor_batch_records,
    )


def prepare(settings: Settings) -> Warehouse | None:
    """Blocking start-up work before the worker runs: topics exist; for a role that stores, the
    warehouse open and migrated."""
    t = settings.topics
    changelogs = (t.sessions_changelog, t.matcher_changelog, t.lead_stages_changelog)
    state = [ChangelogTable.topic(name, settings) for name in changelogs]
    asyncio.run(ensure_topics(settings, [*core_topics(settings), *state]))
    if settings.worker_role not in STORES:
        return None
    warehouse = Warehouse(
        settings.clickhouse_dsn,
        settings.clickhouse_database,
        settings.fault_warehouse_outage_file,
        QueryLimits.from_settings(settings),
    )
    warehouse.open()
    applied = warehouse.sync(migrate)
    for m in applied:
        log.info("applied migration %s", m.label)
    warehouse.sync(lambda client: apply_retention(client, settings))
    return warehouse


def run_worker(settings: Settings, loglevel: str = "info") -> None:
    import uvloop
    from faust.worker import Worker

    from leadstream.kafka import uvloop_fix as kafka_uvloop

    # The worker's loops (the main one and Faust's consumer thread's) run on uvloop, as the
    # edge's uvicorn does: the session scorer counted ~30 % more events/s, and the sales-OS
    # stages' p99 at 100 requests/s went from 51-99 ms to 30-46 ms in paired runs.
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    kafka_uvloop.install()

    warehouse = prepare(settings)
    level = logging.getLevelName(loglevel.upper())
    try:
        app = create_worker_app(settings, warehouse)

        @app.task
        async def set_root_log_level() -> None:
            # mode's logging setup leaves the root logger at DEBUG and filters in the handler, so
            # every library debug call (aiokafka logs several per produce) still builds a record.
            logging.getLogger().setLevel(level)
            reformat(settings.log_format)

        settle_heap(WORKER_GC_THRESHOLDS)
        # JSON logs: the handler the CLI installed stays (mode would replace it with its own)
        json_logs = settings.log_format == "json"
        faust_worker = Worker(app, loglevel=loglevel, quiet=True, override_logging=not json_logs)
        if json_logs:
            faust_worker.spinner = None  # its terminal codes would break the one-object-a-line output
        faust_worker.execute_from_commandline()
    finally:
        if warehouse is not None:
            warehouse.close()
