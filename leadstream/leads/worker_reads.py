"""The edge's calls to the worker's leads and OCI endpoints (``streams/web_leads.py``): the edge
never opens the warehouse. Each call sends the worker token as ``Authorization: Bearer``, JSON."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from leadstream.settings import Settings

TIMEOUT_S = 30.0


class WorkerUnavailable(RuntimeError):
    """The worker did not answer (not running, or failing): the caller answers 503."""


async def ask_worker(settings: Settings, path: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """POST ``payload`` to the worker's ``path``; its status and JSON answer. 5xx, an unreadable
    answer or no worker raise ``WorkerUnavailable``; a refused token too (a misconfigured edge)."""
    headers = {**settings.worker_headers, "Content-Type": "application/json"}
    body = orjson.dumps(payload, default=str)
    try:
        async with httpx.AsyncClient(base_url=settings.worker_url, timeout=TIMEOUT_S) as client:
            response = await client.post(path, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise WorkerUnavailable(f"the worker is not reachable ({exc.__class__.__name__})") from None
    if response.status_code >= 500 or response.status_code in (401, 403, 415, 421):
        raise WorkerUnavailable(f"the worker answered {response.status_code}")
    try:
        answer = response.json()
    except ValueError:
        raise WorkerUnavailable("the worker's answer is not JSON") from None
    return response.status_code, answer if isinstance(answer, dict) else {}
