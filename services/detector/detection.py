"""Detecting clients that extract (distil) a served model, from `inference.requests`.

Evidence, not distance. A client is never compared with the model's training data: ordinary users
are never shaped like a training set. It is compared with the model's other clients, through a
benign reference built from what they do (`BenignReference`), and only on what extraction does.

Lead tests (each can alert), each on windows of a client's last h items, h in `horizons`:
- coverage: how many classes its confident answers spread over (exp of their entropy, as a share
  of the model's classes). Ordinary use stays in a topic, with the model's confusions around it; a
  harvester spreads over the whole output space.
- off_topic: the share of its answers that its topic does not explain (BenignReference.
  off_topic_share): the mixing weight of "anywhere in the domain" against "around these classes, as
  ordinary clients with them answer". A mixer's coverage queries, a template filled from everywhere.
- synthetic: the share of its longer queries that are not language-like (fewer than one word in
  ten an English function word, shared.fingerprint.function_word_share): word salad, random tokens.
- probing: near-duplicate clusters per query (MinHash bands shared within the window): seeds and
  their perturbations (JbDA-style boundary probing) make many small clusters.
- harvesting: the share of its answers that revealed the whole probability vector (a key must be
  granted that scope, and ask for it).
A templated client (most queries near-duplicates, one template band in a good share of them) is
tested for coverage and probing against templated clients only: every template clusters, and a
product's template over its niche is ordinary, a template filled from the whole domain is not.

Chat models (`inference.generations`) meet the same tests but synthetic (code, data and a tool's
output are what a chat model's products send), and one more:
- their "classes" are prompts' topics. A prompt's fixed nouns are those in at least FIXED_SHARE of
  the client's earlier prompts (a template's words, a product's standing instructions); the rest
  are what the prompt is about. More than PASSAGE_NOUNS of them make a passage (a text to
  summarise, rewrite or translate, whose words a product over one subject has mostly sent before),
  and so do more than one beside fixed ones (a template whose slot is filled with a text, not a
  word): PASSAGE, since one noun's supersense cannot say what a passage is about. Otherwise the
  topic is the WordNet supersense of the rarest of them that is new to the client, or FAMILIAR
  when none is (a conversation's follow-ups come back to its words: a thief's words never do);
- harvesting is asking for HARVEST_TOP_LOGPROBS or more alternatives per position of an answer of
  `chat_harvest_min_tokens` or more, or of one that continues an answer cut short (its prompt ends
  with it): a distiller needs the distribution at every position of whole answers, while a scorer,
  ranker or labeller reads it at one or a few (a label's, a choice's);
- reasoning: the share of prompts that ask for step-by-step reasoning. Alone it only watches: a
  tutor's or a homework helper's system prompt asks for it in every request;
- a chat client is templated only when most of its requests send one message (a conversation's
  follow-ups are alike).
Their severity counts leads only: support (templates, volume) raises none, since every chat product
has it. They are capped at `chat_max_severity` (throttle by default, never block): on validation
harnesses the tests miss most rings of ordinary-looking keys, mixers and synthetic-data generators,
and nearly all the ordinary clients they flag are named on one lead, at watch (docs/BENCHMARKS.md).

Supporting evidence (raises the severity, never alerts alone): templates (near-duplicate rate;
every templated application has it) and volume against the model's median client.

Windows, not averages: the tests run every 16 items on the last 64, 128 and 256, so a burst or a
minority of extraction inside ordinary traffic is found in its window, and the finding names it
(first and last request, from when to when).

Calibration: thresholds come from a target false-positive rate per client (`target_fpr`) on the
reference, not from constants. The reference holds each test's statistic over the closed windows
of clients that were not flagged (rolling, REFERENCE_SIZE per test, persisted by the service, and
seeded from an operator's sample of ordinary traffic: `distillery detector reference`). A value's
p-value is empirical below the reference's top tenth and from an exponential tail fitted to that
tenth above it (peaks over threshold: skewed references are not forced into a normal shape);
until a test has `min_reference` windows, a normal prior (`priors`) stands in. The budget is
split over the tests and spent over a client's independent windows, target_fpr * 6/(pi^2 k^2) on
the k-th (the sum over every k is target_fpr), so heavy clients are not flagged for their volume.
A client's risk is log10(budget / p) of its strongest test: above 0 it alerts.

Severity, and with it what the inference service enforces (watch, throttle, block), counts
independent signals: one lead test is low (watch); a strong one (p a thousand times under its
budget, or over budget in two independent windows) or one with support medium (throttle); two
leads, or a strong lead with support, high (throttle); only two leads with one of them strong are
critical (block). On a chat model's clients support counts for nothing, and the cap applies.

Every few queries stage one publishes a `ClientProfile` with the client's risk; stage two,
`RingLinker`, links clients whose traffic shares a /24, a template, or one user agent within one
/16, and asks how many of the linked keys are each spread over the domain, against single clients'
windows of the same (small) size. Low-and-slow rings keep every key under the per-client tests;
one broad key is an ordinary browsing user, seven or more linked ones are not.
"""

from __future__ import annotations

import bisect
import hashlib
import math
import statistics
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import field_validator
from pydantic_settings import BaseSettings, NoDecode

from shared.events import AbuseAlert, ClientProfile, DetectorFinding, InferenceGeneration, InferenceRequest
from shared.fingerprint import topic_names
from shared.settings import group

SEVERITIES = ("low", "medium", "high", "critical")
CLASSIFIER_TESTS = ("coverage", "off_topic", "synthetic", "probing", "harvesting")
# A chat model's prompts are often not language-like (code, JSON, tables, a tool's output, a record to
# label): that is what its products send, not word salad aimed at a decision boundary.
CHAT_TESTS = ("coverage", "off_topic", "probing", "harvesting", "reasoning")
LEAD_TESTS = (*CLASSIFIER_TESTS, "reasoning")
# A product may ask for the reasoning in every request (a tutor's, a homework helper's system prompt): on
# its own that test only watches, however strong; with another lead it counts as usual.
WATCH_ALONE = frozenset({"reasoning"})
UNNATURAL_SHARE = 0.1  # a query with fewer function words than this is not language-like
BANDS = 4  # MinHash bands of 2 values (8 values per text)
MAX_BANDS_KEPT = 2048
MAX_REPEAT_KEYS = 1024
QUIET_GAPS = 3  # an alerted client is quiet when it has waited this many times its longest recent wait
GAP_MEMORY = 50  # the waits kept (between a client's requests, between a ring's profiles)
ANSWER_TAILS_KEPT = 64  # a client's answers cut short, the latest, that its next prompts may continue
MEDIAN_EVERY = 1000
EVALUATE_EVERY = 16
REFERENCE_SIZE = 4000  # windows kept per test and horizon, per model
SPENDING = 6 / math.pi ** 2  # sum over k >= 1 of SPENDING / k^2 is 1
TEMPLATE_SHARE = 0.05  # of a client's queries sharing one band, for it to count as templated
STRATIFIED = ("coverage", "off_topic", "probing")  # a templated client is compared with templated clients
TOPIC_CLASSES = 3  # a window's topic: its most answered classes
PAIR_PRIOR = 20.0  # pseudo-answers smoothing a topic's neighbours towards the domain's answers
TAIL_QUANTILE = 0.9  # above it, a reference's p-values come from an exponential tail
TAIL_WINDOWS = 10  # windows, at least, in that tail
RING_MEMBER_P = 0.25  # a ring's typical key is in the top quarter of single clients' coverage
RING_CORRELATION = 0.02  # keys of one link resemble each other (an office's, an app's users): the null's overdispersion
MEMBER_WINDOWS = (4, 8, 16, 32)  # ring keys ask little: their coverage is calibrated at these sizes too
HARVEST_TOP_LOGPROBS = 10  # a chat request asking for this many alternatives per position (of 20) harvests them
TEMPLATE_SINGLE_TURNS = 0.8  # of a chat client's requests, for it to count as templated
FAMILIAR = "(familiar)"  # a chat prompt's topic when all its nouns were in the client's earlier prompts
PASSAGE = "(passage)"  # a chat prompt's topic when more than PASSAGE_NOUNS of its nouns are not fixed
PASSAGE_NOUNS = 4
NEW_PASSAGE_NOUNS = 2
SLOT_PROMPTS = 4  # a chat client's prompts before its fixed nouns say what its template is
FIXED_SHARE = 0.25  # of a chat client's earlier prompts: a noun in that many is its template's or product's own


