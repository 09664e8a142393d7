"""The validation harness of the detector's chat tests: chat traffic written apart from the tuning
harness (`cli/chat_simulator.py`) and never tuned against. Another corpus, other phrasings, another
seed, other kinds of client.

Its ordinary clients mostly talk about software: their questions quote or paraphrase the
docstrings of one or two packages of Python's standard library (a developer who only ever asks
about e-mail headers, or about decimal arithmetic), in conversations with follow-ups. Profiles:
- developer: one or two packages, multi-turn, now and then "walk me through the steps";
- tutor-session: a learner on numbers and dates (decimal, fractions, statistics, datetime), most
  requests asking to show the working;
- doc-summariser: a product summarising one package's docs through its template, single-turn;
- ticket-router: a support product's template over one package, asking for top-3 logprobs;
- translator: a product translating docs sentences of two packages into French, single-turn;
- explorer: a handful of questions on anything, WordNet's words among them.

Attacks:
- gloss-distiller: "Provide a concise dictionary definition of ..." over every word, single-turn;
- cot-harvester: questions on every package's docs, each asking for the full reasoning in words
  the tuning harness never used (some matched by the reasoning cue, some not);
- logit-miner: docs sentences of every package, top-20 logprobs;
- topic-mixer: a developer's conversation with a fifth of WordNet questions from anywhere;
- hydra40: 40 keys from one /16 and one program, rotating four definition templates;
- trickle-ring: 30 keys of 15 natural questions each, from five subnets.
"""

from __future__ import annotations

import random

from cli.chat_simulator import Words
from cli.holdout import subjects
from cli.simulator import ClientPlan

ORDINARY = ("developer", "tutor-session", "doc-summariser", "ticket-router", "translator", "explorer")
ATTACKS = ("gloss-distiller", "cot-harvester", "logit-miner", "topic-mixer", "hydra40", "trickle-ring")
NUMBERS = ("decimal", "fractions", "statistics", "datetime", "calendar")
DEV_ASKS = ("The docs say: \"{}\" What does that mean in practice?", "I'm confused by this: {} Can you clarify?",
            "In plain English please: {}", "Is this still true in Python 3.12? {}", "Why would anyone want this: {}",
            "Rewrite this so a junior developer understands it: {}")
DEV_FOLLOW = ("Got it, and how do I test that?", "Could you show a tiny example?", "What are the pitfalls?",
              "Hmm, that didn't work for me. Any idea why?", "Thanks, that helps a lot.", "What's the alternative?")
WORKING = (" Walk me through the steps.", " Please show the working.", " Explain your thought process.")
DISTILL = ("Provide a concise dictionary definition of \"{}\".", "Give a dictionary entry for '{}'.",
           "In exactly one sentence, what does '{}' mean?", "Lexicon entry request: {}")


def _count(rng: random.Random, low: int, high: int, scale: float) -> int:
    return max(5, int(rng.randint(low, high) * scale))


def _dev_conversation(rng: random.Random, sentences: list[str], queries: int,
                      working: float) -> tuple[list[str], list[int]]:
    texts: list[str] = []
    turns: list[int] = []
    while len(texts) < queries:
        for turn in range(rng.randint(1, 5)):
            text = rng.choice(DEV_ASKS).format(rng.choice(sentences)) if turn == 0 else rng.choice(DEV_FOLLOW)
            if rng.random() < working:
                text += rng.choice(WORKING)
            texts.append(text)
            turns.append(2 * turn + 1 + 1)  # with a system prompt
    return texts[:queries], turns[:queries]


