"""The sales-OS stages as chained stream processors: one Faust agent per stage topic.

A run enters at its first stage; each agent does its stage, records the result on the run
and forwards it to the next stage's topic. After the last stage the run is answered
(through Redis, to the waiting edge; the answer is kept for ``GET /api/os/pipeline/{id}``)
and published to the runs topic, which the table sink copies into ``os_runs``.
Stages are stateless, so a re-delivered run is simply done again (same run id).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import faust
import orjson
import redis.asyncio as aioredis
from pydantic import ValidationError

from leadstream.observability import metrics as m
from leadstream.observability.health import LOOPS
from leadstream.observability.logs import PARTITION, RUN_ID
from leadstream.providers import CONNECTORS, ProviderQuery, search_providers
from leadstream.redis.replies import post_reply
from leadstream.salesos.discovery_v2 import discovery_v2_data, search
from leadstream.salesos.stages import (
    STAGES,
    discover,
    discovery_filters,
    discovery_limit,
    enrich,
    leads_from_ranked,
    outreach_for,
    rank,
    requested_sources,
    score_all,
)
from leadstream.schemas.os import OSRun
from leadstream.scoring.os_profiles import resolve_profile
from leadstream.scoring.os_scores import score_entity
from leadstream.settings import Settings
from leadstream.storage.warehouse import Warehouse
from leadstream.streams.os_ai import OSAssistant
from leadstream.streams.raw import raw_topic
from leadstream.streams.runtime.dead_letters import dead_letter_headers, invalid_reason

log = logging.getLogger(__name__)
REPLY_KIND = "os"


class StageError(Exception):
    def __init__(self, status: int, error: str, error_code: str) -> None:
        super().__init__(error)
        self.status, self.error, self.error_code = status, error, error_code


class OSStages:
    """What each stage does to a run; reads the tenant's rows from the warehouse."""

    def __init__(self, settings: Settings, warehouse: Warehouse) -> None:
        self._settings = settings
        self._warehouse = warehouse
        self._ai = OSAssistant(settings)

    async def _rows(self, sql: str, tenant: str, **params: str) -> list[dict[str, Any]]:
        result = await self._warehouse.read(sql, {"tenant": tenant, **params})
        rows = [dict(zip(result.columns, r, strict=True)) for r in result.rows]
        for row in rows:  # extra fields loaded with the record live in `data`
            extra = orjson.loads(row.pop("data") or "{}")
            row.update({k: v for k, v in extra.items() if k not in row})
            row.pop("tenant_id", None)
        return rows

    async def companies(self, tenant: str, company_id: str | None = None) -> list[dict[str, Any]]:
        where = " AND company_id = {company:String}" if company_id else ""
        return await self._rows(
            "SELECT company_id, name, domain, industry, size, linkedin_url, location, data FROM os_companies_v "
            "WHERE tenant_id = {tenant:String}" + where + " ORDER BY company_id",
            tenant,
            **({"company": company_id} if company_id else {}),
        )

    async def signals(self, tenant: str, company_id: str | None = None) -> list[dict[str, Any]]:
        where = " AND company_id = {company:String}" if company_id else ""
        return await self._rows(
            "SELECT signal_id, company_id, type, source, evidence, confidence, date, data FROM os_signals_v "
            "WHERE tenant_id = {tenant:String}" + where,
            tenant,
            **({"company": company_id} if company_id else {}),
        )

    # --- the stages ------------------------------------------------------------------------
    async def discovery(self, run: OSRun) -> None:
        if run.endpoint.endswith("/discovery-v2"):
            return await self._discovery_v2(run)
        config = run.request.get("config") or {}
        if run.endpoint.endswith("/pipeline"):
            config = {**config, **(config.get("discovery") or {})}
        tenant = run.tenant_id
        query = ProviderQuery(discovery_filters(config), discovery_limit(config), run.context.get("region", "UAE"))
        companies, signals, (external, failed) = await asyncio.gather(
            self.companies(tenant),
            self.signals(tenant),
            search_providers(self._settings, requested_sources(config), query),
        )
        external_found = {name: result.as_dict() for name, result in external.items()}
        run.results["discovery"] = discover(companies, signals, config, failed, external_found)

    async def _discovery_v2(self, run: OSRun) -> None:
        """The query over the tenant's companies and every provider connector that has credentials."""
        query = run.request.get("query") or ""
        strict = bool((run.request.get("options") or {}).get("strictMode"))
        sources = ["custom", *(c.name for c in CONNECTORS.values() if c.configured(self._settings))]
        asked = ProviderQuery({"keywords": query} if query.strip() else {}, 100, run.context.get("region", "UAE"))
        companies, signals, (external, failed) = await asyncio.gather(
            self.companies(run.tenant_id),
            self.signals(run.tenant_id),
            search_providers(self._settings, sources, asked),
        )
        found = {name: result.as_dict() for name, result in external.items()}
        run.results["discovery"] = search(companies, signals, query, strict, sources, failed, found)

    async def enrich(self, run: OSRun) -> None:
        run.results["enrich"] = enrich(run.results.get("discovery", {}))

    async def score(self, run: OSRun) -> None:
        now = datetime.now(UTC)
        profile, region = run.context.get("profile", "default"), run.context.get("region", "UAE")
        if run.endpoint.endswith("/score"):
            run.results["score"] = await self._score_one(run, profile, region, now)
        else:
            enriched = run.results.get("enrich", [])
            scored = score_all(enriched, profile, now, region)
            scoring = (run.request.get("config") or {}).get("scoring")
            await self._ai.explain(run, scoring, scored, [(e["entity"], e["signals"]) for e in enriched])
            run.results["score"] = scored

    async def _score_one(self, run: OSRun, profile: str, region: str, now: datetime) -> dict[str, Any]:
        req = run.request
        options = req.get("options") or {}
        entity = req.get("entity_data")
        signals = req.get("signals")
        entity_id = req.get("entity_id")
        if not entity:
            found = await self.companies(run.tenant_id, str(entity_id))
            if not found:
                raise StageError(404, f"No entity {entity_id!r} for this tenant", "OS_SCORE_NOT_FOUND")
            entity = found[0]
            if signals is None:
                signals = await self.signals(run.tenant_id, str(entity_id))
        data = score_entity(
            entity,
            signals or [],
            options.get("profile") or profile,
            now,
            region,
            score_types=req.get("score_types"),
            include_breakdown=options.get("include_breakdown", True),
            include_explanation=options.get("include_explanation", True),
            entity_id=entity_id,
            entity_type=req.get("entity_type") or "company",
        )
        scored = [data]
        await self._ai.explain(run, options, scored, [(entity, signals or [])])
        return scored[0]

    async def rank(self, run: OSRun) -> None:
        run.results["rank"] = rank(run.results.get("score", []))

    async def outreach(self, run: OSRun) -> None:
        now = datetime.now(UTC)
        profile = run.context.get("profile", "default")
        if run.endpoint.endswith("/outreach"):
            options = run.request.get("options") or {}
            leads = run.request.get("leads") or []
            score = run.request.get("score")
        else:
            options = (run.request.get("config") or {}).get("outreach") or {}
            leads = leads_from_ranked(run.results.get("rank", []), run.results.get("enrich", []))
            score = None
        profile = options.get("profile") or profile
        items = outreach_for(leads, options, profile, score, now)
        await self._ai.write_outreach(run, options, items, leads, resolve_profile(profile), score)
        run.results["outreach"] = items

    def handler(self, stage: str) -> Callable[[OSRun], Awaitable[None]]:
        return getattr(self, stage)  # type: ignore[no-any-return]


