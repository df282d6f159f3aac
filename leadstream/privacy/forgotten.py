"""The forgotten visitors: the erasures topic mirrored in every worker process.

Every processor that stores or keeps a visitor's records asks ``forgets`` first, so a record
re-delivered after the erasure (a worker restart, a replayed dead letter, a tracker's outbox)
does not bring the visitor back. The stateful processors compare ``version`` between batches
and purge their tables when it moved; the erasure executor takes the requests from ``requests``.
"""

from __future__ import annotations

import asyncio
import logging
from uuid import UUID

from leadstream.kafka.topic_mirror import TopicMirror
from leadstream.schemas.privacy import ErasureRequest, subject
from leadstream.settings import Settings

log = logging.getLogger(__name__)


class ForgottenVisitors(TopicMirror):
    name = "forgotten visitors"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, settings.topics.erasures)
        self.subjects: set[str] = set()
        self.requests: asyncio.Queue[ErasureRequest] = asyncio.Queue()

    @property
    def version(self) -> int:
        """Grows with every visitor forgotten: a processor that saw another version purges."""
        return len(self.subjects)

    def forgets(self, site_id: str, session_id: UUID | str | None = None, fingerprint: str | None = None) -> bool:
        """Was this session, or this visitor, erased? (Free while nobody was.)"""
        if not self.subjects:
            return False
        if session_id is not None and subject(site_id, "session", str(session_id)) in self.subjects:
            return True
        return bool(fingerprint) and subject(site_id, "fingerprint", str(fingerprint)) in self.subjects

    def apply(self, key: bytes, value: bytes | None) -> None:
        if value is None:
            return  # never tombstoned on purpose; a stray one must not un-forget anybody
        try:
            request = ErasureRequest.model_validate_json(value)
        except ValueError:
            log.error("ignoring malformed erasure record for key %r", key)
            return
        if request.subject not in self.subjects:
            self.subjects.add(request.subject)
            self.requests.put_nowait(request)
