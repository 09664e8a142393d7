"""Detecting clients that extract (distil) a served model, from `inference.requests`.

Stage one, `ClientDetector`, sees one client's events in order (the topic is keyed by client) and
keeps a bounded state per client and model (about 20 KB). Its detectors, each a finding with the
numbers behind it:

- coverage: ordinary use of a classifier stays in a niche of its domain (a recipe app asks about
  food); a client harvesting labels spreads over every class, as evenly as its data allows.
  Normalised entropy of the histogram of confidently answered classes, and classes touched.
- near_duplicates: share of a client's queries that repeat a template or perturb an earlier query
  (MinHash band collisions with its own earlier queries, exact repeats not counted: retries are
  not extraction). Slot-filled prompt templates and JbDA-style perturbations around seeds.
- domain: a class-conditional MMD between the client's last 64 queries and the model's training
  data (`shared.domain`): for each query, training texts of the class the model answered. A niche
  user's queries look like the training texts of their classes; random word salad or another
  corpus (KnockoffNets) do not, whatever class the model gives them.
- distances: PRADA. The minimum distance of each new query to the client's earlier ones; natural
  queries give a roughly normal spread, synthetic ones (seeds and their perturbations) do not:
  a Shapiro-Wilk W below the threshold.
- full_distribution: the share of answers that revealed the whole probability vector. Such
  answers teach a student more per query, so coverage needs half the queries for these clients.
- volume: queries against the median of the model's other clients; raises a score, never alerts
  alone (a heavy batch user is not an attacker).

The risk score is a noisy-OR of the findings that fired: 1 - prod(1 - score). Every few queries
stage one also publishes a `ClientProfile`; stage two, `RingLinker`, links clients whose traffic
shares a network or templates and scores the ring as one: low-and-slow rings keep every key under
the per-client thresholds, but not their sum.
"""

from __future__ import annotations

import base64
import hashlib
import math
import statistics
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

import numpy as np
from pydantic import field_validator
from pydantic_settings import BaseSettings, NoDecode
from scipy.stats import shapiro

from shared.domain import DomainReference
from shared.events import AbuseAlert, ClientProfile, DetectorFinding, InferenceRequest
from shared.fingerprint import SKETCH_DIM
from shared.settings import group

SEVERITIES = ("low", "medium", "high", "critical")
HISTORY = 64  # sketches kept per client: the MMD window, and PRADA's comparison set
DISTANCES = 256  # PRADA's distances kept per client
BANDS = 4  # MinHash bands of 2 values (8 values per text)
MAX_BANDS_KEPT = 2048
MAX_REPEAT_KEYS = 1024
MEDIAN_EVERY = 1000


