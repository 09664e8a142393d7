"""Chat traffic for the detector's chat tests: ordinary users and apps of a chat model, and
distillation attacks on it, as the `inference.generations` events the inference service publishes.

This is the tuning harness of the chat tests: their settings were chosen on it.
`cli/chat_holdout.py` is the validation harness, written apart and never tuned against.

Generating hundreds of thousands of answers is beyond two cores, and the detector never sees an
answer: it sees each request's parameters and its prompt's fingerprints. So the harness makes the
events themselves, each prompt fingerprinted by the function the inference service uses
(`shared.fingerprint.batch_prompt_fingerprints`), with the request's parameters as the client
would send them. That the service publishes these fields for real requests is tested through its
API (tests/test_llm_api.py).

Ordinary profiles, over WordNet's words and glosses: a curious user (a conversation or two on one
to three subjects, follow-up questions, now and then "step by step"), a student (homework, most of
it asking for the steps), a templated app (one product template over its niche, some asking for
top-5 logprobs to score its answers), a scoring app (yes/no questions with logprobs), a power user
(many subjects, high volume), a trial user (a few questions on anything), a rewriting app (its
template filled with whole sentences of its subjects: added after the first validation run found
such products flagged) and a digest app (one or two sentences at a time of two or three sections
of Python's language reference, `pydoc_data`, condensed for a wiki: a product over one subject
whose words come back, added after the third validation run still flagged summarisers of docs).
One in eight shares a company's NAT with two other apps.

Attacks: the definition thief (the issue's own task, every word of the dictionary through one
template, half of them asking for the top-20 logprobs), a reasoning harvester (questions on every
subject, each asking for the reasoning in one of several phrasings, or once in a system prompt), a logprob harvester (natural questions on every subject,
top-20 logprobs), a mixer (a curious user's conversation with a quarter of questions from anywhere
slipped in), a hydra (30 keys of one template from one cloud block and one program), a
low-and-slow ring (25 keys of 20 natural questions each, from three subnets) and a continuation
harvester (natural questions on every subject, each answer read 7 tokens at a time with the top-20
logprobs, through the completions API with the answer so far appended, or through chat with the
answer sent back and "Continue." asked each time: the harvesting test's minimum answer length
evaded; added after that rule).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from cli.simulator import ClientPlan, Corpora, interleaved, ordinary_networks, read_by_label

ORDINARY = ("curious", "student", "templated-app", "scoring-app", "power-user", "trial", "rewrite-app", "digest-app")
ATTACKS = ("definer", "reasoning-harvest", "logprob-harvest", "mixer", "hydra", "slow-ring", "continuation-harvest")
TOP_LOGPROBS = {"label": 0, "top3": 5, "full": 20}  # ClientPlan.outputs, for a chat request
# A person's questions: an opener, a question and a closer, in many combinations.
OPENERS = ("", "", "Hi! ", "Hey, ", "Quick question: ", "Sorry if this is basic, but ", "I was wondering: ",
           "My friend and I were arguing. ", "For a project I'm doing, ", "Okay so ")
QUESTIONS = ("what is {}?", "what exactly does {} mean?", "is a {} related to a {}?", "how do people usually use {}?",
             "why is {} important?", "where does the word {} come from?", "can you explain {} like I'm five?",
             "what's a good example of {}?", "how is {} different from {}?", "what should I know about {}?",
             "tell me something surprising about {}.", "is it true that {} and {} are connected?",
             "what do you call {}?", "I read that {}. Is that right?")
CLOSERS = ("", "", "", " Thanks!", " Keep it short.", " I'm a beginner.", " In simple terms please.")
FOLLOW_UPS = ("Can you give an example?", "Why is that?", "Shorter please.", "Thanks! And what about {}?",
              "How is that different from {}?", "Could you explain that more simply?", "ok", "Interesting, go on.")
STEPS = ("Explain step by step.", "Please show your reasoning.", "Walk me through it step by step.")
HOMEWORK = ("How many {} are there in a {}? Show your work.", "Solve step by step: if a {} costs three {}, "
            "how much do five cost?", "My teacher asked: why does a {} need a {}? Think it through with me.",
            "Compare {} and {} step by step.")
APP_TEMPLATES = ("Write a two-line product blurb for our {} listing.", "Suggest a catchy name for a shop selling {}.",
                 "Customer asked about {}. Draft a friendly reply.", "Give me three hashtags for a post about {}.")
REWRITES = ("Rewrite this for a ten-year-old: {}", "Summarise in five words: {}", "Make this sound friendlier: {}")
DIGESTS = ("TL;DR for our team wiki, under 15 words: {}", "Condense into one bullet point for the docs digest: {}")
SCORING = ("Answer yes or no: is {} a kind of {}?", "Does this review mention {}? Answer only yes or no.")
THIEF = 'Define the word "{}" in one sentence.'
# A reasoning harvester's asks, in the message or once in its system prompt (odd keys).
REASONING_THEFT = ("{} Think step by step and explain your reasoning before the final answer.",
                   "{} Lay out your reasoning, then give the answer.", "{} Justify each step.",
                   "Question: {} Show all your working.", "{} Let's think this through carefully.")
REASONING_SYSTEM = "You are a careful tutor. For every question, write out your full chain of thought, then answer."
HYDRA = ("As an expert lexicographer, give a precise one-sentence definition of '{}'.",
         "Act as a dictionary. Entry: {}. Definition:")


@dataclass
class Words:
    """WordNet's words by supersense (the shipped definitions) and its glosses by supersense."""

    by_label: dict[str, list[str]]  # lemmas
    glosses: dict[str, list[str]]
    everything: list[str]  # every lemma

    @classmethod
    @cache
    def load(cls) -> Words:
        by_label = read_by_label("definitions.jsonl.gz", "lemma")
        return cls(by_label, Corpora.load().by_label, sorted(w for words in by_label.values() for w in words))

    def subjects(self, rng: random.Random, k: int) -> list[str]:
        big = sorted(label for label, words in self.by_label.items() if label.startswith("noun") and len(words) >= 80)
        return rng.sample(big, k)