class DetectorSettings(BaseSettings):
    """The detector's targets and timings (DETECTOR_*)."""

    model_config = group("DETECTOR_")

    allow_clients: Annotated[frozenset[str], NoDecode] = frozenset()
    """Clients whose traffic is authorised distillation (comma-separated key names): never alerted on."""
    target_fpr: float = 0.005
    """Per-client false-positive rate the lead tests are calibrated to, on the benign reference."""
    horizons: Annotated[tuple[int, ...], NoDecode] = (64, 128, 256)
    """Window sizes (items) each lead test runs on; the smallest is the queries before any test."""
    min_reference: int = 20
    """Windows in the benign reference before it replaces the prior."""
    strong_margin: float = 3.0
    """log10 of how far under its budget a p-value must be to count as strong."""
    confident_probability: float = 0.5
    """Coverage counts only answers the model was this sure of: unsure answers scatter over classes for any
    client, confident ones only for a client whose queries do."""
    priors: dict[str, tuple[float, float, float]] = {
        "coverage": (0.15, 0.06, 0.01), "off_topic": (0.1, 0.1, 0.02), "synthetic": (0.0, 0.05, 0.02),
        "probing": (0.05, 0.06, 0.02),
        "harvesting": (0.0, 0.25, 0.1), "reasoning": (0.05, 0.15, 0.05)}
    """Per lead test: the centre and scale that stand in for the reference until it is calibrated, and the least
    scale after (however alike the reference's clients, the smallest difference that counts)."""
    duplicate_threshold: float = 0.45
    """Share of (non-repeat) queries that collide with earlier ones, for the templates support."""
    volume_ratio: float = 10.0
    """Queries / the model's median client, for the volume support."""
    idle_s: float = 604_800.0
    """A client (or a ring's key) quiet this long is forgotten: its state starts afresh when it comes back.
    Evidence is counted in requests, not hours, so a client pacing itself over days is judged on as many
    requests as one that asks them in minutes. A client kept costs about 30 KB at 20 requests, 180 KB at 256
    and 370 KB from about 1,000 on (docs/BENCHMARKS.md): size the replicas by the clients active in a week."""
    resolve_after_s: float = 900.0
    """An alerted client (or ring) quiet this long, and QUIET_GAPS times its longest recent wait between
    requests (profiles), gets its alert resolved. Its evidence is kept: if it comes back, its windows name it
    again, in an alert of a new id."""
    alert_epoch_s: float = 86_400.0
    """How long an alert lasts: an alert open this long is resolved and opened anew (a new id) if the client's
    windows still show it, so an operator's lift of it lapses; and the lead tests' budget is spent again each
    period, so a long-lived client's tests do not grow ever stricter. Its evidence carries over."""
    profile_every: int = 25
    """A ClientProfile every this many queries (and at 5, 10, 20)."""
    ring_min_members: int = 3
    """Linked clients that make a ring."""
    ring_crowd: int = 250
    """A network or template shared by more clients than this is a proxy, an ingress or a popular app, not
    evidence of a ring (and following it would make every client one component)."""
    chat_harvest_min_tokens: int = 8
    """A chat request harvests logprobs when its answer has at least this many tokens (0: any), or continues an
    answer cut short: a score of a label or a choice reads them at a position or a few, a distiller at every
    position of whole answers, at once or a few tokens at a time."""
    chat_max_severity: Literal["low", "medium", "high", "critical"] = "high"
    """The highest severity of an alert on a chat model's clients: high (throttle, never block) until the chat
    tests hold on traffic they were not tuned on; on such traffic they still miss most rings and mixers, and
    watch up to 7% of ordinary clients (docs/BENCHMARKS.md)."""
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

    def capped(self, severity: str, chat: bool) -> str:
        """The severity an alert may carry: a chat model's clients' no higher than chat_max_severity."""
        return min(severity, self.chat_max_severity, key=SEVERITIES.index) if chat else severity

    def severity(self, leads: list[DetectorFinding], supports: list[DetectorFinding], chat: bool,
                 floor: str = "low") -> str:
        """severity_for, no lower than `floor` (an open alert's), capped. On a chat model's clients
        support raises nothing: templates and volume are what every chat product has, and on a
        validation harness they took a labelling product to throttle on one lead (docs/BENCHMARKS.md)."""
        found = severity_for(leads, [] if chat else supports, self.strong_margin)
        if chat and {f.detector for f in leads} <= WATCH_ALONE:
            found = "low"
        return self.capped(max(found, floor, key=SEVERITIES.index), chat)

    def budget(self, window: int = 1, tests: int = len(CLASSIFIER_TESTS)) -> float:
        """The false-positive budget of one lead test on a client's window-th independent window:
        target_fpr split over the `tests` its client meets (those of a classifier's or a chat
        model's), and spent over windows as SPENDING / window^2."""
        return self.target_fpr * SPENDING / window ** 2 / (tests * len(self.horizons))

    @field_validator("horizons", mode="before")
    @classmethod
    def _integers(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(sorted(int(v) for v in value.split(",") if v.strip()))
        return value


# ---- statistics -----------------------------------------------------------------------------------

def effective_classes(counts: dict[str, int] | Counter) -> float:
    """exp(entropy) of a class histogram: how many classes, evenly used, would give its spread."""
    total = sum(counts.values())
    if total == 0:
        return 0.0
    return math.exp(-sum(c / total * math.log(c / total) for c in counts.values() if c))


def binomial_tail(n: int, k: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p)."""
    return min(1.0, sum(math.comb(n, i) * p ** i * (1 - p) ** (n - i) for i in range(k, n + 1)))


def beta_binomial_tail(n: int, k: int, p: float, rho: float) -> float:
    """P(X >= k) for X ~ BetaBinomial(n) with mean n p and intra-class correlation rho: a binomial
    whose trials are alike (rho 0 is the binomial)."""
    if rho <= 0:
        return binomial_tail(n, k, p)
    a, b = p * (1 / rho - 1), (1 - p) * (1 / rho - 1)

    def log_beta(x: float, y: float) -> float:
        return math.lgamma(x) + math.lgamma(y) - math.lgamma(x + y)

    return min(1.0, sum(math.exp(math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1)
                                 + log_beta(i + a, n - i + b) - log_beta(a, b)) for i in range(k, n + 1)))


def normal_p(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2))


def severity_for(leads: list[DetectorFinding], supports: list[DetectorFinding], strong_margin: float) -> str:
    """A lead is strong when its p-value is 10^strong_margin under budget, or when it went over
    budget in two independent windows: evidence that repeats is not a fluke of one window."""
    strong = any(f.evidence.get("margin_log10", 0.0) >= strong_margin  # type: ignore[operator]
                 or f.evidence.get("windows_over_budget", 0) >= 2 for f in leads)  # type: ignore[operator]
    if len(leads) >= 2 and strong:
        return "critical"
    if len(leads) >= 2 or (strong and supports):
        return "high"
    if strong or supports:
        return "medium"
    return "low"


def alert_score(margin_log10: float) -> float:
    """A bounded score from the strongest lead's margin: 0.5 at the budget, 0.95 a thousandfold past it."""
    return round(min(1.0, 1.0 - 0.5 * 10 ** (-max(0.0, margin_log10) / 3)), 4)


def band_keys(minhash: list[int]) -> list[int]:
    return [(b << 64) | (minhash[2 * b] << 32) | minhash[2 * b + 1] for b in range(min(BANDS, len(minhash) // 2))]


# ---- the benign reference ----------------------------------------------------------------------------

@dataclass
class Calibration:
    """How unusual a statistic is among the reference's windows. Below the reference's
    TAIL_QUANTILE the p-value is the empirical one; above it, an exponential tail fitted to the
    windows beyond it (peaks over threshold): a skewed reference, most clients near zero and a few
    far out, is not forced into a normal shape. Without enough windows, a normal prior."""

    centre: float  # the prior's centre, or where the reference's tail starts
    scale: float  # the prior's scale, or the tail's mean excess
    windows: int  # reference windows behind it; 0: the prior
    ordered: tuple[float, ...] = ()
    tail: float = 1 - TAIL_QUANTILE  # the share of the reference in the tail

    def p_value(self, x: float) -> float:
        if not self.windows:
            return normal_p((x - self.centre) / self.scale)
        if x <= self.centre:
            above = len(self.ordered) - bisect.bisect_left(self.ordered, x)
            return (above + 1) / (len(self.ordered) + 1)
        return self.tail * math.exp(-(x - self.centre) / self.scale)


class BenignReference:
    """One model's reference: for each lead test and horizon (and stratum), the statistics of past
    windows of the model's clients that were not flagged when the window closed (a rolling sample
    of REFERENCE_SIZE). The attackers not yet flagged only fatten its tail, which makes the tests
    more cautious, not less."""

    def __init__(self, config: DetectorSettings) -> None:
        self.config = config
        self.values: dict[str, deque[float]] = {}
        self._cached: dict[str, tuple[int, Calibration]] = {}
        self._added: Counter = Counter()
        # How ordinary clients' answers spread around their topics: for a topic class a, the
        # classes answered in the same windows (a model's confusions, a niche's neighbours).
        self.pairs: dict[str, Counter] = {}
        self.marginal: Counter = Counter()
        self.pair_windows = 0

    def add_pairs(self, classes: list[str]) -> None:
        counts = Counter(classes)
        for topic, _ in counts.most_common(TOPIC_CLASSES):
            self.pairs.setdefault(topic, Counter()).update(counts)
        self.marginal.update(counts)
        self.pair_windows += 1

    def off_topic_share(self, classes: list[str], n_classes: int) -> float | None:
        """The share of a window's answers that its topic does not explain: the mixing weight of
        'anywhere in the domain' (the reference's marginal answers) against 'around this topic' (the
        reference's answers beside the window's TOPIC_CLASSES classes), fitted by EM. A niche user's
        confusions are explained by its topic; a mixer's coverage queries are not."""
        if self.pair_windows < self.config.min_reference:
            return None
        counts = Counter(classes)
        total = sum(self.marginal.values())
        anywhere = {b: (self.marginal[b] + 1) / (total + n_classes) for b in counts}
        topic = counts.most_common(TOPIC_CLASSES)
        weight = sum(n for _, n in topic)
        around = dict.fromkeys(counts, 0.0)
        for a, n in topic:
            beside = self.pairs.get(a, Counter())
            size = sum(beside.values())
            for b in counts:  # smoothed towards anywhere: a rare topic explains little
                around[b] += n / weight * (beside[b] + PAIR_PRIOR * anywhere[b]) / (size + PAIR_PRIOR)
        share = 0.5
        for _ in range(30):
            responsibility = {b: share * anywhere[b] / (share * anywhere[b] + (1 - share) * around[b]) for b in counts}
            share = sum(counts[b] * responsibility[b] for b in counts) / len(classes)
        return share

    def add(self, test: str, value: float) -> None:
        self.values.setdefault(test, deque(maxlen=REFERENCE_SIZE)).append(value)
        self._added[test] += 1

    def calibrated(self, test: str) -> bool:
        return len(self.values.get(test, ())) >= self.config.min_reference

    def calibration(self, test: str) -> Calibration:
        centre, scale, least = self.config.priors[test.split("@")[0]]
        if not self.calibrated(test):
            return Calibration(centre, scale, 0)
        cached = self._cached.get(test)
        if cached is not None and self._added[test] - cached[0] < max(10, len(cached[1].ordered) // 20):
            return cached[1]  # re-estimated as the reference grows by 5%: sorting thousands is not free
        ordered = tuple(sorted(self.values[test]))
        tail = max(1 - TAIL_QUANTILE, TAIL_WINDOWS / len(ordered))  # at least TAIL_WINDOWS to fit the tail on
        threshold = ordered[int((1 - tail) * (len(ordered) - 1))]
        excess = [v - threshold for v in ordered if v > threshold]
        calibration = Calibration(threshold, max(statistics.fmean(excess) if excess else 0.0, least), len(ordered),
                                  ordered, tail)
        self._cached[test] = (self._added[test], calibration)
        return calibration

    def to_json(self) -> dict:
        return {"values": {test: [round(v, 5) for v in values] for test, values in self.values.items()},
                "pairs": self.pairs, "marginal": self.marginal, "pair_windows": self.pair_windows}

    def load_json(self, data: dict) -> None:
        for test, values in data.get("values", {}).items():
            for value in values:
                self.add(test, float(value))
        for topic, beside in data.get("pairs", {}).items():
            self.pairs.setdefault(topic, Counter()).update(beside)
        self.marginal.update(data.get("marginal", {}))
        self.pair_windows += data.get("pair_windows", 0)


def reference_from_events(events: Iterable[InferenceRequest | InferenceGeneration],
                          config: DetectorSettings) -> dict[str, BenignReference]:
    """Benign references, per model, from a sample of ordinary traffic an operator vouches for
    (`distillery detector reference`): the events replayed through stage one, whose closed windows
    make the reference, as they would in the service; every window, flagged or not, since the
    operator vouches for every client (a prior must not keep a kind of ordinary client out)."""
    detector = ClientDetector(config, vouched=True)
    for event in events:
        detector.observe(event)
    return detector.references


# ---- stage one: one client ----------------------------------------------------------------------------

@dataclass
class ClientState:
    window_start: datetime
    last_seen: datetime
    n_classes: int
    chat: bool = False  # a chat model's client: its items are prompts' topics, and it meets CHAT_TESTS
    gaps: deque = field(default_factory=lambda: deque(maxlen=GAP_MEMORY))  # its last waits between requests (s)
    epoch_seen: dict[str, int] = field(default_factory=dict)  # per lead test, items seen when this alert period began
    single_turns: int = 0  # chat requests that sent one message (a system prompt aside): no conversation
    # chat: the prompts its nouns were in, by noun hash, least recently used first; and its prompts with nouns.
    nouns: dict[int, int] = field(default_factory=dict)
    prompts: int = 0
    counts: dict[str, int] = field(default_factory=dict)  # confident answers per class, whole window
    total: int = 0
    full: int = 0  # answers that revealed the whole distribution
    repeats: int = 0
    near_duplicates: int = 0
    recent_texts: dict[str, None] = field(default_factory=dict)  # an ordered set: oldest first
    bands: Counter = field(default_factory=Counter)
    band_order: deque = field(default_factory=deque)
    # The lead tests' windows: (value, request id, unix time) of the last max(horizons) items.
    windows: dict[str, deque] = field(default_factory=lambda: {kind: deque() for kind in LEAD_TESTS})
    seen: dict[str, int] = field(default_factory=dict)  # items ever added per lead test
    over: dict[str, int] = field(default_factory=dict)  # per lead test, closed windows over budget
    risk: float = -99.0
    risk_tests: dict[str, float] = field(default_factory=dict)
    findings: dict[str, DetectorFinding] = field(default_factory=dict)  # the strongest per lead test
    networks: set[str] = field(default_factory=set)
    agents: set[str] = field(default_factory=set)
    # chat: the tails of its last answers cut at max_tokens, which a continuation's prompt ends with
    answer_tails: dict[int, None] = field(default_factory=dict)  # an ordered set, oldest first
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
            "n_classes": self.n_classes, "chat": self.chat, "gaps": list(self.gaps), "epoch_seen": self.epoch_seen,
            "single_turns": self.single_turns,
            "nouns": list(self.nouns.items()), "prompts": self.prompts, "counts": self.counts, "total": self.total, "full": self.full,
            "repeats": self.repeats, "near_duplicates": self.near_duplicates, "recent_texts": list(self.recent_texts),
            "band_order": [str(k) for k in self.band_order],
            "windows": {kind: list(items) for kind, items in self.windows.items()}, "seen": self.seen, "over": self.over, "risk": self.risk,
            "risk_tests": self.risk_tests, "findings": {k: f.model_dump() for k, f in self.findings.items()},
            "networks": sorted(self.networks), "agents": sorted(self.agents), "answer_tails": list(self.answer_tails),
            "alerted_score": self.alerted_score,
            "alerted_severity": self.alerted_severity,
            "last_alert": self.last_alert.model_dump(mode="json") if self.last_alert else None}

    @classmethod
    def from_json(cls, d: dict) -> ClientState:
        state = cls(window_start=datetime.fromisoformat(d["window_start"]),
                    last_seen=datetime.fromisoformat(d["last_seen"]), n_classes=d["n_classes"],
                    chat=d.get("chat", False))
        state.counts, state.total, state.full = dict(d["counts"]), d["total"], d["full"]
        state.single_turns = d.get("single_turns", 0)
        state.gaps.extend(d.get("gaps", []))
        state.epoch_seen = dict(d.get("epoch_seen", {}))
        # A checkpoint from before nouns were counted holds their hashes alone: each counts once.
        for noun in d.get("nouns", []):
            if isinstance(noun, list | tuple):
                state.nouns[int(noun[0])] = int(noun[1])
            else:
                state.nouns[int(noun)] = 1
        state.prompts = d.get("prompts", 0)
        state.repeats, state.near_duplicates = d["repeats"], d["near_duplicates"]
        state.recent_texts = dict.fromkeys(d["recent_texts"])
        for key in d["band_order"]:
            state.band_order.append(int(key))
            state.bands[int(key)] += 1
        for kind, items in d["windows"].items():
            state.windows[kind].extend((tuple(v) if isinstance(v, list) else v, r, t) for v, r, t in items)
        state.seen, state.over, state.risk, state.risk_tests = dict(d["seen"]), dict(d["over"]), d["risk"], \
            dict(d["risk_tests"])
        state.findings = {k: DetectorFinding.model_validate(f) for k, f in d["findings"].items()}
        state.networks, state.agents = set(d["networks"]), set(d["agents"])
        state.answer_tails = dict.fromkeys(d.get("answer_tails", []))
        state.alerted_score, state.alerted_severity = d["alerted_score"], d["alerted_severity"]
        state.last_alert = AbuseAlert.model_validate(d["last_alert"]) if d["last_alert"] else None
        return state


def _window_evidence(items: Iterable[tuple]) -> dict[str, float | int | str]:
    items = list(items)
    return {"window_first_request": items[0][1], "window_last_request": items[-1][1],
            "window_from": datetime.fromtimestamp(items[0][2], UTC).isoformat(timespec="seconds"),
            "window_to": datetime.fromtimestamp(items[-1][2], UTC).isoformat(timespec="seconds")}


class ClientDetector:
    """Stage one: per client and model. `observe` returns (alert or None, profile or None)."""

    def __init__(self, config: DetectorSettings, vouched: bool = False) -> None:
        self.config = config
        self.vouched = vouched  # every client is ordinary: each closed window goes to the reference
        self.clients: dict[tuple[str, str], ClientState] = {}
        self.references: dict[str, BenignReference] = {}
        self._ended: list[AbuseAlert] = []  # alerts whose period ended, resolved at the next sweep
        self._medians: dict[str, tuple[int, float]] = {}  # model -> (at event, median queries per client)
        self._events = 0
        self._keep = max(config.horizons)

    def reference(self, model: str) -> BenignReference:
        if model not in self.references:
            self.references[model] = BenignReference(self.config)
        return self.references[model]

    def observe(self, event: InferenceRequest | InferenceGeneration) -> tuple[AbuseAlert | None, ClientProfile | None]:
        """Takes one classifier request or one chat generation; a model's clients are all of one kind."""
        if event.client_id in self.config.allow_clients:
            return None, None  # an authorised distillation job
        key = (event.client_id, event.model)
        state = self.clients.get(key)
        if state is None:
            # A chat model's "classes" are the topics of its prompts.
            chat = isinstance(event, InferenceGeneration)
            n_classes = event.n_classes if isinstance(event, InferenceRequest) else len(topic_names()) + 2  # FAMILIAR, PASSAGE
            state = ClientState(window_start=event.time, last_seen=event.time, chat=chat, n_classes=n_classes)
            self.clients[key] = state
        elif (event.time - state.window_start).total_seconds() >= self.config.alert_epoch_s:
            if state.last_alert is not None:
                self._ended.append(resolve(state.last_alert, event.time, state.last_seen))
            self._new_period(state, event.time)
        tested = self._update(state, event)
        alert = self._assess(event, state) if tested else None
        profile = self._profile(event, state) if state.total in (5, 10, 20) or \
            state.total % self.config.profile_every == 0 else None
        return alert, profile

    def _update(self, state: ClientState, event: InferenceRequest | InferenceGeneration) -> bool:
        """Takes the event in; True when a lead test ran."""
        if state.total:  # its waits between requests, for when to call it quiet
            state.gaps.append(max(0.0, (event.time - state.last_seen).total_seconds()))
        state.last_seen = max(state.last_seen, event.time)
        state.total += 1
        continues = False
        if isinstance(event, InferenceRequest):
            harvests = "PROBABILITIES" in event.outputs
        else:
            # A request that continues an answer cut short reads that answer on: a harvester asking
            # for a few tokens at a time reads whole answers as surely as one asking for them at once.
            continues = any(t in state.answer_tails for t in event.prompt_tails)
            for tail in event.answer_tails:
                remember(state.answer_tails, tail, ANSWER_TAILS_KEPT)
            harvests = event.logprobs and event.top_logprobs >= HARVEST_TOP_LOGPROBS and \
                (event.completion_tokens >= self.config.chat_harvest_min_tokens or continues)
        if harvests:
            state.full += 1
        if event.client_network and len(state.networks) < 8:
            state.networks.add(event.client_network)
        if event.user_agent and len(state.agents) < 4:
            state.agents.add(event.user_agent)
        text_key = event.text_sha256[:16]
        # A continuation may send its question (or "go on") again: that reads a new part of the answer.
        if text_key in state.recent_texts and not continues:
            state.repeats += 1  # a retry teaches nothing new: not counted again
            return False
        remember(state.recent_texts, text_key, MAX_REPEAT_KEYS)
        keys = band_keys(event.text_minhash) if event.text_minhash else []
        if keys:
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
        stamp = event.time.timestamp()
        items: dict[str, object] = {"harvesting": int(harvests)}
        if keys:
            items["probing"] = tuple(keys)
        if isinstance(event, InferenceGeneration):
            state.single_turns += event.messages - event.system_prompt <= 1
            items["reasoning"] = int(event.reasoning_cue)
            if event.prompt_topics:
                topic = self._prompt_topic(state, event.prompt_topics, event.prompt_nouns)
                state.counts[topic] = state.counts.get(topic, 0) + 1
                items["coverage"] = items["off_topic"] = topic
        elif event.top_probability >= self.config.confident_probability:
            state.counts[event.top_class] = state.counts.get(event.top_class, 0) + 1
            items["coverage"] = items["off_topic"] = event.top_class
        if event.text_function_words is not None and not isinstance(event, InferenceGeneration):
            items["synthetic"] = int(event.text_function_words < UNNATURAL_SHARE)
        tested = False
        for kind, value in items.items():
            tested |= self._add(state, event.model, kind, (value, event.request_id, stamp))
        return tested

    def _add(self, state: ClientState, model: str, kind: str, item: tuple) -> bool:
        window = state.windows[kind]
        window.append(item)
        if len(window) > self._keep:
            window.popleft()
        seen = state.seen[kind] = state.seen.get(kind, 0) + 1
        reference = self.reference(model)
        if kind == "coverage" and seen in MEMBER_WINDOWS and (state.last_alert is None or self.vouched):
            # A ring's keys ask too little for the lead tests: the reference holds ordinary
            # clients' coverage at the sizes of such keys, for RingLinker (never alerted on alone).
            # One window per client (its first): a ring's keys are compared with clients, not with
            # the many windows of a few heavy ones.
            reference.add(f"coverage@{seen}", self._coverage(list(window)[-seen:], state.n_classes))
        if seen % EVALUATE_EVERY:
            return False
        for h in self.config.horizons:
            if seen < h:
                continue
            items = list(window)[-h:]
            value = self._statistic(kind, items, state.n_classes, reference)
            if value is None:
                continue
            # A templated client (most of its queries near-duplicates) is compared with templated
            # clients: a product's template over its niche, against a template filled from everywhere.
            test = f"{kind}@{h}"
            # A closed window of a client nobody suspects (or of a sample the operator vouches for).
            closed = seen % h == 0 and (state.last_alert is None or self.vouched)
            if kind in STRATIFIED and self._templated(state):
                test += "/templated"
                if not reference.calibrated(test):
                    if closed:
                        reference.add(test, value)
                    if kind == "probing":
                        continue  # every template clusters: compared with templated clients or not at all
                    test = test.removesuffix("/templated")
            calibration = reference.calibration(test)
            p = calibration.p_value(value)
            k = max(1, math.ceil((seen - state.epoch_seen.get(kind, 0)) / h))  # the k-th window of h this period
            budget = self.config.budget(k, len(CHAT_TESTS if state.chat else CLASSIFIER_TESTS))
            margin = math.log10(budget) - math.log10(max(p, 1e-300))
            state.risk_tests[test] = round(margin, 3)
            if closed and (margin <= 0 or self.vouched):
                reference.add(test, value)
                if kind == "coverage" and h == min(self.config.horizons):
                    reference.add_pairs([item[0] for item in items])
            if closed and margin > 0:
                state.over[kind] = state.over.get(kind, 0) + 1
            if margin > 0:
                best = state.findings.get(kind)
                if best is not None and state.over.get(kind, 0) > best.evidence.get("windows_over_budget", 0):  # type: ignore[operator]
                    best = state.findings[kind] = best.model_copy(
                        update={"evidence": {**best.evidence, "windows_over_budget": state.over[kind]}})
                if best is None or margin >= best.evidence["margin_log10"]:  # type: ignore[operator]
                    state.findings[kind] = DetectorFinding(detector=kind, score=alert_score(margin), evidence={
                        "statistic": round(value, 4), "reference_tail_from": round(calibration.centre, 4),
                        "reference_tail_scale": round(calibration.scale, 4), "reference_windows": calibration.windows,
                        "horizon": h, "window": k, "p_value": float(f"{p:.3g}"),
                        "budget": float(f"{budget:.3g}"), "margin_log10": round(margin, 2),
                        "windows_over_budget": state.over.get(kind, 0), **_window_evidence(items)})
        state.risk = max(state.risk_tests.values(), default=-99.0)
        return True

    @staticmethod
    def _prompt_topic(state: ClientState, topics: list[str], nouns: list[int]) -> str:
        """What a chat prompt is about (the module's docstring says why), and the client's nouns
        updated with it."""
        fixed = FIXED_SHARE * state.prompts
        about = [(t, h) for t, h in zip(topics, nouns) if not state.prompts or state.nouns.get(h, 0) < fixed]
        new = [t for t, h in about if h not in state.nouns]
        # A template filled with a text, not a word: its slot brings more than one noun of its own.
        filled = state.prompts >= SLOT_PROMPTS and len(about) < len(nouns) and len(about) > 1
        topic = PASSAGE if filled or len(about) > PASSAGE_NOUNS or len(new) > NEW_PASSAGE_NOUNS else \
            new[0] if new else FAMILIAR
        for noun in dict.fromkeys(nouns):  # used again: moved to the end, kept longest
            state.nouns[noun] = state.nouns.pop(noun, 0) + 1
        while len(state.nouns) > MAX_REPEAT_KEYS:
            del state.nouns[next(iter(state.nouns))]
        state.prompts += 1
        return topic

    def _templated(self, state: ClientState) -> bool:
        """Most of its queries near-duplicates, and one MinHash band (a template's fixed words) shared
        by a good part of them: a product's template, unlike perturbations, which cluster around
        many seeds."""
        if state.distinct < min(self.config.horizons) // 2 or \
                state.near_duplicates / state.distinct < self.config.duplicate_threshold:
            return False
        if state.chat and state.single_turns < TEMPLATE_SINGLE_TURNS * state.total:
            return False  # a conversation's follow-ups ("why is that?") are alike; a product's template sends one message
        top = state.bands.most_common(1)
        return bool(top) and top[0][1] >= TEMPLATE_SHARE * min(state.distinct, MAX_BANDS_KEPT // BANDS)

    @staticmethod
    def _statistic(kind: str, items: list[tuple], n_classes: int, reference: BenignReference) -> float | None:
        if kind == "off_topic":
            return reference.off_topic_share([item[0] for item in items], n_classes)
        if kind == "coverage":
            return ClientDetector._coverage(items, n_classes)
        if kind == "probing":  # near-duplicate clusters (MinHash bands shared by queries) per query
            bands = Counter(k for item in items for k in item[0])
            return sum(1 for n in bands.values() if n >= 2) / len(items)
        return sum(item[0] for item in items) / len(items)  # shares: synthetic, harvesting

    @staticmethod
    def _coverage(items: list[tuple], n_classes: int) -> float:
        """How many classes the answers (or prompts' topics) spread over, as a share of the model's."""
        return effective_classes(Counter(item[0] for item in items)) / n_classes

    def supports(self, state: ClientState, model_median: float | None = None) -> list[DetectorFinding]:
        c = self.config
        found = []
        if self._templated(state):
            rate = state.near_duplicates / state.distinct
            found.append(DetectorFinding(detector="templates", score=round(min(1.0, rate), 4), evidence={
                "queries": state.total, "distinct": state.distinct, "near_duplicates": state.near_duplicates,
                "rate": round(rate, 4), "threshold": c.duplicate_threshold}))
        if model_median:
            ratio = state.total / model_median
            if ratio >= c.volume_ratio:
                found.append(DetectorFinding(detector="volume", score=0.3, evidence={
                    "queries": state.total, "model_median": model_median, "ratio": round(ratio, 1)}))
        return found

    def _assess(self, event: InferenceRequest | InferenceGeneration, state: ClientState) -> AbuseAlert | None:
        leads = list(state.findings.values())
        if not leads:
            return None
        supports = self.supports(state, self._median(event.model))
        return self._alert(state, leads, supports, event.client_id, event.model)

    def _median(self, model: str) -> float:
        """The median queries of the model's clients, recomputed every MEDIAN_EVERY tests (it
        moves slowly, and computing it reads every client)."""
        self._events += 1
        computed_at, median = self._medians.get(model, (-MEDIAN_EVERY, 0.0))
        if self._events - computed_at >= MEDIAN_EVERY:
            totals = [s.total for (_, m), s in self.clients.items() if m == model]
            median = float(statistics.median(totals)) if totals else 0.0
            self._medians[model] = (self._events, median)
        return median

    def _alert(self, state: ClientState, leads: list[DetectorFinding], supports: list[DetectorFinding],
               client_id: str, model: str) -> AbuseAlert | None:
        score = max(f.score for f in leads)
        # An open alert's severity only rises: a score wobbling around a boundary must not flap the
        # severity (and with it what the inference service enforces) up and down.
        severity = self.config.severity(leads, supports, state.chat, floor=state.alerted_severity or "low")
        if state.alerted_score is not None and score < state.alerted_score + 0.05 \
                and severity == state.alerted_severity:
            return None  # deduplicated: nothing new to say
        status = "open" if state.alerted_score is None else "update"
        state.alerted_score, state.alerted_severity = max(score, state.alerted_score or 0.0), severity
        found = leads + supports
        state.last_alert = AbuseAlert(
            alert_id=alert_id([client_id], model, state.window_start), status=status, client_ids=[client_id],
            model=model, score=score, severity=severity, findings=found, window_start=state.window_start,
            window_end=state.last_seen, queries={client_id: state.total}, explanation=explain(found))
        return state.last_alert

    def _profile(self, event: InferenceRequest | InferenceGeneration, state: ClientState) -> ClientProfile:
        # A template is a band shared by a good part of the client's distinct queries; identical
        # texts (two users of one niche asking the same thing) share bands too, but only once each.
        templates = [f"{k:x}" for k, n in state.bands.most_common(4) if n >= max(3, 0.05 * state.distinct)]
        spread, size = self._member_spread(state)
        return ClientProfile(
            client_id=event.client_id, model=event.model, window_start=state.window_start, time=state.last_seen,
            queries=state.total, n_classes=state.n_classes, class_counts=dict(state.counts),
            near_duplicate_rate=round(state.near_duplicates / state.distinct, 4) if state.distinct else 0.0,
            full_distribution_rate=round(state.full / state.total, 4), template_keys=templates,
            networks=sorted(state.networks), user_agents=sorted(state.agents), alerted=state.last_alert is not None,
            risk=state.risk, risk_tests=dict(state.risk_tests), templated=self._templated(state), chat=state.chat,
            spread=round(spread, 4), spread_window=size)

    def _member_spread(self, state: ClientState) -> tuple[float, int]:
        """Coverage of the client's last window of the largest size it has answers for (one of
        MEMBER_WINDOWS or the smallest horizon), and that size: comparable with single clients'
        windows of the same size, however little the key asked."""
        answers = state.seen.get("coverage", 0)
        size = max((s for s in (*MEMBER_WINDOWS, min(self.config.horizons)) if s <= answers), default=0)
        if not size:
            return 0.0, 0
        return self._coverage(list(state.windows["coverage"])[-size:], state.n_classes), size

    def risk_table(self) -> list[dict]:
        """Every client's risk, alerted or not: what `distillery detector risk` lists."""
        return [{"client_id": c, "model": m, "risk": s.risk, "risk_tests": dict(s.risk_tests), "queries": s.total,
                 "last_seen": s.last_seen.isoformat(), "severity": s.alerted_severity}
                for (c, m), s in self.clients.items()]

    def sweep(self, now: datetime) -> list[AbuseAlert]:
        """Resolve the alerts of clients gone quiet (for `resolve_after_s` and QUIET_GAPS times their
        longest recent wait: a thief asking every few minutes is not quiet between two requests), and
        of alert periods that ended. A resolved client's evidence is kept: if it comes back, its
        windows name it again in a new alert. Clients never alerted are dropped after `idle_s`
        quiet, and alerted ones too: memory stays bounded by the clients active within it."""
        ended, self._ended = self._ended, []
        for key, state in list(self.clients.items()):
            quiet = (now - state.last_seen).total_seconds()
            if quiet >= self.config.idle_s:
                del self.clients[key]
                if state.last_alert is not None:
                    ended.append(resolve(state.last_alert, now, state.last_seen))
            elif state.last_alert is not None and quiet >= quiet_after(self.config, state.gaps):
                ended.append(resolve(state.last_alert, now, state.last_seen))
                self._new_period(state, now)
        return ended

    @staticmethod
    def _new_period(state: ClientState, now: datetime) -> None:
        """Starts the client's next alert period (its alert, if any, resolved by the caller): its
        findings and the tests' budget start afresh, its windows (the evidence) carry over."""
        state.last_alert, state.alerted_score, state.alerted_severity = None, None, None
        state.findings.clear()
        state.over.clear()
        state.risk_tests.clear()
        state.risk = -99.0
        state.epoch_seen = dict(state.seen)
        state.window_start = now


def remember(recent: dict, key: object, limit: int) -> None:
    """Adds a key to an ordered set (a dict, oldest first) as its newest, forgetting the oldest past `limit`."""
    recent.pop(key, None)
    recent[key] = None
    if len(recent) > limit:
        del recent[next(iter(recent))]


def quiet_after(config: DetectorSettings, gaps: Iterable[float]) -> float:
    """How long an alerted client (or ring) must be silent to be quiet."""
    return min(config.idle_s, max(config.resolve_after_s, QUIET_GAPS * max(gaps, default=0.0)))


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
    gaps: deque = field(default_factory=lambda: deque(maxlen=GAP_MEMORY))  # between its keys' profiles (s)


class RingLinker:
    """Links a model's clients whose profiles share a /24, a template, or a user agent within one
    /16, and tests each link's group of at least `ring_min_members` keys: how many of them are
    each spread over the domain (their coverage in the top RING_MEMBER_P of single clients' windows
    of the same size), a count whose binomial tail must be under the budget. Pooled answers are no
    test: a company's niche apps behind one NAT pool to many classes, but each stays in its niche.
    One alert names the whole ring, keys too new to test included, and is updated as it grows."""

    def __init__(self, config: DetectorSettings, reference: Callable[[str], BenignReference]) -> None:
        self.config = config
        self.reference = reference
        self.profiles: dict[str, dict[str, ClientProfile]] = {}  # model -> client -> latest profile
        self.index: dict[tuple[str, str], set[str]] = {}  # (model, "net:..." | "tpl:...") -> clients
        self.rings: dict[str, list[Ring]] = {}

    @staticmethod
    def _links(profile: ClientProfile) -> list[str]:
        # A shared /24 or template; or one program (user agent) run from one provider's block (the
        # /16): a ring rents its addresses from one cloud and runs one script on all of them.
        # A template links only clients that mostly fill it: people's questions share phrases
        # ("what exactly does ... mean"), which would chain every user of a chat model together.
        blocks = {".".join(n.split(".")[:2]) for n in profile.networks if n.count(".") == 3}
        templates = profile.template_keys if profile.templated or not profile.chat else []
        return [f"net:{n}" for n in profile.networks] + [f"tpl:{t}" for t in templates] + \
            [f"agent:{a}@{b}" for a in profile.user_agents for b in sorted(blocks)]

    def observe(self, profile: ClientProfile) -> AbuseAlert | None:
        if profile.client_id in self.config.allow_clients:
            return None
        model = profile.model
        clients = self.profiles.setdefault(model, {})
        old = clients.get(profile.client_id)
        if old is not None:
            self._unlink(old)
        clients[profile.client_id] = profile
        for link in self._links(profile):
            self.index.setdefault((model, link), set()).add(profile.client_id)
        # Each link's group is a candidate ring on its own. Not their connected whole: weak links
        # (a common template band, a popular client library) chain a ring to hundreds of ordinary
        # clients, and then no test can see it.
        alert = None
        for link in self._links(profile):
            members = self.index.get((model, link), set())
            if self.config.ring_min_members <= len(members) <= self.config.ring_crowd:
                alert = self._assess(model, set(members)) or alert
        return alert  # every group here shares this client: the last alert is the ring's whole

    def findings(self, profiles: list[ClientProfile]) -> tuple[list[DetectorFinding], list[DetectorFinding]]:
        """(lead, supporting) findings of a linked group."""
        c = self.config
        counts: Counter = Counter()
        for p in profiles:
            counts.update(p.class_counts)
        answers = sum(counts.values())
        reference = self.reference(profiles[0].model)
        shared = Counter(t for p in profiles for t in set(p.template_keys))
        sharing = max(shared.values(), default=0)
        leads: list[DetectorFinding] = []
        supports: list[DetectorFinding] = []
        # Each member's coverage (its last window of the largest size it has) against single
        # clients' windows of that size (a templated member against templated clients, where the
        # reference has them). A ring is keys each spread out: at least half of them in the top
        # RING_MEMBER_P of single clients, a count whose binomial tail under independent ordinary
        # clients is the p-value (so at least seven keys: 0.25^7 is under the budget, 0.25^6 not).
        # Pooled answers are no test (independent niche users pooled cover many classes), and
        # neither is a sum of small deviations (many customers of one app, a little unlike the
        # reference, add up to anything): the typical key must stand out on its own.
        p_members = []
        for member in profiles:
            p_members.append(reference.calibration(f"coverage@{member.spread_window}").p_value(member.spread))
        spread_out = sum(p <= RING_MEMBER_P for p in p_members)
        p_ring = beta_binomial_tail(len(p_members), spread_out, RING_MEMBER_P, RING_CORRELATION)
        budget = c.budget()
        margin = math.log10(budget) - math.log10(max(p_ring, 1e-300))
        if answers >= min(c.horizons) and 2 * spread_out >= len(p_members) and margin > 0:
            leads.append(DetectorFinding(detector="ring_coverage", score=alert_score(margin), evidence={
                "members": len(profiles), "answers": answers, "classes_touched": len(counts),
                "members_spread_out": spread_out, "member_p_threshold": RING_MEMBER_P,
                "median_member_p": float(f"{statistics.median(p_members):.3g}"), "p_value": float(f"{p_ring:.3g}"),
                "margin_log10": round(margin, 2)}))
        total = sum(p.queries for p in profiles)
        rate = sum(p.near_duplicate_rate * p.queries for p in profiles) / max(1, total)
        if rate >= c.duplicate_threshold and sharing >= c.ring_min_members:
            supports.append(DetectorFinding(detector="ring_templates", score=round(min(1.0, rate), 4), evidence={
                "members": len(profiles), "queries": total, "near_duplicate_rate": round(rate, 4),
                "members_sharing_a_template": sharing, "threshold": c.duplicate_threshold}))
        networks = sorted({n for p in profiles for n in p.networks})
        supports.append(DetectorFinding(detector="ring_links", score=0.5, evidence={
            "members": len(profiles), "networks": len(networks), "first_network": networks[0] if networks else "",
            "shared_templates": sharing}))
        return leads, supports

    def _assess(self, model: str, members: set[str]) -> AbuseAlert | None:
        # Keys too new to have a window of answers are no evidence, but they are named with the
        # ring: a hydra's fresh keys are throttled as they appear, not once each has asked enough.
        profiles = [self.profiles[model][m] for m in sorted(members)]
        tested = [p for p in profiles if p.spread_window]
        if len(tested) < self.config.ring_min_members:
            return None
        chat = any(p.chat for p in profiles)
        leads, supports = self.findings(tested)
        ring = next((r for r in self.rings.get(model, []) if r.members & members), None)
        if leads:
            found = leads + supports
            score = max(f.score for f in leads)
            severity = self.config.severity(leads, supports, chat)
        elif ring is not None and 2 * len(ring.members & members) >= len(members) > len(ring.members & members):
            # The group's own count falls short (its newest keys have shown little), but most of it
            # is a ring already found: that evidence stands, and the keys linked to it join it.
            # Not a group the ring is a minority of: a template band shared with many ordinary
            # clients must not pull them in.
            found, score, severity = ring.alert.findings, ring.alert.score, ring.alert.severity
        else:
            return None
        severity = self.config.capped(severity, chat)
        window_start = min(p.window_start for p in profiles)
        last_seen = max(p.time for p in profiles)
        queries = {p.client_id: p.queries for p in profiles}
        if ring is None:
            # Its id from when it opens: a ring that went quiet and comes back is a new alert.
            alert = AbuseAlert(alert_id=alert_id(sorted(members), model, last_seen), status="open",
                               client_ids=sorted(members), model=model, score=score, severity=severity,
                               findings=found, window_start=window_start, window_end=last_seen, ring=True,
                               queries=queries, explanation=explain(found))
            self.rings.setdefault(model, []).append(Ring(alert, set(members), last_seen))
            return alert
        grown = not members <= ring.members
        if last_seen > ring.last_seen:
            ring.gaps.append((last_seen - ring.last_seen).total_seconds())
            ring.last_seen = last_seen
        severity = max(severity, ring.alert.severity, key=SEVERITIES.index)
        if not grown and score < ring.alert.score + 0.05 and severity == ring.alert.severity:
            return None
        ring.members |= members
        ring.alert = ring.alert.model_copy(update={
            "status": "update", "client_ids": sorted(ring.members), "score": max(score, ring.alert.score),
            "severity": severity, "findings": found, "window_end": ring.last_seen, "queries": {**ring.alert.queries, **queries},
            "explanation": explain(found), "time": last_seen})
        return ring.alert

    def sweep(self, now: datetime) -> list[AbuseAlert]:
        resolved = []
        for rings in self.rings.values():
            for ring in list(rings):
                if (now - ring.last_seen).total_seconds() >= quiet_after(self.config, ring.gaps):
                    rings.remove(ring)
                    resolved.append(resolve(ring.alert, now, ring.last_seen))
        for clients in self.profiles.values():
            for client, profile in list(clients.items()):
                if (now - profile.time).total_seconds() >= self.config.idle_s:
                    self._unlink(profile)
                    del clients[client]
        return resolved

    def _unlink(self, profile: ClientProfile) -> None:
        """Takes the profile's client out of its links' groups; a group left empty goes (a week of
        one-off /24s and templates would otherwise stay as empty sets)."""
        for link in self._links(profile):
            members = self.index.get((profile.model, link))
            if members is not None:
                members.discard(profile.client_id)
                if not members:
                    del self.index[(profile.model, link)]

    def profile_states(self, models: set[str] | None = None) -> Iterator[dict]:
        """The latest profile of each client of these models (all by default), made as it is asked for."""
        for model, clients in list(self.profiles.items()):
            if models is None or model in models:
                yield from (p.model_dump(mode="json") for p in list(clients.values()))

    def ring_states(self, models: set[str] | None = None) -> Iterator[dict]:
        for model, rings in list(self.rings.items()):
            if models is None or model in models:
                yield from ({"alert": r.alert.model_dump(mode="json"), "members": sorted(r.members),
                             "last_seen": r.last_seen.isoformat(), "gaps": list(r.gaps)} for r in list(rings))

    def to_json(self, models: set[str] | None = None) -> dict:
        """The state of these models (all by default)."""
        return {"profiles": list(self.profile_states(models)), "rings": list(self.ring_states(models))}

    def drop(self, models: set[str]) -> None:
        """Forget these models' profiles and rings (another replica holds them now)."""
        for model in models:
            self.profiles.pop(model, None)
            self.rings.pop(model, None)
        for key in [k for k in self.index if k[0] in models]:
            del self.index[key]

    def load_json(self, d: dict) -> set[str]:
        """Add a checkpoint's state; returns the models it holds."""
        models: set[str] = set()
        for p in d.get("profiles", []):
            profile = ClientProfile.model_validate(p)
            models.add(profile.model)
            self.profiles.setdefault(profile.model, {})[profile.client_id] = profile
            for link in self._links(profile):
                self.index.setdefault((profile.model, link), set()).add(profile.client_id)
        known = {r.alert.alert_id for rings in self.rings.values() for r in rings}
        for r in d.get("rings", []):
            alert = AbuseAlert.model_validate(r["alert"])
            models.add(alert.model)
            if alert.alert_id in known:
                continue
            ring = Ring(alert, set(r["members"]), datetime.fromisoformat(r["last_seen"]))
            ring.gaps.extend(r.get("gaps", []))
            self.rings.setdefault(alert.model, []).append(ring)
        return models
