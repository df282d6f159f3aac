"""A tracked website: the record kept (keyed by ``public_id``) in the compacted sites topic."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from leadstream.schemas.conversions import ConversionSettings

PublicId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")]


class SiteRecord(BaseModel):
    model_config = ConfigDict(extra="ignore")

    public_id: PublicId
    name: str = ""
    origins: list[str] = Field(default_factory=list, description="exact origins, e.g. https://shop.example")
    signing_secret: str | None = Field(default=None, description="in clear in memory only, never on the topic")
    signing_secret_sealed: str | None = Field(default=None, description="the secret as published: encrypted")
    require_consent: bool = False  # events without consent_scopes count as not consented
    active: bool = True
    timezone: str = Field(default="UTC", description="IANA zone: the site's days, conversion times and CSV")
    currency: str = Field(default="TRY", pattern=r"^[A-Z]{3}$", description="ISO-4217, for conversion values")
    conversions: ConversionSettings = Field(default_factory=ConversionSettings)
    updated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @field_validator("origins")
    @classmethod
    def _exact_origins(cls, origins: list[str]) -> list[str]:
        cleaned = []
        for origin in origins:
            origin = origin.strip().rstrip("/")
            if origin == "*" or "://" not in origin:
                raise ValueError(f"origin {origin!r} must be exact, like https://shop.example (no wildcards)")
            cleaned.append(origin)
        return cleaned

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {zone!r}: use an IANA name such as Europe/Istanbul") from None
        return zone

    @property
    def signed(self) -> bool:
        """Does the site require signed call-events?"""
        return bool(self.signing_secret or self.signing_secret_sealed)
