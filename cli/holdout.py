"""The validation harness of the detector: traffic written apart from the tuning harness
(`cli/simulator.py`) and never tuned against. Other corpora, another seed, other kinds of client.

Its ordinary clients mostly do not ask in the model's own words. Their natural text is the
docstrings of Python's standard library, one module per subject (a user who only ever asks about
e-mail headers, or about decimal arithmetic): natural sentences unlike the glosses the model was
trained on. Profiles:
- docs-niche: one subject, one text at a time;
- docs-heavy: a product's batch jobs over three or four subjects, batches of 32, high volume;
- dictionary-app: a templated product ("Explain in plain words: ...") over one or two of the
  model's own classes;
- support-bot: a templated product over one subject of the docs;
- browser: a few lookups all over the domain (at most 60);
- reviewer: one subject, each text sent two or three times while a person edits around it;
- polyglot-team: two docs subjects and one class of the model's own, in turns.

Attacks:
- gibberish: random tokens of the docs vocabulary, mixed case and digits;
- typo-probe: seeds all over the domain, each with character-level typos (a JbDA variant);
- docs-knockoff: sentences from every docs subject, full distribution;
- question-harvest: the model's glosses all over its domain, framed as questions;
- salad-mixer: a docs-niche stream with a fifth of gibberish slipped in;
- coverage-mixer: a docs-niche stream with a fifth of glosses from all over the domain;
- ring25: 25 keys, low and slow, over five networks, natural questions all over the domain.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import random
import re
from functools import cache

from cli.simulator import ClientPlan, Corpora

ORDINARY = ("docs-niche", "docs-heavy", "dictionary-app", "support-bot", "browser", "reviewer", "polyglot-team")
ATTACKS = ("gibberish", "typo-probe", "docs-knockoff", "question-harvest", "salad-mixer", "coverage-mixer", "ring25")
SUBJECT_MODULES = ("email", "http", "asyncio", "decimal", "unittest", "logging", "argparse", "json", "xml",
                   "sqlite3", "collections", "datetime", "calendar", "csv", "zipfile", "tarfile", "urllib",
                   "statistics", "fractions", "difflib", "textwrap", "shutil", "pathlib", "concurrent",
                   "multiprocessing", "importlib", "inspect", "typing", "dataclasses", "enum", "socket", "ssl")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@cache
def subjects() -> dict[str, list[str]]:
    """Natural sentences from each standard-library package's docstrings, by package."""
    out: dict[str, list[str]] = {}
    for name in SUBJECT_MODULES:
        try:
            package = importlib.import_module(name)
        except ImportError:
            continue
        modules = [package]
        for info in pkgutil.walk_packages(getattr(package, "__path__", []), name + "."):
            if ".test" in info.name or info.name.endswith("__main__"):  # tests; a __main__ runs on import
                continue
            try:
                modules.append(importlib.import_module(info.name))
            except Exception:  # optional parts (curses, tkinter bindings) that this Python lacks
                continue
        sentences: set[str] = set()
        for module in modules:
            docs = [inspect.getdoc(module) or ""]
            for _, member in inspect.getmembers(module):
                if getattr(member, "__module__", None) == module.__name__:
                    docs.append(inspect.getdoc(member) or "")
            for doc in docs:
                for sentence in _SENTENCE.split(" ".join(doc.split())):
                    if 30 <= len(sentence) <= 220 and len(sentence.split()) >= 6 and ">>>" not in sentence:
                        sentences.add(sentence)
        if len(sentences) >= 80:
            out[name] = sorted(sentences)
    return out


def _gibberish(rng: random.Random, vocab: list[str]) -> str:
    words = []
    for _ in range(rng.randint(6, 16)):
        word = rng.choice(vocab)
        roll = rng.random()
        words.append(word.upper() if roll < 0.1 else word.capitalize() if roll < 0.3 else
                     f"{word}{rng.randint(0, 99)}" if roll < 0.4 else word)
    return " ".join(words)


def _typos(text: str, rng: random.Random) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(chars))
        roll = rng.random()
        if roll < 0.4:
            chars[i] = rng.choice("abcdefghijklmnopqrstuvwxyz")
        elif roll < 0.7:
            del chars[i]
        else:
            chars.insert(i, chars[i])
    return "".join(chars)


def _count(rng: random.Random, low: int, high: int, scale: float) -> int:
    return max(5, int(rng.randint(low, high) * scale))