class DetectorSettings(BaseSettings):
    """The detector's thresholds and timings (DETECTOR_*)."""

    model_config = group("DETECTOR_")

    allow_clients: Annotated[frozenset[str], NoDecode] = frozenset()
    """Clients whose traffic is authorised distillation (comma-separated key names): never alerted on."""
    min_queries: int = 100
    """Queries a client makes before any per-client test."""
    coverage_threshold: float = 0.69
    """Normalised entropy of the histogram of confidently answered classes."""
    min_classes: int = 15
    """Classes a client must touch before coverage counts."""
    confident_probability: float = 0.5
    """Coverage counts only answers the model was this sure of: unsure answers scatter over classes for any
    client, confident ones only for a client whose queries do."""
    duplicate_threshold: float = 0.45
    """Share of (non-repeat) queries that collide with earlier ones."""
    domain_threshold: float = 0.015
    """Class-conditional MMD^2 (RBF kernel on unit sketches) against the model's training texts."""
    distance_threshold: float = 0.8
    """Shapiro-Wilk W of PRADA's minimum distances."""
    full_distribution_share: float = 0.9
    """Share of answers revealing every class probability, for the full_distribution finding."""
    volume_ratio: float = 10.0
    """Queries / the model's median client, to count as a volume finding."""
    window_s: float = 3600.0
    """A client's state older than this starts afresh."""
    update_step: float = 0.05
    """An open alert is re-published when its score grows by this much."""
    resolve_after_s: float = 900.0
    """An alerted client quiet this long gets its alert resolved."""
    profile_every: int = 25
    """A ClientProfile every this many queries (and at 5, 10, 20)."""
    ring_min_members: int = 3
    """Linked clients that make a ring."""
    ring_min_queries: int = 200
    """A ring's queries together, before its coverage counts."""
    ring_member_spread: float = 0.6
    """Median member coverage: a ring's members are not niche users."""
    ring_crowd: int = 100
    """A network or template shared by more clients than this is a proxy, an ingress or a popular app, not
    evidence of a ring (and following it would make every client one component)."""
    sweep_s: float = 30.0
    """How often quiet clients are looked for."""
    checkpoint_s: float = 30.0
    """How often state is written to S3 (and at shutdown)."""

    @field_validator("allow_clients", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(c.strip() for c in value.split(",") if c.strip())
        return value


def severity_of(score: float) -> str:
    if score >= 0.95:
        return "critical"
    if score >= 0.85:
        return "high"
    if score >= 0.75:
        return "medium"
    return "low"


def noisy_or(scores: list[float]) -> float:
    return 1.0 - math.prod(1.0 - s for s in scores)


def coverage(counts: dict[str, int], n_classes: int) -> float:
    total = sum(counts.values())
    if total == 0 or n_classes < 2:
        return 0.0
    entropy = -sum(c / total * math.log(c / total) for c in counts.values() if c)
    return entropy / math.log(n_classes)


def band_keys(minhash: list[int]) -> list[int]:
    return [(b << 64) | (minhash[2 * b] << 32) | minhash[2 * b + 1] for b in range(min(BANDS, len(minhash) // 2))]


def mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 with k(a, b) = exp(-|a - b|^2) on unit vectors (|a - b|^2 = 2 - 2 a.b)."""
    kxx, kyy, kxy = np.exp(2 * x @ x.T - 2), np.exp(2 * y @ y.T - 2), np.exp(2 * x @ y.T - 2)
    n, m = len(x), len(y)
    return float((kxx.sum() - np.trace(kxx)) / (n * (n - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
                 - 2 * kxy.mean())


@dataclass
class ClientState:
    window_start: datetime
    last_seen: datetime
    n_classes: int
    counts: dict[str, int] = field(default_factory=dict)  # confident answers per class
    total: int = 0
    full: int = 0  # answers that revealed the whole distribution
    repeats: int = 0
    near_duplicates: int = 0
    recent_texts: dict[str, None] = field(default_factory=dict)  # an ordered set: oldest first
    bands: Counter = field(default_factory=Counter)
    band_order: deque = field(default_factory=deque)
    sketches: np.ndarray = field(default_factory=lambda: np.zeros((HISTORY, SKETCH_DIM), np.float32))
    labels: list[str] = field(default_factory=lambda: [""] * HISTORY)
    sketched: int = 0
    distances: deque = field(default_factory=lambda: deque(maxlen=DISTANCES))
    mmd: deque = field(default_factory=lambda: deque(maxlen=3))
    shapiro_w: float | None = None
    networks: set[str] = field(default_factory=set)
    agents: set[str] = field(default_factory=set)
    alerted_score: float | None = None
    alerted_severity: str | None = None
    last_alert: AbuseAlert | None = None

    @property
    def distinct(self) -> int:
        return self.total - self.repeats

    # ---- checkpoints: plain JSON ----
    def to_json(self) -> dict:
        return {
            "window_start": self.window_start.isoformat(), "last_seen": self.last_seen.isoformat(),
            "n_classes": self.n_classes, "counts": self.counts, "total": self.total, "full": self.full,
            "repeats": self.repeats, "near_duplicates": self.near_duplicates, "recent_texts": list(self.recent_texts),
            "band_order": [str(k) for k in self.band_order],
            "sketches": base64.b64encode(np.round(self.sketches * 127).astype(np.int8).tobytes()).decode(),
            "labels": self.labels, "sketched": self.sketched, "distances": list(self.distances),
            "mmd": list(self.mmd), "shapiro_w": self.shapiro_w, "networks": sorted(self.networks),
            "agents": sorted(self.agents), "alerted_score": self.alerted_score,
            "alerted_severity": self.alerted_severity,
            "last_alert": self.last_alert.model_dump(mode="json") if self.last_alert else None}

    @classmethod
    def from_json(cls, d: dict) -> ClientState:
        state = cls(window_start=datetime.fromisoformat(d["window_start"]),
                    last_seen=datetime.fromisoformat(d["last_seen"]), n_classes=d["n_classes"])
        state.counts, state.total, state.full = dict(d["counts"]), d["total"], d["full"]
        state.repeats, state.near_duplicates = d["repeats"], d["near_duplicates"]
        state.recent_texts = dict.fromkeys(d["recent_texts"])
        for key in d["band_order"]:
            state.band_order.append(int(key))
            state.bands[int(key)] += 1
        raw = np.frombuffer(base64.b64decode(d["sketches"]), dtype=np.int8).reshape(HISTORY, SKETCH_DIM)
        state.sketches = raw.astype(np.float32) / 127.0
        state.labels, state.sketched = list(d["labels"]), d["sketched"]
        state.distances.extend(d["distances"])
        state.mmd.extend(d["mmd"])
        state.shapiro_w = d["shapiro_w"]
        state.networks, state.agents = set(d["networks"]), set(d["agents"])
        state.alerted_score, state.alerted_severity = d["alerted_score"], d["alerted_severity"]
        state.last_alert = AbuseAlert.model_validate(d["last_alert"]) if d["last_alert"] else None
        return state


class ClientDetector:
    """Stage one: per client and model. `observe` returns (alert or None, profile or None)."""

    def __init__(self, config: DetectorSettings,
                 reference: Callable[[str], DomainReference | None] = lambda model: None, seed: int = 0) -> None:
        self.config = config
        self.reference = reference
        self.clients: dict[tuple[str, str], ClientState] = {}
        self._ended: list[ClientState] = []  # alerted windows that ended, to resolve at the next sweep
        self._rng = np.random.default_rng(seed)
        self._medians: dict[str, tuple[int, float]] = {}  # model -> (at event, median queries per client)
        self._events = 0

    def observe(self, event: InferenceRequest) -> tuple[AbuseAlert | None, ClientProfile | None]:
        if event.client_id in self.config.allow_clients:
            return None, None  # an authorised distillation job
        key = (event.client_id, event.model)
        state = self.clients.get(key)
        if state is None or (event.time - state.window_start).total_seconds() > self.config.window_s:
            if state is not None and state.last_alert is not None:
                self._ended.append(state)
            state = ClientState(window_start=event.time, last_seen=event.time, n_classes=event.n_classes)
            self.clients[key] = state
        self._update(state, event)
        profile = self._profile(event, state) if state.total in (5, 10, 20) or \
            state.total % self.config.profile_every == 0 else None
        if state.total < self.config.min_queries // 2:
            return None, profile
        return self._assess(event, state), profile

    def _update(self, state: ClientState, event: InferenceRequest) -> None:
        state.last_seen = max(state.last_seen, event.time)
        state.total += 1
        if event.top_probability >= self.config.confident_probability:
            state.counts[event.top_class] = state.counts.get(event.top_class, 0) + 1
        if "PROBABILITIES" in event.outputs:
            state.full += 1
        if event.client_network and len(state.networks) < 8:
            state.networks.add(event.client_network)
        if event.user_agent and len(state.agents) < 4:
            state.agents.add(event.user_agent)
        text_key = event.text_sha256[:16]
        if text_key in state.recent_texts:
            state.repeats += 1  # a retry teaches nothing new: not counted as a near-duplicate
            return
        state.recent_texts[text_key] = None
        if len(state.recent_texts) > MAX_REPEAT_KEYS:
            del state.recent_texts[next(iter(state.recent_texts))]
        if event.text_minhash:
            keys = band_keys(event.text_minhash)
            if any(state.bands.get(k) for k in keys):
                state.near_duplicates += 1
            for k in keys:
                state.bands[k] += 1
                state.band_order.append(k)
            while len(state.band_order) > MAX_BANDS_KEPT:
                old = state.band_order.popleft()
                state.bands[old] -= 1
                if state.bands[old] <= 0:
                    del state.bands[old]
        if event.text_sketch:
            self._sketch(state, event)

    def _sketch(self, state: ClientState, event: InferenceRequest) -> None:
        vector = np.frombuffer(bytes.fromhex(event.text_sketch), dtype=np.int8).astype(np.float32) / 127.0
        filled = min(state.sketched, HISTORY)
        if filled:
            similarity = float((state.sketches[:filled] @ vector).max())
            state.distances.append(math.sqrt(max(0.0, 2.0 - 2.0 * similarity)))
        slot = state.sketched % HISTORY
        state.sketches[slot] = vector
        state.labels[slot] = event.top_class
        state.sketched += 1
        if state.sketched >= HISTORY and state.sketched % 32 == 0:
            reference = self.reference(event.model)
            if reference is not None:
                state.mmd.append(self._class_conditional_mmd(state, reference))
        if len(state.distances) >= 100 and state.sketched % 32 == 0:
            state.shapiro_w = float(shapiro(np.fromiter(state.distances, np.float64)).statistic)

    def _class_conditional_mmd(self, state: ClientState, reference: DomainReference) -> float:
        picks = []
        for label in state.labels:
            index = reference.class_index.get(label)
            pool = reference.by_class[index] if index is not None else ()
            picks.append(self._rng.choice(pool, 2) if len(pool) else self._rng.integers(0, len(reference.labels), 2))
        return mmd2(state.sketches, reference.sketches[np.concatenate(picks)])

    def findings(self, state: ClientState, model_median: float | None = None) -> list[DetectorFinding]:
        c = self.config
        found: list[DetectorFinding] = []
        full_share = state.full / state.total if state.total else 0.0
        harvesting = full_share >= c.full_distribution_share
        needed = c.min_queries // 2 if harvesting else c.min_queries
        if state.total >= needed:
            spread, touched = coverage(state.counts, state.n_classes), len(state.counts)
            if spread >= c.coverage_threshold and touched >= c.min_classes:
                found.append(DetectorFinding(detector="coverage", score=round(min(1.0, spread), 4), evidence={
                    "queries": state.total, "classes_touched": touched, "classes_served": state.n_classes,
                    "normalised_entropy": round(spread, 4), "threshold": c.coverage_threshold,
                    "min_classes": c.min_classes}))
        if state.total >= c.min_queries and state.distinct >= c.min_queries // 2:
            rate = state.near_duplicates / state.distinct
            if rate >= c.duplicate_threshold:
                found.append(DetectorFinding(detector="near_duplicates", score=round(
                    0.5 + 0.45 * min(1.0, (rate - c.duplicate_threshold) / (1 - c.duplicate_threshold)), 4), evidence={
                    "queries": state.total, "distinct": state.distinct, "near_duplicates": state.near_duplicates,
                    "rate": round(rate, 4), "threshold": c.duplicate_threshold}))
        if len(state.mmd) >= 2:
            value = statistics.median(state.mmd)  # of two or three values: no numpy call per event
            if value >= c.domain_threshold:
                found.append(DetectorFinding(detector="domain", score=round(
                    0.5 + 0.45 * min(1.0, (value - c.domain_threshold) / (2 * c.domain_threshold)), 4), evidence={
                    "class_conditional_mmd2": round(value, 5), "threshold": c.domain_threshold,
                    "window": HISTORY, "windows": len(state.mmd)}))
        if state.shapiro_w is not None and state.shapiro_w < c.distance_threshold:
            found.append(DetectorFinding(detector="distances", score=round(
                0.5 + 0.45 * min(1.0, (c.distance_threshold - state.shapiro_w) / 0.2), 4), evidence={
                "shapiro_wilk_w": round(state.shapiro_w, 4), "threshold": c.distance_threshold,
                "distances": len(state.distances)}))
        if found and harvesting:
            found.append(DetectorFinding(detector="full_distribution", score=0.3, evidence={
                "share": round(full_share, 4), "threshold": c.full_distribution_share}))
        if found and model_median:
            ratio = state.total / model_median
            if ratio >= c.volume_ratio:
                found.append(DetectorFinding(detector="volume", score=0.3, evidence={
                    "queries": state.total, "model_median": model_median, "ratio": round(ratio, 1)}))
        return found

    def _assess(self, event: InferenceRequest, state: ClientState) -> AbuseAlert | None:
        found = self.findings(state, self._median(event.model))
        return self._alert(state, found, event.client_id, event.model) if found else None

    def _median(self, model: str) -> float:
        """The median queries of the model's clients, recomputed every MEDIAN_EVERY events (it
        moves slowly, and computing it reads every client)."""
        self._events += 1
        computed_at, median = self._medians.get(model, (-MEDIAN_EVERY, 0.0))
        if self._events - computed_at >= MEDIAN_EVERY:
            totals = [s.total for (_, m), s in self.clients.items() if m == model]
            median = float(np.median(totals)) if totals else 0.0
            self._medians[model] = (self._events, median)
        return median

    def _alert(self, state: ClientState, found: list[DetectorFinding], client_id: str, model: str) -> AbuseAlert | None:
        score = round(min(1.0, noisy_or([f.score for f in found])), 4)
        # An open alert's severity only rises: a score wobbling around a boundary must not flap the
        # severity (and with it what the inference service enforces) up and down.
        severity = max(severity_of(score), state.alerted_severity or "low", key=SEVERITIES.index)
        if state.alerted_score is not None and score < state.alerted_score + self.config.update_step \
                and severity == state.alerted_severity:
            return None  # deduplicated: nothing new to say
        status = "open" if state.alerted_score is None else "update"
        state.alerted_score, state.alerted_severity = max(score, state.alerted_score or 0.0), severity
        state.last_alert = AbuseAlert(
            alert_id=alert_id([client_id], model, state.window_start), status=status, client_ids=[client_id],
            model=model, score=score, severity=severity, findings=found, window_start=state.window_start,
            window_end=state.last_seen, queries={client_id: state.total}, explanation=explain(found))
        return state.last_alert

    def _profile(self, event: InferenceRequest, state: ClientState) -> ClientProfile:
        # A template is a band shared by a good part of the client's distinct queries; identical
        # texts (two users of one niche asking the same thing) share bands too, but only once each.
        templates = [f"{k:x}" for k, n in state.bands.most_common(4) if n >= max(5, 0.05 * state.distinct)]
        return ClientProfile(
            client_id=event.client_id, model=event.model, window_start=state.window_start, time=state.last_seen,
            queries=state.total, n_classes=state.n_classes, class_counts=dict(state.counts),
            near_duplicate_rate=round(state.near_duplicates / state.distinct, 4) if state.distinct else 0.0,
            full_distribution_rate=round(state.full / state.total, 4), template_keys=templates,
            networks=sorted(state.networks), user_agents=sorted(state.agents), alerted=state.last_alert is not None)

    def sweep(self, now: datetime) -> list[AbuseAlert]:
        """Resolve the alerts of clients that went quiet for `resolve_after_s`, and of windows that
        ended; their state is dropped, so renewed activity opens a new alert. Quiet clients that
        were never alerted are dropped too: memory stays bounded by the clients active in a window."""
        ended, self._ended = self._ended, []
        for key, state in list(self.clients.items()):
            quiet = (now - state.last_seen).total_seconds()
            if state.last_alert is not None and quiet >= self.config.resolve_after_s:
                ended.append(self.clients.pop(key))
            elif state.last_alert is None and quiet >= self.config.window_s:
                del self.clients[key]
        # Only alerted states are ever ended (above, and in observe).
        return [resolve(state.last_alert, now, state.last_seen) for state in ended if state.last_alert is not None]


def resolve(alert: AbuseAlert, now: datetime, last_seen: datetime) -> AbuseAlert:
    return alert.model_copy(update={"status": "resolve", "time": now, "window_end": last_seen})


def explain(found: list[DetectorFinding]) -> str:
    def numbers(f: DetectorFinding) -> str:
        return ", ".join(f"{k} {v}" for k, v in f.evidence.items())
    return "; ".join(f"{f.detector} {f.score:.2f} ({numbers(f)})" for f in found)


def alert_id(client_ids: list[str], model: str, window_start: datetime) -> str:
    digest = hashlib.sha256(f"{','.join(client_ids)}\0{model}\0{window_start.isoformat()}".encode()).hexdigest()
    return f"alert-{digest[:16]}"


# ---- stage two: rings of linked accounts ---------------------------------------------------------

@dataclass
class Ring:
    alert: AbuseAlert
    members: set[str]
    last_seen: datetime


class RingLinker:
    """Links a model's clients whose profiles share a network or a template, and scores each
    connected group of at least `ring_min_members` as one client: summed class histograms,
    query-weighted near-duplicate rate. One alert names the whole ring and is updated as it grows."""

    def __init__(self, config: DetectorSettings) -> None:
        self.config = config
        self.profiles: dict[str, dict[str, ClientProfile]] = {}  # model -> client -> latest profile
        self.index: dict[tuple[str, str], set[str]] = {}  # (model, "net:..." | "tpl:...") -> clients
        self.rings: dict[str, list[Ring]] = {}

    @staticmethod
    def _links(profile: ClientProfile) -> list[str]:
        return [f"net:{n}" for n in profile.networks] + [f"tpl:{t}" for t in profile.template_keys]

    def observe(self, profile: ClientProfile) -> AbuseAlert | None:
        if profile.client_id in self.config.allow_clients:
            return None
        model = profile.model
        clients = self.profiles.setdefault(model, {})
        old = clients.get(profile.client_id)
        if old is not None:
            for link in self._links(old):
                self.index.get((model, link), set()).discard(profile.client_id)
        clients[profile.client_id] = profile
        for link in self._links(profile):
            self.index.setdefault((model, link), set()).add(profile.client_id)
        members = self._component(model, profile.client_id)
        if len(members) < self.config.ring_min_members:
            return None
        return self._assess(model, members)

    def _component(self, model: str, start: str, limit: int = 500) -> set[str]:
        seen, todo = {start}, [start]
        while todo and len(seen) < limit:
            client = todo.pop()
            for link in self._links(self.profiles[model][client]):
                sharing = self.index.get((model, link), ())
                if len(sharing) > self.config.ring_crowd:
                    continue
                for other in sharing:
                    if other not in seen:
                        seen.add(other)
                        todo.append(other)
        return seen

    def findings(self, profiles: list[ClientProfile]) -> list[DetectorFinding]:
        c = self.config
        total = sum(p.queries for p in profiles)
        if total < c.min_queries:
            return []
        counts: Counter = Counter()
        for p in profiles:
            counts.update(p.class_counts)
        found = []
        spread, touched = coverage(counts, profiles[0].n_classes), len(counts)
        member_spread = float(np.median([coverage(p.class_counts, p.n_classes) for p in profiles]))
        if total >= c.ring_min_queries and spread >= c.coverage_threshold and touched >= c.min_classes \
                and member_spread >= c.ring_member_spread:
            found.append(DetectorFinding(detector="ring_coverage", score=round(min(1.0, spread), 4), evidence={
                "members": len(profiles), "queries": total, "classes_touched": touched,
                "normalised_entropy": round(spread, 4), "median_member_coverage": round(member_spread, 4),
                "threshold": c.coverage_threshold}))
        rate = sum(p.near_duplicate_rate * p.queries for p in profiles) / total
        shared = Counter(t for p in profiles for t in set(p.template_keys))
        sharing = max(shared.values(), default=0)
        if rate >= c.duplicate_threshold and sharing >= c.ring_min_members:
            found.append(DetectorFinding(detector="ring_templates", score=round(
                0.5 + 0.45 * min(1.0, (rate - c.duplicate_threshold) / (1 - c.duplicate_threshold)), 4), evidence={
                "members": len(profiles), "queries": total, "near_duplicate_rate": round(rate, 4),
                "members_sharing_a_template": sharing, "threshold": c.duplicate_threshold}))
        return found

    def _assess(self, model: str, members: set[str]) -> AbuseAlert | None:
        profiles = [self.profiles[model][m] for m in sorted(members)]
        found = self.findings(profiles)
        if not found:
            return None
        networks = sorted({n for p in profiles for n in p.networks})
        found.append(DetectorFinding(detector="ring_links", score=0.0, evidence={
            "members": len(profiles), "networks": len(networks), "first_network": networks[0] if networks else ""}))
        score = round(min(1.0, noisy_or([f.score for f in found])), 4)
        severity = severity_of(score)
        window_start = min(p.window_start for p in profiles)
        last_seen = max(p.time for p in profiles)
        queries = {p.client_id: p.queries for p in profiles}
        ring = next((r for r in self.rings.get(model, []) if r.members & members), None)
        if ring is None:
            alert = AbuseAlert(alert_id=alert_id(sorted(members), model, window_start), status="open",
                               client_ids=sorted(members), model=model, score=score, severity=severity,
                               findings=found, window_start=window_start, window_end=last_seen, ring=True,
                               queries=queries, explanation=explain(found))
            self.rings.setdefault(model, []).append(Ring(alert, set(members), last_seen))
            return alert
        grown = not members <= ring.members
        ring.last_seen = max(ring.last_seen, last_seen)
        severity = max(severity, ring.alert.severity, key=SEVERITIES.index)
        if not grown and score < ring.alert.score + self.config.update_step and severity == ring.alert.severity:
            return None
        ring.members |= members
        ring.alert = ring.alert.model_copy(update={
            "status": "update", "client_ids": sorted(ring.members), "score": max(score, ring.alert.score),
            "severity": severity, "findings": found, "window_end": ring.last_seen, "queries": queries,
            "explanation": explain(found), "time": last_seen})
        return ring.alert

    def sweep(self, now: datetime) -> list[AbuseAlert]:
        resolved = []
        for rings in self.rings.values():
            for ring in list(rings):
                if (now - ring.last_seen).total_seconds() >= self.config.resolve_after_s:
                    rings.remove(ring)
                    resolved.append(resolve(ring.alert, now, ring.last_seen))
        for model, clients in self.profiles.items():
            for client, profile in list(clients.items()):
                if (now - profile.time).total_seconds() >= self.config.window_s:
                    for link in self._links(profile):
                        self.index.get((model, link), set()).discard(client)
                    del clients[client]
        return resolved

    def to_json(self) -> dict:
        return {"profiles": [p.model_dump(mode="json") for clients in self.profiles.values() for p in clients.values()],
                "rings": [{"alert": r.alert.model_dump(mode="json"), "members": sorted(r.members),
                           "last_seen": r.last_seen.isoformat()} for rings in self.rings.values() for r in rings]}

    def load_json(self, d: dict) -> None:
        for p in d.get("profiles", []):
            profile = ClientProfile.model_validate(p)
            self.profiles.setdefault(profile.model, {})[profile.client_id] = profile
            for link in self._links(profile):
                self.index.setdefault((profile.model, link), set()).add(profile.client_id)
        known = {r.alert.alert_id for rings in self.rings.values() for r in rings}
        for r in d.get("rings", []):
            alert = AbuseAlert.model_validate(r["alert"])
            if alert.alert_id in known:
                continue
            self.rings.setdefault(alert.model, []).append(
                Ring(alert, set(r["members"]), datetime.fromisoformat(r["last_seen"])))