def answer(run: OSRun) -> dict[str, Any]:
    """The reply the edge turns into the response: ``status``, ``data`` or the error, tenant."""
    if run.error:
        return {
            "status": run.error["status"],
            "error": run.error["error"],
            "error_code": run.error["error_code"],
            "tenant_id": run.tenant_id,
            "endpoint": run.endpoint,
        }
    r = run.results
    if run.endpoint.endswith("/score"):
        data: dict[str, Any] = r["score"]
    elif run.endpoint.endswith("/discovery"):
        data = {**r["discovery"], "region": run.context.get("region"), "vertical": run.context.get("vertical")}
    elif run.endpoint.endswith("/discovery-v2"):
        data = discovery_v2_data(r["discovery"], r["rank"], run.request, run.context)
    elif run.endpoint.endswith("/outreach"):
        data = {"outreach_items": r["outreach"], "total": len(r["outreach"])}
    else:
        data = {"pipeline_id": run.run_id, "status": "completed", "stages": pipeline_stages(run)}
    return {"status": 200, "data": data, "tenant_id": run.tenant_id, "endpoint": run.endpoint}


def pipeline_stages(run: OSRun) -> dict[str, Any]:
    r = run.results
    shown = {
        "discovery": lambda: {
            "companies": r["discovery"]["companies"],
            "total": r["discovery"]["total"],
            "sources": r["discovery"]["sources"],
        },
        "enrich": lambda: {"enriched": r["enrich"]},
        "score": lambda: {"scores": r["score"]},
        "rank": lambda: {"ranked": r["rank"]},
        "outreach": lambda: {"messages": r["outreach"]},
    }
    return {s: ({"status": "completed", **shown[s]()} if s in r else {"status": "skipped"}) for s in STAGES}


