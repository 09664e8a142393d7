"""How far any detector of this kind could go on the chat harnesses: a ceiling, not a detector.

The chat tests are calibrated on ordinary traffic and never see a label. This measures what a
classifier that does see labels reaches: gradient-boosted trees (and, beside them, a logistic
regression) over what the `inference.generations` events say of each client (its volume,
repeats, templates, turns, logprobs, continuations, reasoning cues, its prompts' nouns and topics,
its networks and user agents), over what its linked clients (one /24, one user agent, one
template) say, and over the detector's own verdict (its highest risk; whether an alert, a ring's
included, named it). The features were designed with every harness visible, and that detector
was developed on the seen ones: "new" below is newer for the attacks than for the features.

Three tests, every threshold flagging at most `--fpr` of the ordinary clients it is set on:
- a new world (leave one harness out), at two thresholds: honest, set on the scores the other
  harnesses' ordinary clients get from models that did not train on them (nested leave-one-out),
  as a deployment would have to set it; and oracle, set on the held-out harness's own ordinary
  clients, which no deployment has: an estimate of the most a detector with these features and
  these labels could do there (one learner's, not a proof);
- a new family in a known world: within a harness, its ordinary clients in folds, each attack
  family tested by models trained on the other folds and the other families;
- known families: the same folds with the attacking keys in them too (a ring whole in one fold).
Send times are left out: only two harnesses have them (every other client starts at once, its
requests a millisecond apart).

    .venv/bin/python -m benchmarks.chat_detection_ceiling          # about 75 minutes on 2 CPUs"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
HARNESSES = ("tuning", "validation", "validation-b", "validation-c", "validation-d", "validation-e", "validation-f",
             "validation-g", "validation-h", "validation-i")
FEATURES_VERSION = 2  # of client_features and the detector's verdict: a cached harness of another is made again
# Per-client features its linked clients' means are taken of.
SHARED = ("log_requests", "new_noun_rate", "topic_spread", "reasoning", "harvesting", "detector_risk",
          "single_turns", "top_template")


def client_features(payloads: list[bytes], risks: dict[str, float]) -> dict[str, dict[str, float]]:
    """What the events say of each client, as numbers (the text is never seen, only fingerprints)."""
    from services.detector.detection import band_keys
    from shared.events import InferenceGeneration

    acc: dict[str, dict] = defaultdict(lambda: {
        "n": 0, "texts": set(), "bands": Counter(), "near": 0, "single": 0, "system": 0, "logprobs": 0, "harvest": 0,
        "top": 0, "tokens": 0, "cut": 0, "tails": set(), "continues": 0, "reasoning": 0, "chars": 0.0,
        "fw": [], "noun_prompts": 0, "mentions": 0, "nouns": set(), "new": 0, "topics": Counter(),
        "passages": 0, "networks": Counter(), "agents": Counter()})
    for body in payloads:
        e = InferenceGeneration.model_validate_json(body)
        a = acc[e.client_id]
        a["n"] += 1
        a["texts"].add(e.text_sha256)
        keys = band_keys(e.text_minhash) if e.text_minhash else []
        a["near"] += any(a["bands"][k] for k in keys)
        a["bands"].update(keys)
        a["single"] += e.messages - e.system_prompt <= 1
        a["system"] += e.system_prompt
        a["logprobs"] += e.logprobs
        a["harvest"] += e.top_logprobs >= 10
        a["top"] += e.top_logprobs
        a["tokens"] += e.completion_tokens
        a["cut"] += "length" in e.finish_reasons
        a["continues"] += any(t in a["tails"] for t in e.prompt_tails)
        a["tails"].update(e.answer_tails)
        a["reasoning"] += e.reasoning_cue
        a["chars"] += math.log1p(e.text_chars)
        if e.text_function_words is not None:
            a["fw"].append(e.text_function_words)
        if e.prompt_nouns:
            a["noun_prompts"] += 1
            a["mentions"] += len(e.prompt_nouns)
            new = [(t, h) for t, h in zip(e.prompt_topics, e.prompt_nouns) if h not in a["nouns"]]
            if new:
                a["new"] += 1
                a["topics"][new[0][0]] += 1
            a["passages"] += len(e.prompt_nouns) > 4
            a["nouns"].update(e.prompt_nouns)
        if e.client_network:
            a["networks"][e.client_network] += 1
        if e.user_agent:
            a["agents"][e.user_agent] += 1
    features = {}
    for client, a in acc.items():
        n = a["n"]
        topics = a["topics"]
        total = sum(topics.values())
        spread = math.exp(-sum(c / total * math.log(c / total) for c in topics.values())) if total else 0.0
        features[client] = {
            "log_requests": math.log(n), "distinct": len(a["texts"]) / n, "near_duplicates": a["near"] / n,
            "top_template": (a["bands"].most_common(1)[0][1] / n) if a["bands"] else 0.0,
            "single_turns": a["single"] / n, "system_prompt": a["system"] / n, "logprobs": a["logprobs"] / n,
            "harvesting": a["harvest"] / n, "mean_top_logprobs": a["top"] / n, "mean_tokens": a["tokens"] / n,
            "cut": a["cut"] / n, "continues": a["continues"] / n, "reasoning": a["reasoning"] / n,
            "log_chars": a["chars"] / n, "function_words": float(np.mean(a["fw"])) if a["fw"] else -1.0,
            "noun_prompts": a["noun_prompts"] / n, "nouns_per_prompt": a["mentions"] / max(1, a["noun_prompts"]),
            "distinct_nouns": len(a["nouns"]) / max(1, a["mentions"]),
            "new_noun_rate": a["new"] / max(1, a["noun_prompts"]), "topic_spread": spread,
            "topics": float(len(topics)), "passages": a["passages"] / max(1, a["noun_prompts"]),
            "networks": float(len(a["networks"])), "agents": float(len(a["agents"])),
            "detector_risk": max(-5.0, risks.get(client, -5.0)),
            # for the links, not features
            "_network": a["networks"].most_common(1)[0][0] if a["networks"] else "",
            "_agent": a["agents"].most_common(1)[0][0] if a["agents"] else "",
            "_template": str(a["bands"].most_common(1)[0][0]) if a["bands"] and a["near"] / n > 0.3 else ""}
    # What a client's linked clients look like: a ring's keys each look ordinary, together they do not.
    for link in ("_network", "_agent", "_template"):
        groups: dict[str, list[str]] = defaultdict(list)
        for client, f in features.items():
            if f[link]:
                groups[f[link]].append(client)
        for client, f in features.items():
            members = [c for c in groups.get(f[link], []) if c != client] if f[link] else []
            f[f"{link[1:]}_clients"] = math.log1p(len(members))
            for name in SHARED:
                f[f"{link[1:]}_{name}"] = float(np.mean([features[c][name] for c in members])) if members else -1.0
    return features


def harness_rows(name: str, args) -> list[dict]:
    """Each client of the harness at volume 1.0: its features, family and label (cached)."""
    from benchmarks.chat_detection import populations, replayed

    make, seed = populations(args)[name]
    # Keyed by its inputs: the harness, its seed and sizes, the reference's sample, the detector's code, the features'.
    inputs = hashlib.sha256(f"{name} {seed} {args.ordinary} {args.attackers} {args.reference} {args.days} "
                            f"{FEATURES_VERSION}".encode())
    for source in ("services/detector/detection.py", "shared/fingerprint.py"):
        inputs.update((ROOT / source).read_bytes())
    cache = ROOT / ".cache" / "chat-ceiling" / f"{name}-{inputs.hexdigest()[:16]}.json"
    if cache.exists():
        return json.loads(cache.read_text())
    plans = make(args.ordinary, args.attackers, seed, 1.0)
    payloads, alerts, risks = replayed(plans, args)
    features = client_features(payloads, risks)
    named = {c for a in alerts if a.status != "resolve" for c in a.client_ids}
    in_ring = {c for a in alerts if a.status != "resolve" and a.ring for c in a.client_ids}
    for client, f in features.items():  # the detector's verdict, its ring alerts' included
        f["detector_alerted"], f["detector_ring"] = float(client in named), float(client in in_ring)
    rows = [{"harness": name, "client": p.name, "family": p.family, "attacker": p.attacker, "ring": p.ring,
             "features": {k: v for k, v in features[p.name].items() if not k.startswith("_")}}
            for p in plans if p.name in features]
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(rows))
    return rows


def main() -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from benchmarks.chat_detection import add_arguments

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    parser.add_argument("--fpr", type=float, default=0.005, help="ordinary clients flagged, at most")
    parser.add_argument("--folds", type=int, default=3, help="within a harness: folds of its ordinary clients")
    args = parser.parse_args()

    rows = {name: harness_rows(name, args) for name in HARNESSES}
    names = sorted(rows["tuning"][0]["features"])
    models = {"trees": lambda: HistGradientBoostingClassifier(max_iter=200, class_weight="balanced", random_state=0),
              "linear": lambda: make_pipeline(StandardScaler(), LogisticRegression(
                  C=0.1, class_weight="balanced", max_iter=5000))}

    def matrix(chosen: list[dict]) -> tuple[np.ndarray, np.ndarray]:
        return (np.array([[r["features"][k] for k in names] for r in chosen]),
                np.array([r["attacker"] for r in chosen], dtype=int))

    def scored(kind: str, train: list[dict], test: list[dict]) -> np.ndarray:
        """The model's scores (log-odds: probabilities round the highest to one) of the test clients."""
        return models[kind]().fit(*matrix(train)).decision_function(matrix(test)[0])

    def threshold(scores: np.ndarray) -> float:
        """The score at most --fpr of these ordinary clients are above (flagged: above it)."""
        return float(np.sort(scores)[::-1][math.floor(args.fpr * len(scores))])

    def of(harnesses: list[str]) -> list[dict]:
        return [r for h in harnesses for r in rows[h]]

    print(f"{len(names)} features; at most {args.fpr:.1%} of ordinary clients flagged\n")
    print("Across harnesses: trained on the other harnesses, tested on this one.\n")
    print("| held out | attacking keys | detector: caught | ordinary flagged | model | honest threshold: caught "
          "| ordinary flagged | oracle threshold: caught | families under half caught at the oracle threshold |")
    print("|---|---|---|---|---|---|---|---|---|")
    for held in HARNESSES:
        others = [h for h in HARNESSES if h != held]
        x, y = matrix(rows[held])
        alerted = x[:, names.index("detector_alerted")] > 0
        for kind in models:
            # The honest threshold: every other harness scored by a model that did not train on it.
            honest = threshold(np.concatenate([scored(kind, of([h for h in others if h != g]),
                                                      [r for r in rows[g] if not r["attacker"]]) for g in others]))
            scores = scored(kind, of(others), rows[held])
            oracle = threshold(scores[y == 0])
            families: dict[str, list[bool]] = defaultdict(list)
            for r, score in zip(rows[held], scores):
                if r["attacker"]:
                    families[r["family"]].append(bool(score > oracle))
            missed = ", ".join(f"{f} {sum(v)}/{len(v)}" for f, v in sorted(families.items()) if sum(v) < len(v) / 2)
            print(f"| {held} | {int(y.sum())} | {alerted[y == 1].mean():.3f} | {alerted[y == 0].mean():.4f} | {kind} "
                  f"| {(scores[y == 1] > honest).mean():.3f} | {(scores[y == 0] > honest).mean():.4f} "
                  f"| {(scores[y == 1] > oracle).mean():.3f} | {missed} |", flush=True)

    print("\nWithin each harness: its ordinary clients in folds; for each attack family, models trained on the "
          "other folds' ordinary clients and the other families (a ring counts as one), tested on the family and "
          "the fold; the threshold set on every fold's ordinary clients, each scored by the model that did not see "
          "it. Families known: the same with each family's keys (a ring whole) in the folds too.\n")
    print("| harness | attacking keys | model | a new family: caught | families under half caught | "
          "families known: caught |")
    print("|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for harness in HARNESSES:
        ordinary = [r for r in rows[harness] if not r["attacker"]]
        attackers = [r for r in rows[harness] if r["attacker"]]
        fold_of = {r["client"]: k for r, k in zip(ordinary, rng.permutation(len(ordinary)) % args.folds)}
        units = sorted({r["ring"] or r["client"] for r in attackers})  # a ring goes to one fold whole
        unit_fold = dict(zip(units, rng.permutation(len(units)) % args.folds))
        for r in attackers:
            fold_of[r["client"]] = unit_fold[r["ring"] or r["client"]]
        for kind in models:
            caught: dict[str, list[bool]] = {}
            for family in sorted({r["family"] for r in attackers}):
                held_out = [r for r in attackers if r["family"] == family]
                rest = [r for r in attackers if r["family"] != family]
                calm, family_scores = [], np.zeros(len(held_out))
                for k in range(args.folds):
                    model_rows = [r for r in ordinary if fold_of[r["client"]] != k] + rest
                    tested = [r for r in ordinary if fold_of[r["client"]] == k]
                    both = scored(kind, model_rows, tested + held_out)
                    calm.append(both[:len(tested)])
                    family_scores += both[len(tested):] / args.folds
                cut = threshold(np.concatenate(calm))
                caught[family] = list(family_scores > cut)
            known = []
            calm_known = []
            for k in range(args.folds):
                train = [r for r in rows[harness] if fold_of[r["client"]] != k]
                tested = [r for r in rows[harness] if fold_of[r["client"]] == k]
                scores = scored(kind, train, tested)
                labels = matrix(tested)[1]
                calm_known.append(scores[labels == 0])
                known.append(scores[labels == 1])
            cut = threshold(np.concatenate(calm_known))
            new = [c for v in caught.values() for c in v]
            missed = ", ".join(f"{f} {sum(v)}/{len(v)}" for f, v in caught.items() if sum(v) < len(v) / 2)
            print(f"| {harness} | {len(attackers)} | {kind} | {np.mean(new):.3f} | {missed} "
                  f"| {(np.concatenate(known) > cut).mean():.3f} |", flush=True)


if __name__ == "__main__":
    main()
