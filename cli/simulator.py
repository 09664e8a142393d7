"""Traffic simulator for the detection harness: ordinary clients and extraction attacks, driven
against the real gRPC inference service, each client with its own API key, connection, user agent
and (through x-forwarded-for, as behind an ingress) its own network.

This is the tuning harness: the detector's settings were chosen on it. `cli/holdout.py` is the
validation harness, written apart and never tuned against.

Ordinary profiles: a niche user (one to three related classes), a heavy batch user (natural data
from its business, large batches, high volume), a bursty app, a user who retries, a trial user
(a few questions all over the domain), and a templated app (every request one template of its
product with the slot filled from its niche). Several ordinary apps share a company NAT.

Attack families: random synthetic queries (word salad), perturbations around seeds (JbDA-like),
natural data from another corpus (KnockoffNets-like: Python's own documentation), prompt templates
with slot filling (LLM-distillation style: step-by-step and rubric prompts), probability harvesting
(the full distribution for natural queries all over the domain), mixers (a niche user's natural
stream with a quarter of word salad or of queries all over the domain slipped in), and rings spread
over many keys: one behind one network with natural data, one over many networks sharing
templates, and a low-and-slow ring of 25 keys with 20 queries each.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import math
import random
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import grpc

from shared.events import AbuseAlert
from shared.oip import OipClient

DATA = Path(__file__).resolve().parent.parent / "data" / "wordnet"
ORDINARY_PROFILES = ("niche", "heavy", "bursty", "retrier", "trial", "templated")
ATTACK_FAMILIES = ("synthetic", "perturbation", "knockoff", "template", "harvest", "mixer", "ring")
TEMPLATES = (
    'Which WordNet supersense fits this definition: "{}"? Answer with one label.',
    "Classify the following gloss into its lexicographer file. Gloss: {} Label:",
    "You are an expert lexicographer. Think step by step, then give the supersense of: {}",
    'Grade each candidate label on a 1-5 rubric, then name the best supersense for "{}".',
)
APP_TEMPLATES = (
    "Product description: {} Which category should this item be listed under?",
    "Our support ticket says: {} Please route it to the right team.",
    "Search query from the help centre: {}",
    "Flashcard of the day. Front: {} Back: (tag)",
)
_WORD = re.compile(r"[a-z]+")


@dataclass
class ClientPlan:
    name: str
    family: str  # an ordinary profile or an attack family
    attacker: bool
    texts: list[str]
    batch: int = 1
    outputs: str = "label"  # label | top3 | full
    network: str = ""  # the client's address, sent as x-forwarded-for
    user_agent: str = ""
    burst: int = 0  # pause after this many queries (0: never)
    ring: str = ""
    turns: list[int] = field(default_factory=list)  # chat: the turns each request sends (empty: one each)
    # chat, per request (empty: the defaults of cli.chat_simulator.generation_events): the alternatives asked
    # for per position (else `outputs` says), max_tokens, and the answer's length in tokens.
    top_logprobs: list[int] = field(default_factory=list)
    max_tokens: list[int] = field(default_factory=list)
    answer_tokens: list[int] = field(default_factory=list)
    continues: list[bool] = field(default_factory=list)  # chat, per request: its prompt ends with the answer before it
    # chat, per request: when it is sent, in seconds from the harness's start, non-decreasing (empty: every
    # client starts at once and the clients' requests are interleaved at random, a millisecond apart)
    send_times: list[float] = field(default_factory=list)
    instructions: str = ""  # chat: the system prompt every request sends, if any
    sent: int = 0
    stopped: str = ""


def read_by_label(name: str, field: str) -> dict[str, list[str]]:
    """One field of a shipped WordNet sample's rows, by their label (supersense)."""
    by_label: dict[str, list[str]] = defaultdict(list)
    with gzip.open(DATA / name, "rt", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            by_label[row["label"]].append(row[field])
    return dict(by_label)


@dataclass
class Corpora:
    by_label: dict[str, list[str]]
    other: list[str]  # another corpus: sentences of Python's documentation
    vocab: list[str]

    @classmethod
    def load(cls) -> Corpora:
        by_label = read_by_label("heldout.jsonl.gz", "text")
        import pydoc_data.topics

        text = " ".join(pydoc_data.topics.topics.values())
        other = [" ".join(s.split()) for s in re.split(r"(?<=[.!?])\s+", text) if 20 < len(s.strip()) < 200]
        vocab = sorted({w for texts in by_label.values() for t in texts for w in _WORD.findall(t.lower())})
        return cls(dict(by_label), other, vocab)

    @property
    def everything(self) -> list[str]:
        return [t for texts in self.by_label.values() for t in texts]


def _perturb(text: str, rng: random.Random, vocab: list[str]) -> str:
    words = text.split()
    for _ in range(rng.randint(1, 2)):
        i = rng.randrange(len(words))
        op = rng.random()
        if op < 0.5:
            words[i] = rng.choice(vocab)
        elif op < 0.75 and len(words) > 3:
            del words[i]
        elif i + 1 < len(words):
            words[i], words[i + 1] = words[i + 1], words[i]
    return " ".join(words)


def _count(rng: random.Random, low: int, high: int, scale: float) -> int:
    return max(5, int(math.exp(rng.uniform(math.log(low), math.log(high))) * scale))


def ordinary_plan(i: int, profile: str, corpora: Corpora, rng: random.Random, scale: float) -> ClientPlan:
    labels = sorted(corpora.by_label, key=lambda label: -len(corpora.by_label[label]))
    big = [label for label in labels if len(corpora.by_label[label]) >= 60]
    niche = rng.sample(big[:24], rng.randint(1, 3))
    pool = [t for label in niche for t in corpora.by_label[label]]
    name = f"{profile}-{i:03d}"
    agent = rng.choice(["", "", f"{profile}-app/{rng.randint(1, 9)}.{rng.randint(0, 9)}"])
    if profile == "heavy":
        business = rng.sample(big[:24], rng.randint(2, 4))
        weights = [1 / (k + 1) for k in range(len(business))]
        everything = corpora.everything
        texts = [rng.choice(everything) if rng.random() < 0.03 else
                 rng.choice(corpora.by_label[rng.choices(business, weights)[0]])
                 for _ in range(_count(rng, 400, 1200, scale))]
        return ClientPlan(name, profile, False, texts, batch=16, outputs="top3", user_agent=agent)
    if profile == "bursty":
        texts = [rng.choice(pool) for _ in range(_count(rng, 60, 300, scale))]
        return ClientPlan(name, profile, False, texts, user_agent=agent, burst=rng.randint(10, 30))
    if profile == "retrier":
        texts = []
        for _ in range(_count(rng, 40, 150, scale)):
            texts += [rng.choice(pool)] * rng.choice([1, 1, 2, 3])
        return ClientPlan(name, profile, False, texts, user_agent=agent)
    if profile == "trial":
        texts = rng.sample(corpora.everything, rng.randint(10, 40))
        return ClientPlan(name, profile, False, texts, user_agent=agent)
    if profile == "templated":
        template = rng.choice(APP_TEMPLATES)
        texts = [template.format(rng.choice(pool)) for _ in range(_count(rng, 60, 400, scale))]
        return ClientPlan(name, profile, False, texts, batch=4, user_agent=agent)
    texts = [rng.choice(pool) for _ in range(_count(rng, 40, 300, scale))]
    return ClientPlan(name, "niche", False, texts, outputs=rng.choice(["label", "label", "top3"]), user_agent=agent)


def attack_plans(family: str, index: int, corpora: Corpora, rng: random.Random, queries: int,
                 ring_size: int, ring_queries: int) -> list[ClientPlan]:
    name = f"{family}-{index:02d}"
    everything = corpora.everything
    if family == "synthetic":
        texts = [" ".join(rng.choice(corpora.vocab) for _ in range(rng.randint(3, 14))) for _ in range(queries)]
        return [ClientPlan(name, family, True, texts, batch=8)]
    if family == "perturbation":
        texts = []
        while len(texts) < queries:
            seed = rng.choice(everything)
            texts += [seed] + [_perturb(seed, rng, corpora.vocab) for _ in range(rng.randint(8, 15))]
        return [ClientPlan(name, family, True, texts[:queries], batch=8)]
    if family == "knockoff":
        return [ClientPlan(name, family, True, rng.sample(corpora.other, min(queries, len(corpora.other))),
                           batch=8, outputs="full")]
    if family == "template":
        texts = [rng.choice(TEMPLATES).format(rng.choice(everything)) for _ in range(queries)]
        return [ClientPlan(name, family, True, texts, batch=8)]
    if family == "harvest":
        return [ClientPlan(name, family, True, rng.sample(everything, queries), batch=8, outputs="full")]
    if family == "mixer":
        # A niche user's natural stream, a quarter of it extraction: word salad (even-numbered
        # mixers) or natural queries all over the domain (odd-numbered ones), interleaved at random.
        labels = sorted(corpora.by_label, key=lambda label: -len(corpora.by_label[label]))
        pool = [t for label in rng.sample(labels[:24], 2) for t in corpora.by_label[label]]
        texts = []
        for _ in range(queries):
            if rng.random() >= 0.25:
                texts.append(rng.choice(pool))
            elif index % 2 == 0:
                texts.append(" ".join(rng.choice(corpora.vocab) for _ in range(rng.randint(6, 14))))
            else:
                texts.append(rng.choice(everything))
        return [ClientPlan(name, family, True, texts, batch=1)]
    # Rings: one in three hides behind one network with natural data; one in three uses many
    # networks and shares prompt templates; one in three is 25 keys, low and slow, over three
    # cloud subnets, with natural data.
    ring, plans = f"ring-{index:02d}", []
    subnet = f"203.0.{113 + index}"
    if index % 3 == 2:
        ring_size, ring_queries = 25, 20
    for m in range(ring_size):
        if index % 3 == 0:
            texts = rng.sample(everything, ring_queries)
            address = f"{subnet}.{rng.randint(2, 250)}"
        elif index % 3 == 2:
            texts = rng.sample(everything, ring_queries)
            address = f"198.51.{100 + m % 3}.{rng.randint(2, 250)}"
        else:
            texts = [rng.choice(TEMPLATES).format(rng.choice(everything)) for _ in range(ring_queries)]
            address = f"198.{18 + index}.{m}.{rng.randint(2, 250)}"
        plans.append(ClientPlan(f"{ring}-key{m:02d}", family, True, texts, batch=4, network=address, ring=ring))
    return plans


def ordinary_networks(plans: list[ClientPlan], rng: random.Random) -> None:
    """Ordinary clients have their own networks, except that one in eight is one of three apps of
    a company behind one NAT."""
    for i, plan in enumerate(plans):
        company = i // 24 if i % 8 == 0 else None
        plan.network = f"10.{100 + company // 200}.{company % 200}.{rng.randint(2, 250)}" if company is not None \
            else f"10.{i // 200}.{i % 200}.{rng.randint(2, 250)}"


def population(ordinary: int, attackers_per_family: int, seed: int = 7, scale: float = 1.0,
               attack_queries: int = 600, ring_size: int = 8, ring_queries: int = 50) -> list[ClientPlan]:
    """`ordinary` ordinary clients (profiles in turn) and, per attack family, that many attackers
    (a ring counts as one attacker of its family; every key of it is an attacking client)."""
    rng = random.Random(seed)
    corpora = Corpora.load()
    plans = [ordinary_plan(i, ORDINARY_PROFILES[i % len(ORDINARY_PROFILES)], corpora, rng, scale)
             for i in range(ordinary)]
    ordinary_networks(plans, rng)
    for family in ATTACK_FAMILIES:
        for k in range(attackers_per_family):
            for plan in attack_plans(family, k, corpora, rng, max(64, int(attack_queries * scale)), ring_size,
                                     max(5, int(ring_queries * scale))):
                plan.network = plan.network or f"192.0.{k * 8 + ATTACK_FAMILIES.index(family)}.{rng.randint(2, 250)}"
                plans.append(plan)
    rng.shuffle(plans)
    return plans


def assembled(rng: random.Random, ordinary: int, attackers_per_family: int, profiles: tuple[str, ...],
              families: tuple[str, ...], make_ordinary: Callable[[int, str], ClientPlan],
              make_attack: Callable[[str, int], list[ClientPlan]]) -> list[ClientPlan]:
    """A harness's population: `ordinary` clients (profiles in turn) and, per attack family, that
    many attackers (a ring counts as one; every key of it is an attacking client), shuffled."""
    plans = [make_ordinary(i, profiles[i % len(profiles)]) for i in range(ordinary)]
    for family in families:
        for k in range(attackers_per_family):
            plans += make_attack(family, k)
    rng.shuffle(plans)
    return plans


def interleaved(plans: list[ClientPlan], rng: random.Random) -> Iterator[tuple[ClientPlan, int]]:
    """Every plan's requests in order, a batch at a time, plans interleaved at random: (plan, index
    of the batch's first text)."""
    cursors = [(p, [0]) for p in plans]
    while cursors:
        i = rng.randrange(len(cursors))
        plan, position = cursors[i]
        yield plan, position[0]
        position[0] += plan.batch
        if position[0] >= len(plan.texts):
            cursors.pop(i)


def answered_events(plans: list[ClientPlan], model_dir: Path, model: str, seed: int = 3,
                    limit: int | None = None) -> list[bytes]:
    """The `inference.requests` events the plans' traffic makes, encoded as the inference service
    publishes them: fingerprints computed as it computes them, answers from the served model, each
    client's queries in order, clients interleaved at random."""
    import grpc
    import numpy as np

    from shared.events import InferenceRequest, utcnow
    from shared.fingerprint import fingerprints, network_of
    from shared.textmodel import TextClassifier

    classifier = TextClassifier(model_dir, device="cpu")
    # The user agent as gRPC sends it: the caller's own (grpc.primary_user_agent), then the library's.
    library_agent = f"grpc-python-asyncio/{grpc.__version__}"
    texts = sorted({t for p in plans for t in p.texts})
    probabilities = classifier.predict_batched(texts)
    answer = {t: (classifier.classes[int(np.argmax(p))], float(p.max())) for t, p in zip(texts, probabilities)}
    outputs = {"label": ["LABEL"], "top3": ["PROBABILITIES:top3"], "full": ["PROBABILITIES"]}
    rng = random.Random(seed)
    now = utcnow()
    payloads: list[bytes] = []
    for plan, start in interleaved(plans, rng):
        if limit is not None and len(payloads) >= limit:
            break
        for text in plan.texts[start:start + plan.batch]:
            top, probability = answer[text]
            payloads.append(InferenceRequest(
                request_id=f"r{len(payloads)}", client_id=plan.name, model=model, model_version="1",
                time=now + timedelta(milliseconds=len(payloads)), top_class=top, top_probability=probability,
                entropy=0.5, n_classes=len(classifier.classes), outputs=outputs[plan.outputs],
                client_network=network_of(plan.network), user_agent=f"{plan.user_agent} {library_agent}".strip(),
                **fingerprints(text)).model_dump_json().encode())
    return payloads


def seed_reference(store, model: str, model_dir: Path, ordinary: int = 600, seed: int = 11) -> int:
    """What an operator does with `distillery detector reference`, from a sample of ordinary
    traffic: here the simulator's ordinary clients (another seed than the harnesses'), answered by
    the served model, added to the model's benign reference in the store. Returns the windows added."""
    from services.detector.records import add_sample
    from shared.events import InferenceRequest

    events = (InferenceRequest.model_validate_json(b)
              for b in answered_events(population(ordinary, 0, seed=seed), model_dir, model, seed))
    return add_sample(store, events)[model][0]


async def drive(url: str, model: str, plans: list[ClientPlan], keys: dict[str, str], concurrency: int = 48) -> float:
    """Run every client against the service, `concurrency` clients at a time; returns seconds.
    A client stops when the service refuses it (enforcement after an alert)."""
    gate = asyncio.Semaphore(concurrency)
    started = time.monotonic()

    async def run(plan: ClientPlan) -> None:
        async with gate:
            forwarded = [("x-forwarded-for", plan.network)] if plan.network else []
            async with OipClient(url, api_key=keys[plan.name], user_agent=plan.user_agent,
                                 metadata=forwarded) as client:
                for start in range(0, len(plan.texts), plan.batch):
                    texts = plan.texts[start:start + plan.batch]
                    outputs = {"label": ("LABEL",), "top3": ("PROBABILITIES",), "full": ("PROBABILITIES",)}[plan.outputs]
                    try:
                        await client.infer(model, texts, outputs=outputs, class_count=3 if plan.outputs == "top3" else 0)
                    except grpc.aio.AioRpcError as exc:
                        if exc.code() in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.RESOURCE_EXHAUSTED):
                            plan.stopped = f"{exc.code().name}: {exc.details()}"
                            return
                        raise
                    plan.sent += len(texts)
                    if plan.burst and plan.sent % plan.burst < plan.batch:
                        await asyncio.sleep(0.2)

    await asyncio.gather(*(run(plan) for plan in plans))
    return time.monotonic() - started


