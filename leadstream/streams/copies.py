"""The stateless copies into the warehouse: which topic goes to which table, and how a
record becomes a row (or a dead letter)."""

from __future__ import annotations

from datetime import UTC, datetime

from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError

from leadstream.schemas.sites import SiteRecord
from leadstream.schemas.tracking import EventRecord
from leadstream.settings import Settings
from leadstream.streams.rows import EVENT_COLUMNS, event_row
from leadstream.streams.table_sink import Poison, TableSinkSpec

OFFSETS = ("kafka_partition", "kafka_offset")
DEAD_LETTER_COLUMNS = (
    "source_topic",
    "source_partition",
    "source_offset",
    "stage",
    "reason",
    "key",
    "value",
    "failed_at",
)
SITE_COLUMNS = ("public_id", "name", "origins", "signed", "active", "updated_at")


def _poison(exc: ValidationError) -> Poison:
    err = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(p) for p in err["loc"]) or "record"
    return Poison(f"invalid {where}: {err['msg']}")


def event_from(record: ConsumerRecord) -> list[object]:
    try:
        return event_row(EventRecord.model_validate_json(record.value or b""))
    except ValidationError as exc:
        raise _poison(exc) from None


def dead_letter_from(record: ConsumerRecord) -> list[object]:
    h = {k: v.decode("utf-8", "replace") for k, v in record.headers or ()}
    return [
        h.get("source_topic", ""),
        int(h.get("source_partition", 0)),
        int(h.get("source_offset", 0)),
        h.get("stage", ""),
        h.get("reason", ""),
        (record.key or b"").decode("utf-8", "replace"),
        (record.value or b"").decode("utf-8", "replace"),
        datetime.fromtimestamp(record.timestamp / 1000, UTC),
    ]


def site_from(record: ConsumerRecord) -> list[object]:
    try:
        site = SiteRecord.model_validate_json(record.value or b"")
    except ValidationError as exc:
        raise _poison(exc) from None
    # The signing secret stays in the registry topic; analysts only see whether one is set.
    return [site.public_id, site.name, site.origins, int(bool(site.signing_secret)), int(site.active), site.updated_at]


def copy_specs(settings: Settings) -> list[TableSinkSpec]:
    t = settings.topics
    return [
        TableSinkSpec("events", t.events, "events", (*EVENT_COLUMNS, *OFFSETS), event_from),
        TableSinkSpec(
            "dead-letters", t.dead_letters, "dead_letters", (*DEAD_LETTER_COLUMNS, *OFFSETS), dead_letter_from
        ),
        TableSinkSpec("sites", t.sites, "sites", (*SITE_COLUMNS, *OFFSETS), site_from),
    ]
