"""The stage processor: leads and operators' stage commands, both keyed by lead id, meet in one
consumer (co-partitioned; range assignment gives partition N of both topics to one member), which
keeps each lead's site, current stage and version in a table recovered from its changelog.

A command for a lead of another site (or none) is refused ``not_found``; one that names a version
other than the current is refused ``stale``; else it is accepted: a stage event goes out on
``lead-stages`` (keyed by lead, with the next version) and, once durable, the answer reaches the
waiting request through Redis. A site with auto-stage on gets each new lead's stage from its score.

Exactly once under re-delivery: an entry remembers the last stage events it made (by command id),
so a command or lead read again after a crash sends the same event again (idempotent where it
lands: the ``lead_stages`` table keeps one row per lead and version), never a second change.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any, ClassVar

import redis.asyncio as aioredis
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError

from leadstream.observability.worker import count_entries
from leadstream.privacy.forgotten import ForgottenVisitors
from leadstream.redis.replies import post_reply
from leadstream.schemas.conversions import auto_stage
from leadstream.schemas.leads import (
    LeadRecord,
    LeadStageEvent,
    StageAnswer,
    StageChange,
    StageCommand,
    auto_command_id,
)
from leadstream.settings import Settings
from leadstream.sites.registry import SiteRegistry
from leadstream.streams.runtime.changelog_table import ChangelogTable
from leadstream.streams.runtime.checkpoint import Outcome
from leadstream.streams.runtime.dead_letters import invalid_reason
from leadstream.streams.runtime.group import FlushWindow
from leadstream.streams.runtime.producer import BulkProducer
from leadstream.streams.runtime.runner import Runner

log = logging.getLogger(__name__)

REPLY_KIND = "lead-stage"
KEPT_EVENTS = 20  # the latest stage events an entry remembers, to send again when re-delivered
MIRROR_WAIT_S = 10.0
POLL_S = 0.05  # the longest a command waits before it is looked at
LEADS_KEPT = timedelta(days=400)  # a lead untouched this long leaves the table (Google's window is 90 days)


def new_entry(lead: LeadRecord) -> dict[str, Any]:
    return {
        "site_id": lead.site_id,
        "session_id": str(lead.session_id) if lead.session_id else None,
        "fingerprint": lead.fingerprint,
        "score": lead.score,
        "stage": "new",
        "version": 0,
        "touched": lead.created_at.isoformat(),
        "events": [],
    }


def decide(entry: dict[str, Any] | None, command: StageCommand) -> tuple[StageAnswer, LeadStageEvent | None]:
    """A command's answer given the lead's entry, and the stage event it makes (None: refused). Pure."""
    lead_id = command.lead_id
    if entry is None or entry["site_id"] != command.site_id:
        return StageAnswer(status="not_found", id=lead_id), None
    for known in entry["events"]:
        if known["command_id"] == str(command.command_id):  # done before: the same event again
            event = LeadStageEvent.model_validate(known)
            return StageAnswer(status="accepted", id=lead_id, stage=event.stage, version=event.version), event
    wanted = command.change.version
    if wanted is not None and wanted != entry["version"]:
        return StageAnswer(status="stale", id=lead_id, stage=entry["stage"], version=entry["version"]), None
    event = stage_event(entry, lead_id, command.change, command.who, command.at, command.command_id)
    return StageAnswer(status="accepted", id=lead_id, stage=event.stage, version=event.version), event


def stage_event(
    entry: dict[str, Any], lead_id: uuid.UUID, change: StageChange, who: str, at: datetime, command_id: uuid.UUID
) -> LeadStageEvent:
    return LeadStageEvent(
        lead_id=lead_id,
        site_id=entry["site_id"],
        session_id=entry["session_id"],
        fingerprint=entry["fingerprint"],
        stage=change.stage,
        value=None if change.value is None else float(change.value),
        currency=(change.currency or "").upper(),
        note=change.note or "",
        who=who,
        at=at,
        version=entry["version"] + 1,
        command_id=command_id,
    )


def applied(entry: dict[str, Any], event: LeadStageEvent) -> dict[str, Any]:
    """The entry after its event (a new dict: the table's old entry is left as it was)."""
    known = [e for e in entry["events"] if e["command_id"] != str(event.command_id)]
    known.append(event.model_dump(mode="json"))
    version = max(entry["version"], event.version)
    stage = event.stage if event.version >= entry["version"] else entry["stage"]
    return {
        **entry,
        "stage": stage,
        "version": version,
        "touched": event.at.isoformat(),
        "events": known[-KEPT_EVENTS:],
    }


def last_touched(entry: dict[str, Any]) -> datetime | None:
    return datetime.fromisoformat(entry["touched"]) if entry.get("touched") else None


class LeadStages:
    """Leads and stage commands -> each lead's current stage (a changelog table), stage events and
    the answers the edge waits for. Group ``<worker_group>-lead-stages``."""

    name, group, stage = "lead stages", "lead-stages", "lead-stages"
    consumer_options: ClassVar[dict[str, object]] = {"partition_assignment_strategy": (RangePartitionAssignor,)}
    ttl = LEADS_KEPT
    last_active = staticmethod(last_touched)

    def __init__(self, settings: Settings, sites: SiteRegistry, forgotten: ForgottenVisitors | None = None) -> None:
        self._settings = settings
        self._sites = sites
        self._forgotten = forgotten
        self._purged = -1
        self._sites_started = False
        t = settings.topics
        self._leads, self._commands, self._events = t.leads, t.lead_stage_commands, t.lead_stages
        self.topics = [t.leads, t.lead_stage_commands]
        self.table = ChangelogTable.for_worker("lead_stages", t.lead_stages_changelog, settings)
        self._redis = aioredis.from_url(settings.redis_url, socket_timeout=1, socket_connect_timeout=1)
        count_entries(self.table.name, lambda: len(self.table))

    async def process(self, records: list[ConsumerRecord]) -> Outcome:
        outcome = Outcome()
        changed = await self.purge_forgotten()
        if not self._sites_started:  # auto-stage reads the sites' settings
            self._sites_started = True
            await self._sites.start(wait_s=MIRROR_WAIT_S)
        answers: list[StageAnswer] = []
        command_ids: list[uuid.UUID] = []
        for msg in records:
            try:
                if msg.topic == self._leads:
                    key = self._lead(LeadRecord.model_validate_json(msg.value or b""), msg.partition, outcome)
                else:
                    command = StageCommand.model_validate_json(msg.value or b"")
                    answer, key = self._command(command, msg.partition, outcome)
                    answers.append(answer)
                    command_ids.append(command.command_id)
            except ValidationError as exc:
                outcome.dead.append((msg, invalid_reason(exc)))
                continue
            if key is not None:
                changed.add(key)
        outcome.changed = changed
        if answers:
            outcome.then.append(lambda: self._reply(list(zip(command_ids, answers, strict=True))))
        return outcome

    def _lead(self, lead: LeadRecord, partition: int, outcome: Outcome) -> str | None:
        if self._forgets(lead.site_id, lead.session_id, lead.fingerprint):
            return None
        key = str(lead.lead_id)
        entry = self.table.get(key)
        if entry is None:
            entry = new_entry(lead)
            site = self._sites.get(lead.site_id)
            if site is not None and site.conversions.auto_stage:
                change = StageChange(stage=auto_stage(lead.score))
                event = stage_event(entry, lead.lead_id, change, "auto-stage", lead.created_at, auto_command_id(key))
                entry = applied(entry, event)
            self.table.put(key, entry, partition)
            self._emit_events(entry, outcome)
            return key
        # read again (a crash before the commit): what it made goes out again, the same
        auto = str(auto_command_id(key))
        self._emit_events({**entry, "events": [e for e in entry["events"] if e["command_id"] == auto]}, outcome)
        return None

    def _command(self, command: StageCommand, partition: int, outcome: Outcome) -> tuple[StageAnswer, str | None]:
        key = str(command.lead_id)
        entry = self.table.get(key)
        answer, event = decide(entry, command)
        if event is None or entry is None:
            return answer, None
        self._emit(event, outcome)
        self.table.put(key, applied(entry, event), partition)
        return answer, key

    def _emit_events(self, entry: dict[str, Any], outcome: Outcome) -> None:
        for known in entry["events"]:
            self._emit(LeadStageEvent.model_validate(known), outcome)

    def _emit(self, event: LeadStageEvent, outcome: Outcome) -> None:
        key = str(event.lead_id).encode()
        outcome.emit(self._events, key, key, event.model_dump_json().encode())

    async def _reply(self, answers: list[tuple[uuid.UUID, StageAnswer]]) -> None:
        prefix = self._settings.topic_prefix
        for command_id, answer in answers:
            try:
                await post_reply(self._redis, prefix, REPLY_KIND, str(command_id), answer.model_dump(mode="json"))
            except Exception as exc:  # the edge answers 503 and the operator tries again (same answer)
                log.warning("could not post a stage answer: %r", exc)

    async def assigned(self, partitions: set[int]) -> None:
        self._purged = -1

    async def revoked(self, partitions: set[int] | None) -> None:
        return None

    def _forgets(self, site_id: str, session_id: uuid.UUID | str | None, fingerprint: str | None) -> bool:
        return self._forgotten is not None and self._forgotten.forgets(site_id, session_id, fingerprint)

    async def purge_forgotten(self) -> set[str]:
        """Drop the leads of visitors erased since the last purge (tombstoned in the changelog)."""
        forgotten = self._forgotten
        if forgotten is None:
            return set()
        if not forgotten.loaded:
            await forgotten.wait_loaded(MIRROR_WAIT_S)
        if forgotten.version == self._purged:
            return set()
        gone = set()
        for key in self.table:
            entry = self.table.get(key) or {}
            if forgotten.forgets(entry.get("site_id", ""), entry.get("session_id"), entry.get("fingerprint")):
                self.table.delete(key)
                gone.add(key)
        self._purged = forgotten.version
        return gone


def stages_runner(settings: Settings, producer: BulkProducer, forgotten: ForgottenVisitors) -> Runner:
    """The stage processor on the runtime: a short window (an operator waits for each answer)."""
    stages = LeadStages(settings, SiteRegistry(settings), forgotten)
    window = FlushWindow(POLL_S, floor_s=POLL_S)
    options = stages.consumer_options
    return Runner(stages, settings, producer, window, consumer_options=options, batch_records=5_000)
