"""A lead's stages and a site's conversion settings (what each stage is called and worth in Google
Ads, which stages are exported, whether the lead score sets the stage), with OpsMantik's names and
values by default, so a site moving from it exports what it exported before."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Stage = Literal["new", "contacted", "offered", "won", "junk"]
ExportStage = Literal["contacted", "offered", "won", "junk"]
STAGES: tuple[Stage, ...] = ("new", "contacted", "offered", "won", "junk")
# How far a lead has come: a lower stage after a higher one is never exported. Junk ranks below
# contacted: a lead junked and then contacted after all exports the contact.
STAGE_RANK: dict[str, int] = {"new": 0, "junk": 1, "contacted": 2, "offered": 3, "won": 4}


class StageConversion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=100)]
    value: Annotated[float, Field(ge=0, le=1e12)] = Field(description="default value, major units")


def _defaults() -> dict[ExportStage, StageConversion]:
    return {
        "contacted": StageConversion(name="OpsMantik_Contacted", value=10),
        "offered": StageConversion(name="OpsMantik_Offered", value=50),
        "won": StageConversion(name="OpsMantik_Won", value=100),
        "junk": StageConversion(name="OpsMantik_Junk_Exclusion", value=0.1),
    }


class ConversionSettings(BaseModel):
    model_config = ConfigDict(extra="ignore")

    stages: dict[ExportStage, StageConversion] = Field(default_factory=_defaults)
    exported: list[ExportStage] = Field(default_factory=lambda: ["contacted", "offered", "won", "junk"])
    auto_stage: bool = Field(default=False, description="set each new lead's stage from its score (OpsMantik's)")
    require_signature: bool = Field(default=False, description="OCI ack calls must carry x-oci-signature")

    @field_validator("stages")
    @classmethod
    def _every_stage(cls, stages: dict[str, StageConversion]) -> dict[str, StageConversion]:
        return {**_defaults(), **stages}

    def conversion(self, stage: str) -> StageConversion | None:
        """The stage's conversion if the site exports it."""
        return self.stages.get(stage) if stage in self.exported else None  # type: ignore[call-overload]


def auto_stage(score: int) -> Stage:
    """OpsMantik's stage from a lead score: <= 0 junk, >= 100 won, >= 80 offered, else contacted."""
    if score <= 0:
        return "junk"
    if score >= 100:
        return "won"
    return "offered" if score >= 80 else "contacted"
