"""Fault injection on the local stack: stop and start its services from a test."""

from __future__ import annotations

import asyncio
import subprocess

import pytest

from leadstream.settings import REPO_ROOT

STACK = str(REPO_ROOT / "dev" / "stack.sh")


def stack_owned(service: str) -> bool:
    pidfile = REPO_ROOT / "var" / service / f"{service}.pid"
    return pidfile.exists()


async def stack(action: str, service: str) -> None:
    """``dev/stack.sh <action> <service>`` without blocking the event loop."""
    done = await asyncio.to_thread(subprocess.run, [STACK, action, service], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"stack.sh {action} {service} failed: {done.stderr}")


@pytest.fixture
def own_kafka(stack: None) -> None:
    if not stack_owned("kafka"):
        pytest.skip("Kafka was not started by dev/stack.sh here; cannot stop and restart it")
