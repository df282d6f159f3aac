"""Site API keys: the key's shape and the record kept (keyed by prefix) on the compacted
site-keys topic. A key is shown once; only its SHA-256 travels and is kept.

A key is ``lsk_<8 hex prefix>_<43-char urlsafe secret>``: the prefix names the record (so a key
is found without scanning), the secret is 256 random bits, so a fast hash is the right one."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from leadstream.schemas.sites import PublicId

KEY_PATTERN = re.compile(r"^lsk_([0-9a-f]{8})_([A-Za-z0-9_-]{43})$")


def key_prefix(key: str) -> str | None:
    """The prefix of a well-formed key, else None."""
    match = KEY_PATTERN.match(key)
    return match.group(1) if match else None


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class SiteKeyRecord(BaseModel):
    model_config = ConfigDict(extra="ignore")

    prefix: str = Field(pattern=r"^[0-9a-f]{8}$")
    site_id: PublicId
    key_hash: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 hex of the whole key")
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None