def chat_holdout_population(ordinary: int, attackers_per_family: int, seed: int = 7013,
                            scale: float = 1.0) -> list[ClientPlan]:
    rng = random.Random(seed)
    docs = subjects()
    names = sorted(docs)
    words = Words.load()
    plans: list[ClientPlan] = []
    for i in range(ordinary):
        kind = ORDINARY[i % len(ORDINARY)]
        name = f"{kind}-{i:03d}"
        agent = rng.choice(["", f"openai-node/4.{rng.randint(20, 70)}.0", f"acme-{kind}/{rng.randint(1, 5)}.0"])
        own = [s for n in rng.sample(names, rng.randint(1, 2)) for s in docs[n]]
        turns: list[int] = []
        outputs = "label"
        if kind == "developer":
            texts, turns = _dev_conversation(rng, own, _count(rng, 20, 500, scale), working=0.08)
        elif kind == "tutor-session":
            numbers = [s for n in NUMBERS if n in docs for s in docs[n]]
            texts, turns = _dev_conversation(rng, numbers, _count(rng, 30, 300, scale), working=0.7)
        elif kind == "doc-summariser":
            texts = [f"Summarise for our changelog, max 20 words: {rng.choice(own)}"
                     for _ in range(_count(rng, 100, 900, scale))]
        elif kind == "ticket-router":
            texts = [f"Ticket text: '{rng.choice(own)}' Reply with the team name only."
                     for _ in range(_count(rng, 100, 700, scale))]
            outputs = "top3"
        elif kind == "translator":
            texts = [f"Translate to French: {rng.choice(own)}" for _ in range(_count(rng, 80, 600, scale))]
        else:  # explorer
            texts = [f"Random thought: what is a {w}?" if rng.random() < 0.5 else rng.choice(DEV_ASKS).format(
                rng.choice(docs[rng.choice(names)])) for w in rng.sample(words.everything, rng.randint(5, 50))]
        plans.append(ClientPlan(name, kind, False, texts, outputs=outputs, user_agent=agent, turns=turns,
                                network=f"172.{16 + i // 250}.{i % 250}.{rng.randint(2, 250)}"))
    every_sentence = [s for n in names for s in docs[n]]
    queries = max(64, int(700 * scale))
    for family in ATTACKS:
        for k in range(attackers_per_family):
            name = f"{family}-{k:02d}"
            network = f"100.64.{ATTACKS.index(family) * 10 + k}.{rng.randint(2, 250)}"
            if family == "gloss-distiller":
                texts = [rng.choice(DISTILL[:2]).format(w) for w in rng.sample(words.everything, queries)]
                plans.append(ClientPlan(name, family, True, texts, network=network, outputs="top3" if k % 2 else "label"))
            elif family == "cot-harvester":
                texts = [rng.choice(DEV_ASKS).format(rng.choice(every_sentence)) + rng.choice(WORKING)
                         for _ in range(queries)]
                plans.append(ClientPlan(name, family, True, texts, network=network))
            elif family == "logit-miner":
                plans.append(ClientPlan(name, family, True, rng.sample(every_sentence, queries), outputs="full",
                                        network=network))
            elif family == "topic-mixer":
                texts, turns = _dev_conversation(rng, docs[rng.choice(names)], queries, working=0.05)
                for j in range(len(texts)):
                    if rng.random() < 0.2:
                        texts[j], turns[j] = f"Random thought: what is a {rng.choice(words.everything)}?", 2
                plans.append(ClientPlan(name, family, True, texts, turns=turns, network=network))
            elif family == "hydra40":
                for m in range(40):
                    texts = [rng.choice(DISTILL).format(w) for w in rng.sample(words.everything, max(5, queries // 20))]
                    plans.append(ClientPlan(f"{name}-key{m:02d}", family, True, texts, ring=name,
                                            network=f"100.{80 + k}.{m}.{rng.randint(2, 250)}",
                                            user_agent="aiohttp/3.9"))
            else:  # trickle-ring
                for m in range(30):
                    texts = [f"Random thought: what is a {w}?" for w in rng.sample(words.everything, 15)]
                    plans.append(ClientPlan(f"{name}-key{m:02d}", family, True, texts, ring=name,
                                            network=f"100.90.{k * 5 + m % 5}.{rng.randint(2, 250)}"))
    rng.shuffle(plans)
    return plans