# ---- evaluation ------------------------------------------------------------------------------------

@dataclass
class Evaluation:
    families: dict[str, dict] = field(default_factory=dict)
    profiles: dict[str, dict] = field(default_factory=dict)  # ordinary profile -> clients, flagged, blocked
    ordinary_clients: int = 0
    ordinary_flagged: list[str] = field(default_factory=list)
    ordinary_blocked: list[str] = field(default_factory=list)
    ordinary_throttled: list[str] = field(default_factory=list)  # named at medium or high, never critical
    attacking_clients: int = 0
    attacking_caught: int = 0
    attacking_enforced: int = 0  # named at a severity the default policy acts on: throttle or block
    scores: dict[str, float] = field(default_factory=dict)  # client -> its risk (log10 margin), alerted or not

    @property
    def false_positive_rate(self) -> float:
        return len(self.ordinary_flagged) / max(1, self.ordinary_clients)

    @property
    def detection_rate(self) -> float:
        return self.attacking_caught / max(1, self.attacking_clients)

    @property
    def median_queries_to_detection(self) -> int | None:
        medians = sorted(f["median_queries_to_detection"] for f in self.families.values()
                         if f["median_queries_to_detection"] is not None)
        return medians[len(medians) // 2] if medians else None

    def lines(self) -> list[str]:
        out = [f"{'family':<18}{'clients':>8}{'caught':>8}{'rate':>7}{'median queries to detection':>30}"
               f"{'caught alone':>14}{'enforced':>10}"]
        for family, f in self.families.items():
            median = f["median_queries_to_detection"]
            out.append(f"{family:<18}{f['clients']:>8}{f['caught']:>8}{f['rate']:>7.2f}"
                       f"{'-' if median is None else median:>30}{f['caught_alone']:>14}{f['enforced']:>10}")
        out.append(f"{'ordinary profile':<18}{'clients':>8}{'flagged':>8}{'throttled':>10}{'blocked':>8}")
        for profile, f in self.profiles.items():
            out.append(f"{profile:<18}{f['clients']:>8}{f['flagged']:>8}{f['throttled']:>10}{f['blocked']:>8}")
        out.append(f"attacking clients caught: {self.attacking_caught}/{self.attacking_clients} "
                   f"({self.detection_rate:.3f}), throttled or blocked: {self.attacking_enforced}; ordinary clients "
                   f"flagged: {len(self.ordinary_flagged)}/{self.ordinary_clients} ({self.false_positive_rate:.4f}), "
                   f"throttled: {len(self.ordinary_throttled)}, blocked: {len(self.ordinary_blocked)}"
                   + (f"; flagged: {', '.join(sorted(self.ordinary_flagged))}" if self.ordinary_flagged else ""))
        return out


def evaluate(plans: list[ClientPlan], alerts: list[AbuseAlert], risks: dict[str, float] | None = None) -> Evaluation:
    """Per family: attacking clients named by an alert, and the queries each had made when first
    named (the alert's own count); ordinary clients named by any alert are false positives,
    throttled ones those named at medium or high severity (what the default policy throttles), and
    blocked ones those named at critical severity or refused with PERMISSION_DENIED. `risks`: each
    client's highest published risk (ClientProfile.risk); a ring alert's margin counts for its keys."""
    first: dict[str, AbuseAlert] = {}
    # Named by an alert on the client alone (not only as a key of a linked group).
    alone = {c for a in alerts if a.status != "resolve" and not a.ring for c in a.client_ids}
    best: dict[str, float] = defaultdict(lambda: -99.0, risks or {})
    critical: set[str] = set()
    enforced: set[str] = set()  # named at medium or above: throttled (medium, high) or blocked (critical)
    for alert in sorted((a for a in alerts if a.status != "resolve"), key=lambda a: a.time):
        margin = max((float(f.evidence.get("margin_log10", 0.0)) for f in alert.findings), default=0.0)
        for client in alert.client_ids:
            first.setdefault(client, alert)
            best[client] = max(best[client], margin)
            if alert.severity == "critical":
                critical.add(client)
            if alert.severity != "low":
                enforced.add(client)
    result = Evaluation()
    by_family: dict[str, list[ClientPlan]] = defaultdict(list)
    for plan in plans:
        by_family[plan.family].append(plan)
    for family in sorted({p.family for p in plans if p.attacker}, key=lambda f: min(p.name for p in by_family[f])):
        members = by_family[family]
        caught = [p for p in members if p.name in first]
        # For a ring, the queries until detection are the whole ring's; for a single key its own,
        # even when a ring alert named it first (its templates linked it to a ring).
        counts = sorted(sum(first[p.name].queries.values()) if p.ring else
                        first[p.name].queries.get(p.name, 0) for p in caught)
        result.families[family] = {"clients": len(members), "caught": len(caught),
                                   "caught_alone": sum(p.name in alone for p in members),
                                   "rate": len(caught) / len(members),
                                   "enforced": sum(p.name in enforced for p in members),
                                   "median_queries_to_detection": counts[len(counts) // 2] if counts else None}
    ordinary = [p for p in plans if not p.attacker]
    blocked = {p.name for p in ordinary if p.name in critical or p.stopped.startswith("PERMISSION_DENIED")}
    for profile in sorted({p.family for p in ordinary}):
        members = [p for p in ordinary if p.family == profile]
        result.profiles[profile] = {"clients": len(members), "flagged": sum(p.name in first for p in members),
                                    "throttled": sum(p.name in enforced - blocked for p in members),
                                    "blocked": sum(p.name in blocked for p in members)}
    attackers = [p for p in plans if p.attacker]
    result.ordinary_clients, result.attacking_clients = len(ordinary), len(attackers)
    result.ordinary_flagged = [p.name for p in ordinary if p.name in first]
    result.ordinary_blocked = sorted(blocked)
    result.ordinary_throttled = sorted(p.name for p in ordinary if p.name in enforced - blocked)
    result.attacking_caught = sum(1 for p in attackers if p.name in first)
    result.attacking_enforced = sum(1 for p in attackers if p.name in enforced)
    result.scores = {p.name: best[p.name] for p in plans}
    return result


def plot_roc(panels: list[tuple[str, Evaluation, list[ClientPlan]]], path: Path) -> Path:
    """ROC per attack family against all ordinary clients, one panel per harness, the risk score as
    the threshold (alerts start at risk 0)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 5), squeeze=False)
    for ax, (title, evaluation, plans) in zip(axes[0], panels):
        best = evaluation.scores
        ordinary = [best.get(p.name, -99.0) for p in plans if not p.attacker]
        for family in evaluation.families:
            scores = [best.get(p.name, -99.0) for p in plans if p.family == family]
            points = [(1.0, 1.0)]
            for t in sorted(set(scores + ordinary)):
                points.append((sum(s >= t for s in ordinary) / len(ordinary), sum(s >= t for s in scores) / len(scores)))
            points.append((0.0, 0.0))
            points.sort()
            ax.plot([p[0] for p in points], [p[1] for p in points], marker=".", label=family)
        at_zero = sum(s > 0 for s in ordinary) / max(1, len(ordinary))
        ax.axvline(at_zero, color="grey", linestyle=":", linewidth=1)
        ax.set_xscale("symlog", linthresh=0.01)
        ax.set_xlim(0, 1)
        ax.set_xlabel("false positive rate (ordinary clients)")
        ax.set_ylabel("detection rate (attacking clients)")
        ax.set_title(f"{title}: {len(ordinary)} ordinary clients")
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
