"""The AI options of the sales-OS stages (SPEC §5.3): ask the model, check the answer, else keep the templates.

``ai_explanation`` (``options`` of ``/score``, ``config.scoring`` of ``/pipeline``) and ``ai_outreach``
(``options`` of ``/outreach``, ``config.outreach`` of ``/pipeline``) are off unless exactly ``true``.
When asked for, every scored entity or outreach item says ``ai_generated: true`` if the model's text
replaced the template's and ``false`` otherwise: no model configured, timeout, HTTP error, an answer
that fails the checks of :mod:`leadstream.salesos.ai_prompts`, or an item beyond the per-run cap.
Nothing here ever fails a run.

A stage's model calls (one per batch of ten items, at most five batches) run concurrently under one
deadline: ``LEADSTREAM_LLM_TIMEOUT_S``, capped by what is left of 60% of the time the edge waits for the
answer (shared between a pipeline's AI stages still to run), so a slow model costs the template text,
never the answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from leadstream.providers.llm import ChatClient, LLMError
from leadstream.salesos.ai_prompts import (
    EXPLANATION_TEMPERATURE,
    MAX_AI_ITEMS,
    OUTREACH_TEMPERATURE,
    Messages,
    apply_explanations,
    apply_outreach,
    batches,
    explanation_prompt,
    outreach_prompt,
    parse_explanations,
    parse_outreach,
    top_scored,
)
from leadstream.salesos.outreach import normalise_channel
from leadstream.schemas.os import OSRun
from leadstream.settings import Settings

log = logging.getLogger(__name__)
SHARE_OF_REPLY_TIMEOUT = 0.6
MIN_WAIT_S = 0.1  # less than this left: do not ask at all
AI_STAGES = ("score", "outreach")


def asked(options: object, option: str) -> bool:
    return isinstance(options, Mapping) and options.get(option) is True


def _by_position(batch: Sequence[int], found: Mapping[str, dict[str, str]]) -> dict[int, dict[str, str]]:
    """A batch's answers (by ref ``"1"``, ``"2"``...) keyed by the items' positions in the stage."""
    return {i: found[str(n)] for n, i in enumerate(batch, start=1) if str(n) in found}


class OSAssistant:
    """Model-written score explanations and outreach messages for the stages of one worker."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client = ChatClient.from_settings(settings)

    @property
    def configured(self) -> bool:
        return self._client is not None

    def deadline(self, run: OSRun) -> float:
        """How long this stage may wait for the model: ``llm_timeout_s``, but no more than its share of
        what is left of 60% of the edge's wait (since the run started at the edge), shared with the
        run's other AI stage still to come; 0 when nothing is left."""
        s = self._settings
        if run.endpoint.endswith("/pipeline"):
            budget, stages = s.os_pipeline_timeout_s, sum(stage in AI_STAGES for stage in run.stages)
        else:
            budget, stages = s.os_reply_timeout_s, 1
        started = run.started_at if run.started_at.tzinfo else run.started_at.replace(tzinfo=UTC)
        elapsed = max(0.0, (datetime.now(UTC) - started).total_seconds())
        left = SHARE_OF_REPLY_TIMEOUT * budget - elapsed
        return max(0.0, min(s.llm_timeout_s, left / max(1, stages)))

    async def _ask(self, prompts: Sequence[Messages], temperature: float, timeout_s: float) -> list[Any]:
        """Each prompt's JSON answer, or None for each that failed (logged without its content)."""
        assert self._client is not None
        client = self._client
        if timeout_s < MIN_WAIT_S:
            log.warning("no time left for the model, templates kept")
            return [None] * len(prompts)

        async def one(messages: Messages) -> Any:
            try:
                return await client.complete_json(messages, temperature=temperature, timeout_s=timeout_s)
            except LLMError as exc:
                log.warning("AI call failed, templates kept: %s", exc)
            except Exception:  # a bug here must cost the AI text only, never the run
                log.exception("AI call failed unexpectedly, templates kept")
            return None

        return list(await asyncio.gather(*(one(p) for p in prompts)))

    async def explain(
        self,
        run: OSRun,
        options: object,
        scored: list[dict[str, Any]],
        subjects: Sequence[tuple[Mapping[str, Any], Sequence[object]]],
    ) -> None:
        """Replace, in place, the template explanations of ``scored`` (entity and signals of each in
        ``subjects``) with the model's when ``ai_explanation`` is asked for."""
        if not asked(options, "ai_explanation"):
            return
        texts: dict[int, dict[str, str]] = {}
        if self._client is not None:
            try:
                texts = await self._explanations(run, scored, subjects)
            except Exception:
                log.exception("AI explanations failed, templates kept")
        for i, data in enumerate(scored):
            scored[i] = apply_explanations(data, texts.get(i))

    async def _explanations(
        self,
        run: OSRun,
        scored: Sequence[Mapping[str, Any]],
        subjects: Sequence[tuple[Mapping[str, Any], Sequence[object]]],
    ) -> dict[int, dict[str, str]]:
        chosen = batches(top_scored(scored, MAX_AI_ITEMS))
        if not chosen:
            return {}
        first = scored[chosen[0][0]]
        profile = str(first.get("scoring_profile") or "default")
        region = run.context.get("region", "UAE")
        prompts = [explanation_prompt([(scored[i], *subjects[i]) for i in batch], profile, region) for batch in chosen]
        answers = await self._ask(prompts, EXPLANATION_TEMPERATURE, self.deadline(run))
        texts: dict[int, dict[str, str]] = {}
        for batch, answer in zip(chosen, answers, strict=True):
            wanted = {str(n): list(scored[i].get("explanations") or {}) for n, i in enumerate(batch, start=1)}
            texts.update(_by_position(batch, parse_explanations(answer, wanted)))
        return texts

    async def write_outreach(
        self,
        run: OSRun,
        options: Mapping[str, Any],
        items: list[dict[str, Any]],
        leads: Sequence[Mapping[str, Any]],
        profile: str,
        request_score: object,
    ) -> None:
        """Replace, in place, the template messages of ``items`` (one per lead) with the model's when
        ``ai_outreach`` is asked for."""
        if not asked(options, "ai_outreach"):
            return
        messages: dict[int, dict[str, str]] = {}
        if self._client is not None:
            try:
                messages = await self._messages(run, options, leads, profile, request_score)
            except Exception:
                log.exception("AI outreach failed, templates kept")
        for i, item in enumerate(items):
            items[i] = apply_outreach(item, messages.get(i))

    async def _messages(
        self, run: OSRun, options: Mapping[str, Any], leads: Sequence[Mapping[str, Any]], profile: str, score: object
    ) -> dict[int, dict[str, str]]:
        chosen = batches(list(range(min(len(leads), MAX_AI_ITEMS))))
        prompts = [outreach_prompt([leads[i] for i in batch], options, profile, score) for batch in chosen]
        answers = await self._ask(prompts, OUTREACH_TEMPERATURE, self.deadline(run))
        channel = normalise_channel(options.get("channel"))
        messages: dict[int, dict[str, str]] = {}
        for batch, answer in zip(chosen, answers, strict=True):
            refs = [str(n) for n in range(1, len(batch) + 1)]
            messages.update(_by_position(batch, parse_outreach(answer, refs, channel)))
        return messages