def register_os_chain(app: faust.App, settings: Settings, warehouse: Warehouse) -> None:
    stages = OSStages(settings, warehouse)
    partitions = settings.topic_partitions
    topics = {s: raw_topic(app, settings.topics.os_stage(s), partitions=partitions) for s in STAGES}
    runs = raw_topic(app, settings.topics.os_runs, partitions=partitions)
    dead_letters = raw_topic(app, settings.topics.dead_letters, partitions=1)
    redis = aioredis.from_url(settings.redis_url, socket_timeout=1, socket_connect_timeout=1)
    pending: set[asyncio.Future[None]] = set()  # acks and replies in flight, held so they are not collected

    def in_background(coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        pending.add(task)
        task.add_done_callback(pending.discard)

    async def reply_to_edge(run_id: str, reply: dict[str, Any]) -> None:
        try:
            await post_reply(redis, settings.topic_prefix, REPLY_KIND, run_id, reply)
        except Exception as exc:  # the edge falls back; the run is still recorded
            log.warning("could not post OS reply: %r", exc)

    async def finish(run: OSRun) -> Awaitable[Any]:
        reply = answer(run)
        # Not awaited: a Redis round trip per run would cap the stage at one run per round trip.
        in_background(reply_to_edge(run.run_id, reply))
        record = {**run.model_dump(mode="json"), "answer": reply, "finished_at": datetime.now(UTC).isoformat()}
        return await runs.send(key=run.run_id.encode(), value=orjson.dumps(record))

    def ack_when_sent(stream: faust.StreamT, event: faust.EventT, sent: Awaitable[Any]) -> None:
        """Ack (and so let commit) the input only once its output is in Kafka, without waiting
        for that here: the next run starts while this one's send is in flight."""

        async def ack() -> None:
            try:
                await sent
            except Exception as exc:  # not acked: the run is done again after a restart
                log.error("OS run output not sent (%r); its input stays uncommitted", exc)
                return
            await stream.ack(event)

        in_background(ack())

    def make_agent(stage: str) -> None:
        handler = stages.handler(stage)
        health = LOOPS.loop(f"os stage {stage}", kind="event")
        processed = m.RECORDS_PROCESSED.labels(f"os_{stage}")

        async def process(stream: faust.StreamT) -> None:
            manual = stream.noack()
            async for event in manual.events():
                health.busy()
                PARTITION.set(event.message.partition)
                try:
                    run = OSRun.model_validate_json(event.value)
                except ValidationError as exc:  # dead-lettered like every processor's poison records
                    msg = event.message
                    headers = dead_letter_headers(
                        f"os-{stage}", invalid_reason(exc), msg.topic, msg.partition, msg.offset
                    )
                    sent = await dead_letters.send(key=msg.key, value=msg.value, headers=headers)
                    ack_when_sent(manual, event, sent)
                    health.idle()
                    continue
                RUN_ID.set(run.run_id)
                started, outcome = time.perf_counter(), "ok"
                try:
                    await handler(run)
                    run.stages = run.stages[1:]
                except StageError as exc:
                    outcome = "refused"
                    run.error = {"status": exc.status, "error": exc.error, "error_code": exc.error_code}
                    run.stages = []
                except Exception as exc:  # a bug in a stage must not stop the chain for everyone
                    outcome = "failed"
                    log.exception("OS stage %s failed for run %s", stage, run.run_id)
                    run.error = {
                        "status": 500,
                        "error": f"stage {stage} failed: {exc!r}"[:500],
                        "error_code": "OS_STAGE_FAILED",
                    }
                    run.stages = []
                if run.stages:
                    nxt = topics[run.stages[0]]
                    sent = await nxt.send(key=run.run_id.encode(), value=run.model_dump_json().encode())
                else:
                    sent = await finish(run)
                ack_when_sent(manual, event, sent)
                m.OS_STAGE_DURATION.labels(stage, outcome).observe(time.perf_counter() - started)
                processed.inc()
                health.idle()

        app.agent(topics[stage], name=f"os_{stage}", concurrency=1)(process)

    for stage in STAGES:
        make_agent(stage)
