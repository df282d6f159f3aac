"""Fault injection on the local stack: stop and start its services from a test."""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid

import pytest

from leadstream.settings import REPO_ROOT

STACK = str(REPO_ROOT / "dev" / "stack.sh")


def stack_owned(service: str) -> bool:
    pidfile = REPO_ROOT / "var" / service / f"{service}.pid"
    return pidfile.exists()


async def stack(action: str, service: str) -> None:
    """``dev/stack.sh <action> <service>`` without blocking the event loop; after a start,
    also wait until Kafka takes new topics (the log says "started" before the controller is
    ready for them), so the next test does not pay for this one's restart."""
    done = await asyncio.to_thread(subprocess.run, [STACK, action, service], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"stack.sh {action} {service} failed: {done.stderr}")
    if action == "start" and service == "kafka":
        await kafka_usable()


async def kafka_usable(timeout_s: float = 90) -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    deadline = time.monotonic() + timeout_s
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers="127.0.0.1:9092", request_timeout_ms=5000)
        try:
            await admin.start()
            probe = f"test-probe-{uuid.uuid4().hex[:8]}"
            await admin.create_topics([NewTopic(probe, 1, 1)])
            await admin.delete_topics([probe])
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(1)
        finally:
            await admin.close()


def start_kafka_and_wait() -> None:
    """Blocking form, for tests that drive load from threads."""
    subprocess.run([STACK, "start", "kafka"], check=True, capture_output=True)
    asyncio.run(kafka_usable())


@pytest.fixture
def own_kafka(stack: None) -> None:
    if not stack_owned("kafka"):
        pytest.skip("Kafka was not started by dev/stack.sh here; cannot stop and restart it")
