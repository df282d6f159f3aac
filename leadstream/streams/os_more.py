"""The ``intelligence`` stage: the SaaS's calls that need what the warehouse holds, beyond the pipeline.

* ``/enrich``: the tenant's companies (by id or domain) and their signal counts, plus every configured
  discovery provider asked about each domain; :mod:`leadstream.salesos.enrich_lookup` decides.
* ``/intelligence/session``: the leads' stored records and signals, and the session user's feedback of
  the last 90 days; :mod:`leadstream.salesos.decision_mode` decides. The answer is the session: kept in
  Redis for a day (the edge's replies) and for good in ``os_runs`` (run id = session id).
* ``/intelligence/feedback``: the session (as the edge found it in Redis, else from ``os_runs`` for this
  tenant: absent is 404), the user's earlier feedback; the action goes to the feedback topic with the run
  (``os_feedback`` keeps it) and the answer says what it changes.
* ``/intelligence/deal-evaluation``: the company by name or domain, its signals and composite score;
  :mod:`leadstream.salesos.deal_evaluation` decides, a configured model may phrase the reasoning.
* ``/__diag``: whether the warehouse answers.

Each call's result is left in ``run.results["intelligence"]``; a refusal is returned as
``(status, error, error_code)`` for the chain to answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from leadstream.providers import CONNECTORS, ProviderQuery, search_providers
from leadstream.providers.llm import ChatClient, LLMError
from leadstream.salesos import deal_evaluation, decision_mode, enrich_lookup
from leadstream.salesos.breaker import BreakerRegistry
from leadstream.salesos.more_calls import DEAL_EVALUATION, DIAG, ENRICH, FEEDBACK, SESSION
from leadstream.salesos.preferences import WINDOW_DAYS, Feedback, Preferences, what_changed
from leadstream.salesos.stages import domain_key
from leadstream.schemas.os import OSRun
from leadstream.schemas.os_more import OSFeedback
from leadstream.scoring.os_scores import score_entity
from leadstream.settings import Settings, Topics
from leadstream.storage.warehouse import Warehouse

log = logging.getLogger(__name__)
RESULT = "intelligence"
RECORDS = "records"  # what the run publishes besides its answer: [[topic attribute, key, value]]
Refusal = tuple[int, str, str]
SESSION_NOT_FOUND: Refusal = (404, "Session not found", "SESSION_NOT_FOUND")
PROVIDER_LOOKUPS = 10  # domains per enrich request asked of the providers (each provider asked once a domain)
MAX_FEEDBACK_ROWS = 10_000
SHARE_OF_REPLY_TIMEOUT = 0.6  # of the edge's wait, for the model (as the other AI stages)
_COMPANY_COLUMNS = "company_id, name, domain, industry, size, linkedin_url, location, data"
# A stored domain as a bare host, as ``domain_key`` makes it ("https://www.Acme.ae/x" -> "acme.ae").
_BARE_DOMAIN = "replaceRegexpOne(lower(trimBoth(domain)), '^(?:[a-z]+://)?(?:www\\\\.)?([^/:?#@]*).*$', '\\\\1')"


class MoreStages:
    def __init__(self, settings: Settings, warehouse: Warehouse, breakers: BreakerRegistry | None = None) -> None:
        self._settings = settings
        self._warehouse = warehouse
        self._provider_breakers = breakers  # per (provider, tenant), shared with discovery
        self._model = ChatClient.from_settings(settings)

    async def handle(self, run: OSRun) -> Refusal | None:
        handler = {
            ENRICH: self.enrich,
            SESSION: self.session,
            FEEDBACK: self.feedback,
            DEAL_EVALUATION: self.deal_evaluation,
            DIAG: self.diag,
        }.get(run.endpoint)
        if handler is None:
            return (400, f"The intelligence stage does not answer {run.endpoint[:64]}", "OS_INVALID_REQUEST")
        return await handler(run)

    # --- reading the warehouse ------------------------------------------------------------------
    async def _read(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        result = await self._warehouse.read(sql, params)
        rows = [dict(zip(result.columns, r, strict=True)) for r in result.rows]
        for row in rows:  # extra fields loaded with a company or signal live in `data`
            if "data" in row:
                extra = orjson.loads(row.pop("data") or "{}")
                row.update({k: v for k, v in extra.items() if k not in row})
        return rows

    async def companies(self, tenant: str, ids: Sequence[str], domains: Sequence[str]) -> list[dict[str, Any]]:
        if not ids and not domains:
            return []
        return await self._read(
            f"SELECT {_COMPANY_COLUMNS} FROM os_companies_v WHERE tenant_id = {{tenant:String}} "
            f"AND (company_id IN {{ids:Array(String)}} OR {_BARE_DOMAIN} IN {{domains:Array(String)}}) "
            "ORDER BY company_id",
            tenant=tenant,
            ids=list(ids),
            domains=list(domains),
        )

    async def company_named(self, tenant: str, name: str) -> dict[str, Any] | None:
        domain = domain_key(name) if enrich_lookup.looks_like_domain(name) else ""
        rows = await self._read(
            f"SELECT {_COMPANY_COLUMNS} FROM os_companies_v WHERE tenant_id = {{tenant:String}} "
            f"AND (lower(trimBoth(name)) = {{name:String}} OR {_BARE_DOMAIN} = {{domain:String}}) "
            "ORDER BY company_id LIMIT 1",
            tenant=tenant,
            name=" ".join(name.split()).casefold(),
            domain=domain or "\x00",
        )
        return rows[0] if rows else None

    async def signals(self, tenant: str, company_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        by_company: dict[str, list[dict[str, Any]]] = {}
        if not company_ids:
            return by_company
        rows = await self._read(
            "SELECT signal_id, company_id, type, source, evidence, confidence, date, data FROM os_signals_v "
            "WHERE tenant_id = {tenant:String} AND company_id IN {ids:Array(String)} ORDER BY signal_id",
            tenant=tenant,
            ids=list(company_ids),
        )
        for row in rows:
            by_company.setdefault(str(row["company_id"]), []).append(row)
        return by_company

    async def user_feedback(self, tenant: str, user: str) -> list[Feedback]:
        rows = await self._read(
            "SELECT company_id, action, industry FROM os_feedback_v WHERE tenant_id = {tenant:String} "
            "AND user_id = {user:String} AND recorded_at >= now64(3) - toIntervalDay({days:UInt32}) "
            "ORDER BY recorded_at, feedback_id LIMIT {limit:UInt32}",
            tenant=tenant,
            user=user,
            days=WINDOW_DAYS,
            limit=MAX_FEEDBACK_ROWS,
        )
        return [Feedback.from_row(r) for r in rows]

    async def stored_session(self, tenant: str, session_id: str) -> dict[str, Any] | None:
        """A session this tenant started, from ``os_runs``: its user, answer and leads."""
        rows = await self._read(
            "SELECT user_id, inputs, outputs FROM os_runs_v WHERE tenant_id = {tenant:String} "
            "AND run_id = {id:String} AND endpoint = {endpoint:String} AND status = 'completed' LIMIT 1",
            tenant=tenant,
            id=session_id,
            endpoint=SESSION,
        )
        if not rows:
            return None
        answer = orjson.loads(rows[0]["outputs"] or "{}").get("data") or {}
        request = orjson.loads(rows[0]["inputs"] or "{}")
        return {"user_id": answer.get("user_id") or rows[0]["user_id"], **answer, "leads": request.get("leads") or []}

    # --- enrich ---------------------------------------------------------------------------------
    async def enrich(self, run: OSRun) -> Refusal | None:
        ids = list(dict.fromkeys(str(i).strip() for i in _entity_ids(run.request) if str(i).strip()))
        domains = {i: domain_key(i) for i in ids if enrich_lookup.looks_like_domain(i)}
        known = await self.companies(run.tenant_id, ids, [d for d in domains.values() if d])
        by_id = {str(c["company_id"]): c for c in known}
        by_domain = {domain_key(c.get("domain")): c for c in known if domain_key(c.get("domain"))}
        matched = {i: by_id.get(i) or by_domain.get(domains.get(i)) for i in ids}
        signals = await self.signals(run.tenant_id, sorted({str(c["company_id"]) for c in matched.values() if c}))
        lookups = [d for d in dict.fromkeys(domains.values()) if d][:PROVIDER_LOOKUPS]
        hits, failed = await self._ask_providers(lookups, run.context.get("region", "UAE"), run.tenant_id)
        entities = []
        for entity_id in ids:
            company = matched[entity_id]
            domain = domain_key(company.get("domain")) if company else domains.get(entity_id)
            count = len(signals.get(str(company["company_id"]), [])) if company else 0
            entities.append(enrich_lookup.enriched_entity(entity_id, company, count, hits.get(domain or "", {})))
        configured = {c.name for c in CONNECTORS.values() if c.configured(self._settings)}
        ours = {enrich_lookup.LOADED, enrich_lookup.CLASSIFIER, *configured}
        asked = run.request.get("enrichment_sources") or []
        run.results[RESULT] = {
            "entities": entities,
            "sources_failed": [{"source": s, "reason": r} for s, r in sorted(failed.items())],
            "sources_unavailable": [s for s in dict.fromkeys(map(str, asked)) if s.casefold() not in ours],
        }
        return None

    async def _ask_providers(
        self, domains: Sequence[str], region: str, tenant: str
    ) -> tuple[dict[str, dict[str, Mapping[str, Any]]], dict[str, str]]:
        """``(hits, failed)``: per domain, the company each configured provider found with exactly that domain;
        per provider, why it did not answer (its first failure)."""
        names = [c.name for c in CONNECTORS.values() if c.configured(self._settings)]
        asks = [(d, n) for d in domains for n in names]
        if not asks:
            return {}, {}

        def query(domain: str, provider: str) -> ProviderQuery:
            stem = domain.split(".")[0]  # LinkedIn searches words; Apollo filters by domain
            filters = {"domain": domain} if provider == "apollo" else {"keywords": stem}
            return ProviderQuery(filters, 10, region, tenant)

        breakers = self._provider_breakers
        outcomes = await asyncio.gather(
            *(search_providers(self._settings, [n], query(d, n), breakers) for d, n in asks)
        )
        hits: dict[str, dict[str, Mapping[str, Any]]] = {}
        failed: dict[str, str] = {}
        for (domain, name), (found, why) in zip(asks, outcomes, strict=True):
            if name in why:
                failed.setdefault(name, why[name])
            elif name in found and (hit := enrich_lookup.provider_hit(found[name].as_dict(), domain)) is not None:
                hits.setdefault(domain, {})[name] = hit
        return hits, failed

    # --- Decision Mode --------------------------------------------------------------------------
    async def session(self, run: OSRun) -> Refusal | None:
        leads = [lead for lead in run.request.get("leads") or [] if isinstance(lead, Mapping)]
        keys = [k for k in (decision_mode.lead_key(lead) for lead in leads) if k]
        domains = [d for d in (domain_key(lead.get("domain")) for lead in leads) if d]
        user = run.user_id or run.tenant_id
        known, feedback = await asyncio.gather(
            self.companies(run.tenant_id, keys, domains), self.user_feedback(run.tenant_id, user)
        )
        by_key = {str(c["company_id"]): c for c in known}
        by_key.update({d: c for c in known if (d := domain_key(c.get("domain"))) and d not in by_key})
        signals = await self.signals(run.tenant_id, sorted({str(c["company_id"]) for c in known}))
        profile, region = run.context.get("profile", "default"), run.context.get("region", "UAE")
        ranked = decision_mode.candidates(
            leads, by_key, signals, Preferences.of(feedback), profile, region, datetime.now(UTC)
        )
        decided = decision_mode.decide(ranked, run.context.get("sub_vertical", "employee_banking"), profile)
        run.results[RESULT] = {"session_id": run.run_id, "user_id": user, **decided}
        return None

    async def feedback(self, run: OSRun) -> Refusal | None:
        request = run.request
        session_id = str(request["session_id"])
        session = run.results.get("session") or await self.stored_session(run.tenant_id, session_id)
        if session is None:
            return SESSION_NOT_FOUND
        company_id = str(request["company_id"])
        facts = _company_facts(session, company_id, request.get("metadata") or {})
        user = str(session.get("user_id") or run.tenant_id)
        action = str(request["action"])
        new = Feedback(company_id, action, enrich_lookup.normalise_industry(facts["industry"]))
        earlier = await self.user_feedback(run.tenant_id, user)
        record = OSFeedback(
            feedback_id=run.run_id,
            tenant_id=run.tenant_id,
            user_id=user,
            session_id=session_id,
            company_id=company_id,
            action=action,
            weight=new.weight,
            recorded_at=datetime.now(UTC),
            **facts,
        )
        run.results[RECORDS] = [["os_feedback", f"{run.tenant_id}:{user}", record.model_dump(mode="json")]]
        run.results[RESULT] = {
            "feedback_recorded": True,
            "preference_updated": True,
            "what_changed": what_changed(earlier, new, facts["company_name"] or None),
            "session_id": session_id,
            "company_id": company_id,
            "action": action,
        }
        return None

    # --- deal evaluation ------------------------------------------------------------------------
    async def deal_evaluation(self, run: OSRun) -> Refusal | None:
        deal = run.request.get("deal_context") or {}
        now = datetime.now(UTC)
        company = await self.company_named(run.tenant_id, str(deal.get("company_name") or ""))
        signals: list[dict[str, Any]] = []
        composite = None
        if company is not None:
            signals = (await self.signals(run.tenant_id, [str(company["company_id"])])).get(
                str(company["company_id"]), []
            )
            profile, region = run.context.get("profile", "default"), run.context.get("region", "UAE")
            scored = score_entity(company, signals, profile, now, region, include_explanation=False)
            composite = scored["scores"]["composite"]
        answer = deal_evaluation.evaluate(deal, company, signals, composite, now)
        answer = await self._phrase(run, deal, answer)
        run.results[RESULT] = {**answer, "session_id": run.run_id}
        return None

    async def _phrase(self, run: OSRun, deal: Mapping[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
        """The model's wording of the reasoning when one is configured and answers in time; never fails."""
        if self._model is None:
            return answer
        started = run.started_at if run.started_at.tzinfo else run.started_at.replace(tzinfo=UTC)
        left = (
            SHARE_OF_REPLY_TIMEOUT * self._settings.os_reply_timeout_s - (datetime.now(UTC) - started).total_seconds()
        )
        wait = min(self._settings.llm_timeout_s, left)
        if wait <= 0.1:
            return answer
        prompt = deal_evaluation.reasoning_prompt(deal, answer)
        try:
            reply = await self._model.complete_json(
                prompt, temperature=deal_evaluation.REASONING_TEMPERATURE, timeout_s=wait
            )
        except LLMError as exc:
            log.warning("deal reasoning left as the template: %s", exc)
            return answer
        except Exception:
            log.exception("deal reasoning left as the template")
            return answer
        return deal_evaluation.phrased(answer, reply)

    # --- diag -----------------------------------------------------------------------------------
    async def diag(self, run: OSRun) -> Refusal | None:
        try:
            await self._warehouse.read("SELECT 1")
            run.results[RESULT] = {"warehouse": True}
        except Exception as exc:  # reported, not raised: diag is how an operator finds this out
            run.results[RESULT] = {"warehouse": False, "warehouse_error": type(exc).__name__}
        return None