def holdout_population(ordinary: int, attackers_per_family: int, seed: int = 20261203,
                       scale: float = 1.0) -> list[ClientPlan]:
    rng = random.Random(seed)
    docs = subjects()
    names = sorted(docs)
    corpora = Corpora.load()
    glosses = corpora.everything
    doc_vocab = sorted({w for sentences in docs.values() for s in sentences for w in re.findall(r"[A-Za-z]+", s)})
    big_classes = [label for label, texts in corpora.by_label.items() if len(texts) >= 100]
    plans: list[ClientPlan] = []
    for i in range(ordinary):
        kind = ORDINARY[i % len(ORDINARY)]
        name = f"{kind}-{i:03d}"
        subject = docs[rng.choice(names)]
        agent = rng.choice(["", f"python-requests/2.{rng.randint(20, 32)}", f"acme-{kind}/{rng.randint(1, 5)}.0"])
        if kind == "docs-niche":
            plan = ClientPlan(name, kind, False, [rng.choice(subject) for _ in range(_count(rng, 50, 400, scale))])
        elif kind == "docs-heavy":
            pools = [docs[n] for n in rng.sample(names, rng.randint(3, 4))]
            texts = [rng.choice(pools[min(int(rng.expovariate(1.0)), len(pools) - 1)])
                     for _ in range(_count(rng, 600, 1600, scale))]
            plan = ClientPlan(name, kind, False, texts, batch=32, outputs="top3")
        elif kind == "dictionary-app":
            pool = [t for label in rng.sample(big_classes, rng.randint(1, 2)) for t in corpora.by_label[label]]
            plan = ClientPlan(name, kind, False, [f"Explain in plain words: {rng.choice(pool)}"
                                                  for _ in range(_count(rng, 80, 500, scale))], batch=8)
        elif kind == "support-bot":
            plan = ClientPlan(name, kind, False, [
                f"A customer wrote to us: '{rng.choice(subject)}' Which queue should handle this?"
                for _ in range(_count(rng, 80, 500, scale))], batch=4)
        elif kind == "browser":
            plan = ClientPlan(name, kind, False, rng.sample(glosses, rng.randint(10, 60)))
        elif kind == "reviewer":
            texts = []
            for _ in range(_count(rng, 40, 200, scale)):
                texts += [rng.choice(subject)] * rng.choice([1, 2, 3])
            plan = ClientPlan(name, kind, False, texts)
        else:  # polyglot-team
            pools = [docs[n] for n in rng.sample(names, 2)] + [corpora.by_label[rng.choice(big_classes)]]
            plan = ClientPlan(name, kind, False, [rng.choice(pools[j % 3]) for j in range(_count(rng, 100, 600, scale))],
                              batch=2, outputs=rng.choice(["label", "top3"]))
        plan.user_agent = agent
        plan.network = f"172.{16 + i // 250}.{i % 250}.{rng.randint(2, 250)}"
        plans.append(plan)
    queries = max(64, int(700 * scale))
    for family in ATTACKS:
        for k in range(attackers_per_family):
            name = f"{family}-{k:02d}"
            network = f"100.64.{ATTACKS.index(family) * 10 + k}.{rng.randint(2, 250)}"
            niche = docs[rng.choice(names)]
            if family == "gibberish":
                plans.append(ClientPlan(name, family, True, [_gibberish(rng, doc_vocab) for _ in range(queries)],
                                        batch=16, network=network))
            elif family == "typo-probe":
                texts = []
                while len(texts) < queries:
                    seed_text = rng.choice(glosses)
                    texts += [seed_text] + [_typos(seed_text, rng) for _ in range(rng.randint(5, 12))]
                plans.append(ClientPlan(name, family, True, texts[:queries], batch=16, network=network))
            elif family == "docs-knockoff":
                everything = [s for n in names for s in docs[n]]
                plans.append(ClientPlan(name, family, True, rng.sample(everything, queries), batch=16,
                                        outputs="full", network=network))
            elif family == "question-harvest":
                plans.append(ClientPlan(name, family, True, [f"What is the word for this: {g}?"
                                                             for g in rng.sample(glosses, queries)],
                                        batch=4, network=network))
            elif family in ("salad-mixer", "coverage-mixer"):
                texts = []
                for _ in range(queries):
                    if rng.random() >= 0.2:
                        texts.append(rng.choice(niche))
                    else:
                        texts.append(_gibberish(rng, doc_vocab) if family == "salad-mixer" else rng.choice(glosses))
                plans.append(ClientPlan(name, family, True, texts, network=network))
            else:  # ring25
                per_key = max(5, int(24 * scale))
                for m in range(25):
                    texts = [f"Can you tell me which kind of word fits '{g}'?" for g in rng.sample(glosses, per_key)]
                    plans.append(ClientPlan(f"{name}-key{m:02d}", family, True, texts, batch=2,
                                            network=f"100.100.{k * 5 + m % 5}.{rng.randint(2, 250)}",
                                            user_agent="python-httpx/0.27", ring=name))
    rng.shuffle(plans)
    return plans