@cache
def reference_sections() -> dict[str, list[str]]:
    """Prose sentences of the sections of Python's language reference (`pydoc_data.topics`) that
    have at least ten: code, grammar and indented examples left out."""
    from pydoc_data.topics import topics

    sections = {}
    for name, text in sorted(topics.items()):
        sentences = []
        for paragraph in re.split(r"\n\s*\n", text):
            if paragraph.startswith("   ") or "::" in paragraph:
                continue
            for sentence in re.split(r"(?<=[.!?])\s+", " ".join(paragraph.split())):
                words = sentence.split()
                if 8 <= len(words) <= 40 and sentence[0].isupper() and \
                        len(re.findall(r"[A-Za-z]+", sentence)) >= 0.8 * len(words):
                    sentences.append(sentence)
        if len(sentences) >= 10:
            sections[name] = sentences
    return sections


def _count(rng: random.Random, low: int, high: int, scale: float) -> int:
    return max(5, int(rng.uniform(low, high) * scale))


def _ask(rng: random.Random, words: list[str], glosses: list[str] | None = None) -> str:
    question = rng.choice(QUESTIONS)
    if glosses and question.count("{}") == 1 and rng.random() < 0.4:
        slots = [rng.choice(glosses)]  # in the user's own words: what something is, not its name
    else:
        slots = [rng.choice(words) for _ in range(question.count("{}"))]
    text = rng.choice(OPENERS) + question.format(*slots) + rng.choice(CLOSERS)
    return text[0].upper() + text[1:]


def conversation(rng: random.Random, words: list[str], queries: int, steps: float = 0.05,
                 glosses: list[str] | None = None) -> tuple[list[str], list[int]]:
    """A user's prompts (the last user message of each request) and the turns each request sends:
    conversations of a question and its follow-ups, on the user's own subjects."""
    texts: list[str] = []
    turns: list[int] = []
    while len(texts) < queries:
        for turn in range(rng.randint(1, 6)):
            text = _ask(rng, words, glosses) if turn == 0 else rng.choice(FOLLOW_UPS).format(rng.choice(words))
            if rng.random() < steps:
                text += " " + rng.choice(STEPS)
            texts.append(text)
            turns.append(2 * turn + 1)
    return texts[:queries], turns[:queries]