def _entity_ids(request: Mapping[str, Any]) -> list[object]:
    ids = request.get("entity_ids")
    if isinstance(ids, list) and ids:
        return ids
    return [request["entity_id"]] if request.get("entity_id") else []


def _company_facts(session: Mapping[str, Any], company_id: str, metadata: Mapping[str, Any]) -> dict[str, str]:
    """Name, industry, size bucket and place of a session's company: as the session showed it, else as its
    lead was sent, else as the feedback's metadata says."""
    shown = next((c for c in session.get("shortlist") or [] if str(c.get("company_id")) == company_id), None)
    lead = next(
        (x for x in session.get("leads") or [] if isinstance(x, Mapping) and decision_mode.lead_key(x) == company_id),
        None,
    )
    found = shown or lead or {}

    def pick(*values: object) -> str:
        return next((str(v).strip()[:256] for v in values if isinstance(v, str | int) and str(v).strip()), "")

    return {
        "company_name": pick(found.get("name"), metadata.get("company_name")),
        "industry": pick(found.get("industry"), metadata.get("industry")),
        "size_bucket": pick(found.get("size_bucket"), decision_mode.size_bucket(found), metadata.get("size_bucket")),
        "location": pick(found.get("city"), found.get("location"), metadata.get("location")),
    }


def records_of(run: OSRun, topics: Topics) -> list[tuple[str, bytes, bytes]]:
    """What a finished run publishes besides its answer (feedback): ``(topic, key, value)``."""
    if run.error:
        return []
    return [
        (getattr(topics, attr), key.encode(), orjson.dumps(value)) for attr, key, value in run.results.get(RECORDS, [])
    ]
