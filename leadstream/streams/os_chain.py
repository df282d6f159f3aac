"""The sales-OS stages as chained stream processors: one consumer group per stage topic, on the
stream runtime (``streams/runtime``).

A run enters at its first stage; each stage does its work on a batch of runs at once, records
the result on each run and forwards it to the next stage's topic. After the last stage the run
is published to the runs topic (which the table sink copies into ``os_runs``) and, once that is
in Kafka, answered through Redis to the waiting edge (the answer is kept for
``GET /api/os/pipeline/{id}``). Stages are stateless, so a re-delivered run is simply done
again (same run id).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import faust
import orjson
import redis.asyncio as aioredis
from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError

from leadstream.observability import metrics as m
from leadstream.observability.logs import PARTITION, RUN_ID
from leadstream.providers import CONNECTORS, ProviderQuery, ProviderResult, provider_breakers, search_providers
from leadstream.providers.custom import SEARCHED_ROWS, TenantCompanies
from leadstream.redis.replies import post_replies
from leadstream.salesos.discovery_v2 import discovery_v2_data, query_matcher, search
from leadstream.salesos.more_calls import INTELLIGENCE_ENDPOINTS, MORE_STAGES
from leadstream.salesos.stages import (
    MAX_LIMIT,
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
from leadstream.streams.os_more import MoreStages, records_of
from leadstream.streams.runtime.changelog_table import ChangelogTable
from leadstream.streams.runtime.checkpoint import Outcome
from leadstream.streams.runtime.dead_letters import invalid_reason
from leadstream.streams.runtime.group import FlushWindow
from leadstream.streams.runtime.producer import BulkProducer
from leadstream.streams.runtime.runner import Runner

log = logging.getLogger(__name__)
REPLY_KIND = "os"
BATCH_RUNS = 100  # at most this many runs a batch, done concurrently


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
        self._custom = TenantCompanies(warehouse)  # discovery reads a page of the tenant's companies at a time
        self._provider_breakers = provider_breakers()
        self._more = MoreStages(settings, warehouse, self._provider_breakers)

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
        tenant, sources = run.tenant_id, requested_sources(config)
        region = run.context.get("region", "UAE")
        query = ProviderQuery(discovery_filters(config), discovery_limit(config), region, tenant)
        (companies, signals), (external, failed) = await asyncio.gather(
            self._custom.matching(tenant, query.limit, query.filters) if "custom" in sources else _nothing(),
            search_providers(self._settings, sources, query, self._provider_breakers),
        )
        companies += await self._copies(tenant, sources, external, companies)
        external_found = {name: result.as_dict() for name, result in external.items()}
        run.results["discovery"] = discover(companies, signals, config, failed, external_found)

    async def _discovery_v2(self, run: OSRun) -> None:
        """The query over the tenant's companies and every provider connector that has credentials."""
        query = run.request.get("query") or ""
        strict = bool((run.request.get("options") or {}).get("strictMode"))
        sources = ["custom", *(c.name for c in CONNECTORS.values() if c.configured(self._settings))]
        keywords = {"keywords": query} if query.strip() else {}
        asked = ProviderQuery(keywords, 100, run.context.get("region", "UAE"), run.tenant_id)
        (companies, signals), (external, failed) = await asyncio.gather(
            self._custom.matching(
                run.tenant_id, MAX_LIMIT, accept=query_matcher(query, strict), max_rows=SEARCHED_ROWS
            ),
            search_providers(self._settings, sources, asked, self._provider_breakers),
        )
        companies += await self._copies(run.tenant_id, sources, external, companies)
        found = {name: result.as_dict() for name, result in external.items()}
        run.results["discovery"] = search(companies, signals, query, strict, sources, failed, found)

    async def _copies(
        self, tenant: str, sources: list[str], external: dict[str, ProviderResult], known: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """The tenant's companies (beyond ``known``) that providers found too: discovery keeps the
        tenant's copy in place of a provider's."""
        if "custom" not in sources or not external:
            return []
        found = [c for result in external.values() for c in result.companies]
        return await self._custom.copies_of(tenant, found, [str(c["company_id"]) for c in known])

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
            pipeline = run.endpoint.endswith("/pipeline")  # only a pipeline's body has a (typed) config
            scoring = (run.request.get("config") or {}).get("scoring") if pipeline else None
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

    async def intelligence(self, run: OSRun) -> None:
        """Enrich, Decision Mode, feedback, deal evaluation and diag (``streams/os_more.py``)."""
        refusal = await self._more.handle(run)
        if refusal is not None:
            raise StageError(*refusal)

    def handler(self, stage: str) -> Callable[[OSRun], Awaitable[None]]:
        return getattr(self, stage)  # type: ignore[no-any-return]


async def _nothing() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return [], []


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
    elif run.endpoint in INTELLIGENCE_ENDPOINTS:
        data = r["intelligence"]
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


class EdgeReplies:
    """Answers to the waiting edges through Redis: best effort (the edge falls back, the run is
    recorded anyway), and in the background, so an unreachable Redis does not slow the chain.
    A batch's answers go together, in one round trip (``post_replies``)."""

    def __init__(self, settings: Settings) -> None:
        self._redis = aioredis.from_url(settings.redis_url, socket_timeout=1, socket_connect_timeout=1)
        self._namespace = settings.topic_prefix
        self._pending: set[asyncio.Future[None]] = set()  # held so they are not collected

    async def post(self, answers: Sequence[tuple[str, dict[str, Any]]]) -> None:
        task = asyncio.ensure_future(self._post(answers))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _post(self, answers: Sequence[tuple[str, dict[str, Any]]]) -> None:
        try:
            await post_replies(self._redis, self._namespace, REPLY_KIND, answers)
        except Exception as exc:
            log.warning("could not post %d OS replies: %r", len(answers), exc)


class OSStage:
    """One stage as a processor (``streams/runtime/runner.py``): a batch's runs done concurrently,
    each forwarded to its next stage or, after its last, published with its answer."""

    table: ChangelogTable | None = None

    def __init__(self, stage: str, stages: OSStages, settings: Settings, replies: EdgeReplies) -> None:
        self.name = f"os stage {stage}"
        self.group = self.stage = f"os-{stage}"
        self.topics: Sequence[str] = [settings.topics.os_stage(stage)]
        self._step = stage
        self._handler = stages.handler(stage)
        self._settings = settings
        self._replies = replies

    async def process(self, records: list[ConsumerRecord]) -> Outcome:
        outcome = Outcome()
        runs: list[OSRun] = []
        work = []
        for record in records:
            try:
                run = OSRun.model_validate_json(record.value)
            except ValidationError as exc:  # dead-lettered like every processor's poison records
                outcome.dead.append((record, invalid_reason(exc)))
                continue
            runs.append(run)
            work.append(self._do(run, record.partition))
        topics, answers = self._settings.topics, []
        # A batch's finished runs go to one partition of the runs topic (nothing reads it by key: the
        # table keeps a run once whatever its partition), so one record batch and one acknowledgement
        # instead of one a partition; which partition follows the batch's first run.
        together = runs[0].run_id.encode() if runs else b""
        for run, reply in zip(runs, await asyncio.gather(*work), strict=True):
            key = run.run_id.encode()
            if reply is None:
                outcome.emit(topics.os_stage(run.stages[0]), key, key, run.model_dump_json().encode())
                continue
            answers.append((run.run_id, reply))
            for topic, record_key, value in records_of(run, topics):  # feedback: durable before its answer
                outcome.emit(topic, record_key, record_key, value)
            finished = {**run.model_dump(mode="json"), "answer": reply, "finished_at": datetime.now(UTC).isoformat()}
            outcome.emit(topics.os_runs, together, key, orjson.dumps(finished))
        if answers:
            outcome.then.append(lambda: self._replies.post(answers))  # once the runs are in Kafka
        return outcome

    async def _do(self, run: OSRun, partition: int) -> dict[str, Any] | None:
        """The stage on one run (its own task, so its own log context); the run's answer if it is done."""
        PARTITION.set(partition)
        RUN_ID.set(run.run_id)
        stage, started, outcome, reply = self._step, time.perf_counter(), "ok", None
        try:
            await self._handler(run)
            run.stages = run.stages[1:]
            if not run.stages:
                reply = answer(run)  # in here: a run that cannot be answered fails as its stage would
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
        m.OS_STAGE_DURATION.labels(stage, outcome).observe(time.perf_counter() - started)
        return reply if outcome == "ok" else answer(run)

    async def assigned(self, partitions: set[int]) -> None:
        """Stateless: nothing to recover or give up."""

    async def revoked(self, partitions: set[int] | None) -> None:
        """Stateless: nothing to recover or give up."""


def register_os_chain(app: faust.App, settings: Settings, warehouse: Warehouse, producer: BulkProducer) -> list[Runner]:
    """A runner per stage, each a task of the worker's app; a group that has never read a
    partition starts where the worker's Faust group (which ran the stages before) left it."""
    stages, replies = OSStages(settings, warehouse), EdgeReplies(settings)
    runners = [
        Runner(
            OSStage(stage, stages, settings, replies),
            settings,
            producer,
            # a batch is what one fetch brings (each hop is on a request's path); idle: long-poll 0.5 s
            FlushWindow(0.5, floor_s=0.0, factor=0.0),
            previous_group=settings.worker_group,
            batch_records=BATCH_RUNS,
            metrics_label=f"os_{stage}",
            commit_behind=True,  # a commit would hold up the runs behind it (commits.py)
        )
        for stage in (*STAGES, *MORE_STAGES)
    ]
    for runner in runners:
        app.task(runner.run)
    return runners