def ordinary_plan(i: int, profile: str, words: Words, rng: random.Random, scale: float) -> ClientPlan:
    name = f"{profile}-{i:03d}"
    agent = rng.choice(["", "openai-python/1.54.0", f"{profile}/{rng.randint(1, 9)}.{rng.randint(0, 9)}"])
    subjects = words.subjects(rng, rng.randint(1, 3))
    pool = [w for label in subjects for w in words.by_label[label]]
    glosses = [g for label in subjects for g in words.glosses.get(label, [])]
    turns: list[int] = []
    outputs = "label"
    if profile == "curious":
        texts, turns = conversation(rng, pool, _count(rng, 5, 200, scale), glosses=glosses)
    elif profile == "student":
        study = [w for label in ("noun.quantity", "noun.cognition", "noun.act", "noun.time", "noun.artifact")
                 for w in words.by_label.get(label, [])]
        texts, turns = conversation(rng, study, _count(rng, 20, 250, scale), steps=0.3)
        texts = [rng.choice(HOMEWORK).format(rng.choice(study), rng.choice(study)) if rng.random() < 0.4 else t
                 for t in texts]
    elif profile == "templated-app":
        template = rng.choice(APP_TEMPLATES)
        texts = [template.format(rng.choice(pool)) for _ in range(_count(rng, 80, 1200, scale))]
        outputs = rng.choice(["label", "label", "top3"])
    elif profile == "scoring-app":
        template = rng.choice(SCORING)
        texts = [template.format(*(rng.choice(pool) for _ in range(template.count("{}"))))
                 for _ in range(_count(rng, 80, 800, scale))]
        outputs = "top3"
    elif profile == "power-user":
        labels = words.subjects(rng, rng.randint(4, 7))
        texts, turns = conversation(rng, [w for label in labels for w in words.by_label[label]],
                                    _count(rng, 300, 1500, scale), steps=0.1,
                                    glosses=[g for label in labels for g in words.glosses.get(label, [])])
    elif profile == "rewrite-app":
        template = rng.choice(REWRITES)
        texts = [template.format(rng.choice(glosses)) for _ in range(_count(rng, 80, 900, scale))]
    elif profile == "digest-app":
        sections = reference_sections()
        sentences = [t for name in rng.sample(sorted(sections), rng.randint(2, 3)) for t in sections[name]]
        template = rng.choice(DIGESTS)
        texts = [template.format(" ".join(rng.sample(sentences, rng.randint(1, 2))))
                 for _ in range(_count(rng, 80, 900, scale))]
    else:  # trial
        texts, turns = conversation(rng, words.everything, rng.randint(5, 40))
    return ClientPlan(name, profile, False, texts, outputs=outputs, user_agent=agent, turns=turns)


