"""Shared fixtures.

Unit tests need nothing. Integration tests use the real local stack (Kafka, Redis; chDB is
in-process): it is reused when running, else started with ``dev/stack.sh up``. Each test gets
its own topic prefix, consumer group, Redis db and ClickHouse database, so tests never see
each other's data.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import socket
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from leadstream.kafka import broker
from leadstream.settings import REPO_ROOT, Settings
from leadstream.sites.sealing import new_key
from leadstream.storage.migrations import migrate
from leadstream.storage.warehouse import Warehouse

pytest_plugins = ["tests.edge_fixtures"]

KAFKA = ("127.0.0.1", 9092)
REDIS = ("127.0.0.1", 6379)
_redis_dbs = itertools.cycle(range(1, 16))  # db 0 is left to `make run`
SITES_KEY = new_key()  # seals the test sites' signing secrets; made anew for each run
WORKER_TOKEN = secrets.token_urlsafe(32)  # the test workers' write token and analyst token, per run
ANALYST_TOKEN = secrets.token_urlsafe(32)


def port_open(addr: tuple[str, int]) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(addr) == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Fault-injection tests (they stop and restart services) run after everything else."""
    items.sort(key=lambda item: item.get_closest_marker("faults") is not None)


@pytest.fixture(scope="session")
def stack() -> Iterator[None]:
    """Kafka and Redis on 127.0.0.1, started by the project's own script if not running.

    Each fixture that makes topics deletes its own afterwards (never a sweep by pattern: another
    test run may share the broker).
    """
    if not (port_open(KAFKA) and port_open(REDIS)):
        subprocess.run([str(REPO_ROOT / "dev" / "stack.sh"), "up"], check=True)
    yield


def delete_topics(prefixes: tuple[str, ...]) -> None:
    """Delete the topics whose names start with one of ``prefixes``; a busy broker with thousands
    of leftover partitions makes every later topic creation and restart slow.

    Runs in a thread of its own, so the test session's event loop machinery stays out of the way.
    """
    cleanup = threading.Thread(target=lambda: asyncio.run(_delete_topics(prefixes)))
    cleanup.start()
    cleanup.join(timeout=60)


async def _delete_topics(prefixes: tuple[str, ...]) -> None:
    try:
        await broker.delete_topics(f"{KAFKA[0]}:{KAFKA[1]}", prefixes)
    except Exception as exc:  # cleanup only: never fail the run for it
        print(f"could not delete test topics: {exc!r}")


@pytest.fixture(scope="session")
def chdb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # chDB allows one data directory per process: in-process tests share it, each with its own database.
    return tmp_path_factory.mktemp("chdb")


def isolated_settings(var_dir: Path, chdb_dir: Path) -> Settings:
    """Settings no other test shares: topics, consumer group, Redis db, ClickHouse database, ports."""
    tag = uuid.uuid4().hex[:10]
    db = next(_redis_dbs)
    s = Settings(
        var_dir=var_dir,
        topic_prefix=f"test-{tag}.",
        worker_group=f"test-worker-{tag}",
        redis_url=f"redis://{REDIS[0]}:{REDIS[1]}/{db}",
        clickhouse_dsn=f"chdb://{chdb_dir}",
        clickhouse_database=f"test_{tag}",
        topic_partitions=2,
        produce_timeout_s=5.0,
        sink_flush_s=0.2,
        processor_flush_s=0.2,
        worker_port=free_port(),
        edge_port=free_port(),
        sites_keys=[SITES_KEY],
        worker_token=WORKER_TOKEN,
        analyst_tokens={"test-analyst": ANALYST_TOKEN},
    )
    redis.Redis.from_url(s.redis_url).flushdb()
    return s


@pytest.fixture
def settings(stack: None, chdb_dir: Path, tmp_path: Path) -> Iterator[Settings]:
    s = isolated_settings(tmp_path / "var", chdb_dir)
    yield s
    delete_topics((s.topic_prefix, s.worker_group))


@pytest.fixture
def warehouse(settings: Settings) -> Iterator[Warehouse]:
    """A migrated embedded warehouse in a database of its own, dropped afterwards."""
    w = Warehouse(settings.clickhouse_dsn, settings.clickhouse_database)
    w.open()
    w.sync(migrate)
    yield w
    w.sync(lambda c: c.command(f"DROP DATABASE IF EXISTS {settings.clickhouse_database}"))
    w.close()
