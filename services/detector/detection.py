"""Detecting a client that is extracting (distilling) a served model, from `inference.requests`.

The detector here is coverage: ordinary use of a classifier stays in a niche of its domain (a
recipe app asks about food), while a client harvesting labels to train a copy spreads its queries
over every class, as evenly as its data allows. Per client and model it keeps a bounded histogram
of the classes the model answered; once a client has sent `min_queries`, it alerts when the
normalised entropy of that histogram and the number of classes touched both pass their thresholds.
Memory per client: one counter per class.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import datetime

from shared.events import AbuseAlert, DetectorFinding, InferenceRequest


@dataclass
class DetectorConfig:
    min_queries: int = 150
    coverage_threshold: float = 0.7  # normalised entropy of the answered-class histogram
    min_classes: int = 15
    window_s: float = 3600.0  # state older than this starts afresh
    allow_clients: frozenset[str] = frozenset()
    update_step: float = 0.05  # re-publish an open alert when its score grows by this much
    resolve_after_s: float = 900.0  # an alerted client quiet this long gets its alert resolved


@dataclass
class ClientState:
    window_start: datetime
    last_seen: datetime
    n_classes: int
    counts: dict[str, int] = field(default_factory=dict)
    total: int = 0
    alerted_score: float | None = None
    alerted_severity: str | None = None
    last_alert: AbuseAlert | None = None


SEVERITIES = ("low", "medium", "high", "critical")


def severity_of(score: float) -> str:
    if score >= 0.95:
        return "critical"
    if score >= 0.85:
        return "high"
    if score >= 0.75:
        return "medium"
    return "low"


def coverage(counts: dict[str, int], n_classes: int) -> float:
    total = sum(counts.values())
    if total == 0 or n_classes < 2:
        return 0.0
    entropy = -sum(c / total * math.log(c / total) for c in counts.values() if c)
    return entropy / math.log(n_classes)


class ExtractionDetector:
    def __init__(self, config: DetectorConfig) -> None:
        self.config = config
        self.clients: dict[tuple[str, str], ClientState] = {}
        self._ended: list[ClientState] = []  # alerted windows that ended, to resolve at the next sweep

    def observe(self, event: InferenceRequest) -> AbuseAlert | None:
        if event.client_id in self.config.allow_clients:
            return None  # an authorised distillation job
        key = (event.client_id, event.model)
        state = self.clients.get(key)
        if state is None or (event.time - state.window_start).total_seconds() > self.config.window_s:
            if state is not None and state.last_alert is not None:
                self._ended.append(state)
            state = ClientState(window_start=event.time, last_seen=event.time, n_classes=event.n_classes)
            self.clients[key] = state
        state.last_seen = max(state.last_seen, event.time)
        state.counts[event.top_class] = state.counts.get(event.top_class, 0) + 1
        state.total += 1
        if state.total < self.config.min_queries:
            return None
        spread = coverage(state.counts, state.n_classes)
        touched = len(state.counts)
        if spread < self.config.coverage_threshold or touched < self.config.min_classes:
            return None
        score = round(min(1.0, spread), 4)
        # An open alert's severity only rises: a score wobbling around a boundary must not flap the
        # severity (and with it what the inference service enforces) up and down.
        severity = max(severity_of(score), state.alerted_severity or "low", key=SEVERITIES.index)
        if state.alerted_score is not None and score < state.alerted_score + self.config.update_step \
                and severity == state.alerted_severity:
            return None  # deduplicated: nothing new to say
        status = "open" if state.alerted_score is None else "update"
        state.alerted_score, state.alerted_severity = max(score, state.alerted_score or 0.0), severity
        finding = DetectorFinding(detector="coverage", score=score, evidence={
            "queries": state.total, "classes_touched": touched, "classes_served": state.n_classes,
            "normalised_entropy": round(spread, 4), "threshold": self.config.coverage_threshold,
            "min_classes": self.config.min_classes})
        state.last_alert = AbuseAlert(
            alert_id=alert_id(event.client_id, event.model, state.window_start), status=status,
            client_ids=[event.client_id], model=event.model, score=score, severity=severity,
            findings=[finding], window_start=state.window_start, window_end=state.last_seen)
        return state.last_alert

    def sweep(self, now: datetime) -> list[AbuseAlert]:
        """Resolve the alerts of clients that went quiet for `resolve_after_s`, and of windows that
        ended; their state is dropped, so renewed activity opens a new alert."""
        ended, self._ended = self._ended, []
        for key, state in list(self.clients.items()):
            if state.last_alert is not None and (now - state.last_seen).total_seconds() >= self.config.resolve_after_s:
                ended.append(self.clients.pop(key))
        return [state.last_alert.model_copy(update={"status": "resolve", "time": now, "window_end": state.last_seen})
                for state in ended]


def alert_id(client_id: str, model: str, window_start: datetime) -> str:
    digest = hashlib.sha256(f"{client_id}\0{model}\0{window_start.isoformat()}".encode()).hexdigest()
    return f"alert-{digest[:16]}"