def attack_plans(family: str, index: int, words: Words, rng: random.Random, queries: int) -> list[ClientPlan]:
    name = f"{family}-{index:02d}"
    everything = words.everything
    glosses = [g for texts in words.glosses.values() for g in texts]
    if family == "definer":
        texts = [THIEF.format(w) for w in rng.sample(everything, queries)]
        return [ClientPlan(name, family, True, texts, outputs="full" if index % 2 else "label")]
    if family == "reasoning-harvest":
        questions = [_ask(rng, everything) if rng.random() < 0.5 else f"What is {g}?" for g in rng.sample(glosses, queries)]
        if index % 2:
            return [ClientPlan(name, family, True, questions, instructions=REASONING_SYSTEM,
                               turns=[2] * len(questions))]
        return [ClientPlan(name, family, True, [rng.choice(REASONING_THEFT).format(q) for q in questions])]
    if family == "logprob-harvest":
        return [ClientPlan(name, family, True, [_ask(rng, everything) for _ in range(queries)], outputs="full")]
    if family == "continuation-harvest":
        # Odd keys through the completions API (the prompt is the question and the answer so far),
        # even ones through chat (the answer so far sent back, and the same "Continue." each time).
        texts, continues, turns = [], [], []
        while len(texts) < queries:
            question, answer = _ask(rng, everything), rng.choice(glosses).split()
            for step in range(rng.randint(3, 6)):  # about five words a step
                texts.append(" ".join([question, *answer[:5 * step]]) if index % 2 else
                             "Continue." if step else question)
                continues.append(step > 0)
                turns.append(1 if index % 2 else 2 * step + 1)
        return [ClientPlan(name, family, True, texts[:queries], outputs="full", max_tokens=[7] * queries,
                           answer_tokens=[7] * queries, continues=continues[:queries], turns=turns[:queries])]
    if family == "mixer":
        labels = words.subjects(rng, 2)
        texts, turns = conversation(rng, [w for label in labels for w in words.by_label[label]], queries,
                                    glosses=[g for label in labels for g in words.glosses.get(label, [])])
        for j in range(len(texts)):
            if rng.random() < 0.25:
                texts[j], turns[j] = _ask(rng, everything), 1
        return [ClientPlan(name, family, True, texts, turns=turns)]
    ring, plans = f"{family}-{index:02d}", []
    if family == "hydra":
        agent = f"python-httpx/0.2{index}"
        for m in range(30):
            texts = [rng.choice(HYDRA).format(w) for w in rng.sample(everything, max(5, queries // 15))]
            plans.append(ClientPlan(f"{ring}-key{m:02d}", family, True, texts, ring=ring, user_agent=agent,
                                    network=f"198.{18 + index}.{m}.{rng.randint(2, 250)}"))
        return plans
    for m in range(25):  # slow-ring
        plans.append(ClientPlan(f"{ring}-key{m:02d}", family, True, [_ask(rng, everything) for _ in range(20)],
                                ring=ring, network=f"198.51.{100 + m % 3}.{rng.randint(2, 250)}"))
    return plans


def chat_population(ordinary: int, attackers_per_family: int, seed: int = 7, scale: float = 1.0,
                    attack_queries: int = 600) -> list[ClientPlan]:
    """`ordinary` ordinary clients (profiles in turn) and, per attack family, that many attackers
    (a ring counts as one; every key of it is an attacking client)."""
    rng = random.Random(seed)
    words = Words.load()
    plans = [ordinary_plan(i, ORDINARY[i % len(ORDINARY)], words, rng, scale) for i in range(ordinary)]
    ordinary_networks(plans, rng)
    for family in ATTACKS:
        for k in range(attackers_per_family):
            for plan in attack_plans(family, k, words, rng, max(64, int(attack_queries * scale))):
                plan.network = plan.network or f"192.0.{k * 8 + ATTACKS.index(family)}.{rng.randint(2, 250)}"
                plans.append(plan)
    rng.shuffle(plans)
    return plans


DAY = 86_400.0
HUMAN = ("curious", "student", "power-user", "trial", "mixer", "slow-ring")  # people, or made to look like them


def _sessions(rng: random.Random, n: int, days: float, zone_h: float) -> list[float]:
    """A person's n requests: sessions of a few requests a minute or two apart, begun at waking
    hours (8:00 to 23:00 in their zone) on random days."""
    times: list[float] = []
    while len(times) < n:
        at = rng.randrange(max(1, int(days))) * DAY + (rng.uniform(8, 23) - zone_h) % 24 * 3600
        for _ in range(min(n - len(times), rng.randint(1, 12))):
            times.append(at)
            at += rng.uniform(20, 150)
    return sorted(min(t, days * DAY) for t in times)


def _demand(rng: random.Random, n: int, days: float, zone_h: float) -> list[float]:
    """A product's n requests, at its own users' pace: most in their day, some at night."""
    times: list[float] = []
    while len(times) < n:
        t = rng.uniform(0, days * DAY)
        local_h = (t / 3600 + zone_h) % 24
        if rng.random() < (0.15 if local_h < 7 else 1.0):
            times.append(t)
    return sorted(times)


def with_send_times(plans: list[ClientPlan], seed: int = 5, days: float = 3.0) -> list[ClientPlan]:
    """The plans with send times over `days`: people in sessions at their waking hours, products at
    their users' pace, the digest app's nightly batch; a single-key attacker either runs its
    campaign in an afternoon (half of them) or paces it evenly over the days; a hydra's keys start
    together and run for a day; a low-and-slow ring's keys ask like people; a continuation
    harvester asks each step seconds after the last."""
    rng = random.Random(seed)
    rings: dict[str, float] = {}
    for plan in plans:
        n, zone = len(plan.texts), rng.choice((-8, -5, 0, 1, 3, 5.5, 8, 9))
        if plan.family in HUMAN:
            times = _sessions(rng, n, days, zone)
        elif plan.family == "digest-app":
            night = rng.uniform(1, 3) * 3600
            times = sorted(int(rng.uniform(0, days)) * DAY + night + rng.uniform(0, 1800) for _ in range(n))
        elif not plan.attacker:
            times = _demand(rng, n, days, zone)
        elif plan.family == "hydra":
            begin = rings.setdefault(plan.ring, rng.uniform(0, (days - 1) * DAY))
            times = sorted(begin + rng.uniform(0, DAY) for _ in range(n))
        else:
            begin, span = (rng.uniform(0, days * DAY - 4 * 3600), 4 * 3600) if rng.random() < 0.5 else (0.0, days * DAY)
            if plan.family == "continuation-harvest":  # a question every so often, its steps seconds apart
                times, at = [], begin
                for continued in plan.continues:
                    at += rng.uniform(1, 4) if continued else rng.expovariate(n / span)
                    times.append(min(at, days * DAY))
            else:
                times = sorted(begin + rng.uniform(0, span) for _ in range(n))
        plan.send_times = times
    return plans


def in_time(plans: list[ClientPlan], seed: int) -> list[tuple[ClientPlan, int]]:
    """(plan, request index) in the order the requests are sent: by their send times where the plans
    have them (a harness with times gives them to every plan), else interleaved at random."""
    timed = [p for p in plans if p.send_times]
    if not timed:
        return list(interleaved(plans, random.Random(seed)))  # chat plans send one prompt a request
    if len(timed) < len(plans):
        raise ValueError("a harness with send times must give them to every plan: "
                         f"{next(p.name for p in plans if not p.send_times)} has none")
    for plan in plans:
        if len(plan.send_times) != len(plan.texts) or any(b < a for a, b in zip(plan.send_times, plan.send_times[1:])):
            raise ValueError(f"{plan.name}: one send time a request, in order")
    return sorted(((p, i) for p in plans for i in range(len(p.texts))), key=lambda r: (r[0].send_times[r[1]], r[0].name))


def generation_events(plans: list[ClientPlan], model: str = "teacher-lm", seed: int = 3) -> list[bytes]:
    """The `inference.generations` events of the plans' traffic, encoded as the inference service
    publishes them: each client's requests in order, clients interleaved at random. The answer's
    length is the plan's (32 tokens unless it says, never over max_tokens) and its latency a typical
    value. An answer cut at max_tokens leaves its tail, which the client's next prompt ends with where
    the plan says it continues it (the tail of a stand-in text: the harness has no answers)."""
    from shared.events import InferenceGeneration, utcnow
    from shared.fingerprint import answer_tail, batch_prompt_fingerprints, network_of, prompt_tails

    asked = sorted({(t, p.instructions) for p in plans for t in p.texts})
    prints = dict(zip(asked, batch_prompt_fingerprints([t for t, _ in asked], [i for _, i in asked])))
    now = utcnow()
    payloads: list[bytes] = []
    for plan, position in in_time(plans, seed):
        text = plan.texts[position]
        top = plan.top_logprobs[position] if plan.top_logprobs else TOP_LOGPROBS[plan.outputs]
        most = plan.max_tokens[position] if plan.max_tokens else 1 if plan.family == "scoring-app" else 128
        written = min(most, plan.answer_tokens[position] if plan.answer_tokens else 32)
        cut = answer_tail(f"the answer to {plan.name}'s request {position}") if written >= most else None
        continued = plan.continues[position] if plan.continues else False
        sent = timedelta(seconds=plan.send_times[position]) if plan.send_times else \
            timedelta(milliseconds=len(payloads))
        payloads.append(InferenceGeneration(
            request_id=f"g{len(payloads)}", client_id=plan.name, model=model, model_version="1",
            time=now + sent, api="chat.completions", prompt_tokens=len(text) // 4 + 8,
            completion_tokens=written, max_tokens=most, temperature=0.0, top_p=1.0,
            logprobs=top > 0, top_logprobs=top, finish_reasons=["length" if written >= most else "stop"],
            messages=plan.turns[position] if plan.turns else 1, latency_s=0.5, system_prompt=bool(plan.instructions),
            client_network=network_of(plan.network), user_agent=plan.user_agent, watermark_key_id="k1",
            answer_tails=[cut] if cut is not None else [],
            prompt_tails=prompt_tails(f"the answer to {plan.name}'s request {position - 1}") if continued else [],
            **prints[(text, plan.instructions)]).model_dump_json().encode())
    return payloads
