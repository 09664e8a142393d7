"""The detector service's settings: the shared groups and DETECTOR_* (the thresholds live with the
detection code that uses them: `services.detector.detection.DetectorSettings`)."""

from __future__ import annotations

from pydantic import Field

from services.detector.detection import DetectorSettings
from shared.settings import Settings


class DetectorServiceSettings(Settings):
    detector: DetectorSettings = Field(default_factory=DetectorSettings)
