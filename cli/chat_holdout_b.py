"""The second validation harness of the detector's chat tests: chat traffic written apart from the
tuning harness (`cli/chat_simulator.py`, WordNet's words and glosses) and from the first validation
harness (`cli/chat_holdout.py`, the standard library's docstrings), and never tuned against.
Other corpora, other phrasings, other products, other attacks, another seed.

Its corpora are read at run time from what every Debian machine with this repository installed
has: the license texts of `/usr/share/common-licenses` (GPL, LGPL, GFDL, MPL, Apache, Artistic,
CC0, BSD; one subject per license, split into sentences) and the long descriptions (READMEs) of the
Python distributions installed beside the repository (one subject per distribution, markdown and
reStructuredText stripped crudely). Its vocabulary is the words of all of them; WordNet's lemmas
appear only in an occasional user's stray questions.

Ordinary profiles:
- license-counsel: a person (in-house counsel, or a developer doing a lawyer's job) asking about
  clauses of one or two licenses in conversations with a system prompt and follow-ups, now and
  then asking to go through it point by point;
- release-notes: a product condensing or rewriting sentences of one package's README through its
  one template, single-turn (half of them with a system prompt);
- compliance-check: an open-source compliance scanner asking yes/no (or one-word) questions about
  the sentences of one or two licenses, with top-3 logprobs to score its answer;
- package-helpdesk: a support bot for one package, with a system prompt, its end users'
  questions and follow-ups; a few ask for the steps;
- brainstormer: a person brainstorming about one or two themes (the keywords of one or two
  packages), short prompts and short follow-ups ("more", "funnier");
- batch-indexer: a knowledge-base product's batch jobs over two or three packages' READMEs, one
  template, high volume, some asking top-3 logprobs to rerank;
- occasional: a few prompts about anything (a license, a package, a word, everyday chores).
Products share their company's NAT (10.x.y.1, one to four products a company); people are on their
own residential /24s; user agents are each product's or person's own.

Attacks (600 prompts a key at scale 1.0, never under 64; a hydra key sends a fifteenth of that, at
least 8, and a drizzle key 12 at scale 1.0, at least 6):
- reasoning-siphon: questions about every license and every package in turn, each asking for the
  reasoning in its own words ("reason it out", "explain each step of your thinking", "show the
  derivation"), half with a fixed system prompt, through the official SDK;
- glossary-template: one instruction template (Alpaca-style, encyclopedic or tagged) filled with
  the words of the whole vocabulary, every word once; half of its keys ask for the top-20 logprobs;
- logprob-scraper: natural questions about every subject, top-20 logprobs;
- cover-mixer: an ordinary-looking stream with a sixth to a third of systematic coverage slipped in:
  a release-notes product, on its own company NAT, whose template is also run over every other
  subject in turn (even keys), or a license-counsel person, on a residential address and a browser,
  with natural questions about every subject in between (odd keys);
- hydra50: 50 keys from one cloud /16 and one program, a few dozen prompts each, rotating five
  templates (explain a term, paraphrase a passage, quiz, define, describe a subject);
- drizzle-ring: 40 keys of 12 natural questions about anything, from eight proxy subnets, with no
  user agent or a browser's.
The single-key attackers other than the mixers sit on cloud machines, one /16 a family.
"""

from __future__ import annotations

import importlib.metadata
import math
import random
import re
from collections import Counter
from functools import cache
from pathlib import Path

from cli.simulator import ClientPlan, assembled

ORDINARY = ("license-counsel", "release-notes", "compliance-check", "package-helpdesk", "brainstormer",
            "batch-indexer", "occasional")
ATTACKS = ("reasoning-siphon", "glossary-template", "logprob-scraper", "cover-mixer", "hydra50", "drizzle-ring")
LICENSES = Path("/usr/share/common-licenses")
OWN = {"distillery"}  # this repository's own distribution: not a third-party package
_SPLIT = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[\"'(]?[A-Z0-9])")
_ENUM = re.compile(r"^(?:\(?(?:[0-9]{1,2}(?:\.[0-9]{1,2})*|[a-z]|[ivx]{1,4})[.)]\s+)+")
_WORD = re.compile(r"\b[a-z][a-z-]{3,18}[a-z]\b")
_UNDERLINE = re.compile(r"[=\-~^*#+`'\"_.:]{3,}")
_BULLET = re.compile(r"^(?:[-*+\u2022]|[0-9]{1,2}[.)])\s+")
_INLINE = (
    (re.compile(r"<[^>]*>"), " "),  # html
    (re.compile(r"!\[[^\]]*\]\([^)]*\)"), " "),  # markdown image
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # markdown link
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),  # markdown reference link
    (re.compile(r"`([^`<]+?)\s*<[^>]*>`_{1,2}"), r"\1"),  # rst link
    (re.compile(r":[a-z:]+:`([^`]+)`"), r"\1"),  # rst role
    (re.compile(r"\|[^|\s][^|]*\|_{0,2}"), " "),  # rst substitution (badges)
    (re.compile(r"`+([^`]+)`+_{0,2}"), r"\1"),  # literals, `ref`_
    (re.compile(r"\*\*|__"), ""),  # bold
    (re.compile(r"(?<![\w*])\*(?=\S)([^*]+?)\*(?!\w)"), r"\1"),  # emphasis
    (re.compile(r"https?://\S+|www\.\S+"), " "),
)
_STOP_WORDS = """about above after again against also because been before being below between both could does
doing down during each from further have having here into itself just more most other over same should some such
than that their them then there these they this those through under until very were what when where which while
will with would your yours able allows along already always another anything based cannot different either every
following instead like make makes many much must need only provides rather since still thus used uses using well
within without"""
STOP = frozenset(_STOP_WORDS.split())


def _sentences(paragraph: str, longest: int) -> list[str]:
    out = []
    for sentence in _SPLIT.split(" ".join(paragraph.split())):
        sentence = _ENUM.sub("", sentence.strip())
        letters = sum(c.isalpha() or c == " " for c in sentence)
        if (30 <= len(sentence) <= longest and len(sentence.split()) >= 6 and sentence.lstrip("\"'(")[:1].isupper()
                and sentence[-1] in ".!?\"'" and letters >= 0.85 * len(sentence) and "http" not in sentence):
            out.append(sentence)
    return out


def _license_sentences(text: str) -> list[str]:
    paragraphs: list[str] = []
    current: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or _UNDERLINE.fullmatch(stripped):
            paragraphs.append(" ".join(current))
            current = []
        else:
            current.append(stripped)
    paragraphs.append(" ".join(current))
    return [s for p in paragraphs for s in _sentences(p, 320)]


def _readme_sentences(text: str) -> list[str]:
    """The prose of a README in markdown or reStructuredText, crudely: code blocks, directives,
    tables, headings, html, badges and links' targets dropped."""
    lines = [re.sub(r"^ {7,8}\|", "", line) for line in text.splitlines()]  # old-style Description header
    paragraphs: list[str] = []
    current: list[str] = []
    fence = directive = False

    def flush() -> None:
        if current:
            paragraphs.append(" ".join(current))
            current.clear()

    for i, line in enumerate(lines):
        stripped = line.strip()
        following = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if stripped.startswith(("```", "~~~")):
            fence = not fence
            flush()
            continue
        if fence:
            continue
        if directive:
            if not stripped or line[:1] in " \t":
                continue
            directive = False
        if stripped.startswith(".. ") or stripped.endswith("::"):
            flush()
            directive = True
            continue
        if (not stripped or line.startswith(("    ", "\t")) or _UNDERLINE.fullmatch(stripped)
                or (following and _UNDERLINE.fullmatch(following) and len(following) >= len(stripped) - 2)
                or stripped.startswith(("#", "|", ">>>", "$ ", "<", "!", "+-", "=", ">"))):
            flush()
            continue
        if _BULLET.match(stripped):
            flush()
            stripped = _BULLET.sub("", stripped)
        current.append(stripped)
    flush()
    out = []
    for paragraph in paragraphs:
        for pattern, replacement in _INLINE:
            paragraph = pattern.sub(replacement, paragraph)
        out += _sentences(paragraph, 260)
    return out


@cache
def licenses() -> dict[str, list[str]]:
    """The sentences of each license text in /usr/share/common-licenses, by license (symlinks,
    which name another file's license, skipped)."""
    out: dict[str, list[str]] = {}
    if not LICENSES.is_dir():
        return out
    for path in sorted(LICENSES.iterdir()):
        if path.is_symlink() or not path.is_file():
            continue
        sentences = sorted(set(_license_sentences(path.read_text(encoding="utf-8", errors="replace"))))
        if len(sentences) >= 8:
            out[path.name] = sentences
    return out


@cache
def packages() -> dict[str, list[str]]:
    """The sentences of each installed Python distribution's long description, by distribution."""
    texts: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"] or ""
        key = re.sub(r"[-_.]+", "-", name).lower()
        if not name or key in OWN or key in texts:
            continue
        payload = getattr(dist.metadata, "get_payload", lambda: "")()  # an email.message.Message underneath
        texts[key] = str(payload or "") or (dist.metadata["Description"] or "")
    out: dict[str, list[str]] = {}
    for key in sorted(texts):
        sentences = sorted(set(_readme_sentences(texts[key])))
        if len(sentences) >= 6:
            out[key] = sentences
    return out


@cache
def vocabulary() -> list[str]:
    """Every word of every license and README sentence (four letters or more), and every package name."""
    words = {w for corpus in (licenses(), packages()) for texts in corpus.values() for s in texts
             for w in _WORD.findall(s)}
    return sorted(words | set(packages()))


@cache
def keywords(subject: str) -> list[str]:
    """A subject's own theme: its 40 most frequent words of five letters or more."""
    texts = licenses().get(subject) or packages()[subject]
    counts = Counter(w for s in texts for w in _WORD.findall(s.lower()) if len(w) >= 5 and w not in STOP)
    return [w for w, _ in counts.most_common(40)] or [subject]


# Ordinary people and products.
COUNSEL_ASKS = (
    "We're shipping a product that bundles a {lic}-licensed component. What does this clause require of us? \"{s}\"",
    "Plain-language reading of this {lic} provision, please: {s}",
    "Our legal team flagged this sentence in the {lic}: \"{s}\" Is it a problem for a SaaS offering?",
    "Does this part of the {lic} bite if we only distribute binaries? \"{s}\"",
    "How is this {lic} language usually interpreted? {s}",
    "A customer asks whether we comply with the {lic}. The relevant text: \"{s}\" What do we need to check?",
    "Is there any way to read this narrowly? ({lic}) {s}",
    "How does this {lic} clause compare with the {other}? \"{s}\"",
)
COUNSEL_FOLLOW = ("What if we modify the source but never distribute it?", "Does that also cover our mobile app?",
                  "Can you draft a short notice we could ship with it?", "What's the practical risk if we ignore it?",
                  "Which section says that?", "And if it's only used internally?", "Is the {other} stricter here?",
                  "Could you put that in two bullet points for our CTO?", "OK. What about contractors?",
                  "Understood, thanks.")
COUNSEL_STEPS = (" Please reason through it carefully.", " Go through it point by point.",
                 " Can you take me through it step by step?", " Explain how you get to that conclusion.")
RELEASE = ("Condense this into a single release-note line (max 15 words, no marketing tone):\n{}",
           "Rewrite for our changelog, imperative mood, one sentence: {}",
           "Turn this README sentence into a 'What's new' bullet point: {}",
           "Shorten this for the release announcement post, keep the facts, drop the adjectives: {}")
COMPLIANCE = ("Answer YES or NO. Does the following license text require that source code be made available?\n\n"
              "\"{}\"",
              "Classify the clause below as PERMISSIVE or RESTRICTIVE. Reply with one word.\nClause: {}",
              "Does this sentence impose an attribution requirement? Respond with yes or no only.\n{}",
              "Is the following a warranty disclaimer or a limitation of liability? (yes/no)\n{}",
              "License scanner, clause check. Does this clause restrict commercial redistribution? Y/N\n{}")
HELPDESK_ASKS = ("Hi, I'm using {pkg}. The docs say \"{s}\" How do I actually make use of that?",
                 "Does {pkg} handle this? {s}", "I'm getting started with {pkg}. Where should I begin?",
                 "My colleague told me this about {pkg}: {s} Is that right for the version we have?",
                 "Can {pkg} be used in production? I read: \"{s}\"", "What is the recommended way to install {pkg}?",
                 "quick one about {pkg} - {s} does that apply on Windows too?",
                 "Is this still accurate for the latest {pkg}? \"{s}\"")
HELPDESK_FOLLOW = ("What version added that?", "Can you show a minimal snippet?", "It still fails with an ImportError.",
                   "Is there a config option for that?", "ok thanks!", "And on Windows?", "How does that compare "
                   "with {other}?", "Where is that documented?", "Do I need to restart anything after?",
                   "That fixed it, cheers.")
HELPDESK_STEPS = (" Step by step please.", " Could you list the steps?", " Walk me through it, I'm new to this.")
BRAINSTORM = ("ideas for a hackathon project using {kw}?", "10 names for a tool about {kw}",
              "catchy talk title on {kw} and {kw2}?", "blog post outline: {kw}", "how could I explain {kw} at a meetup "
              "in 5 minutes", "pros and cons of building our thing on {subj}?", "what could go wrong if we rely on "
              "{kw}", "startup pitch in 2 lines around {kw}", "a metaphor for {kw} that non-engineers get",
              "workshop exercises about {kw} and {kw2}", "tweet thread hook about {subj}", "logo ideas for {kw}")
BRAINSTORM_FOLLOW = ("more", "make them funnier", "shorter", "hm, different angle?", "combine the 2nd and the 4th",
                     "ok which one would you pick", "less corporate please", "now for {kw}", "love #3, variations?",
                     "too long")
INDEXER = ("Write one FAQ question that this passage answers.\nPassage: {}",
           "Extract up to five search keywords, comma-separated, from: {}",
           "Give a one-line summary suitable for a search result snippet: {}",
           "Which documentation section (Install, Usage, API, Contributing, License) does this belong to? {}")
OCCASIONAL = ("can I use {lic} code in my closed-source app?", "what's the difference between the {lic} and the {other}?",
              "is {lic} compatible with {other}?", "what is {pkg} for?", "how do I install {pkg} on a mac",
              "{pkg} or {pkg2}, which should I learn?", "what does '{w}' mean?", "another word for {w}?",
              "write a birthday message for my sister", "how long should I boil an egg for a runny yolk",
              "translate 'see you tomorrow' to Portuguese", "help me write a polite email declining a meeting",
              "the {pkg} docs say '{s}' - what does that mean?", "is this true? {s}", "suggest a name for a grey kitten",
              "what should I pack for a weekend hike")
OCCASIONAL_FOLLOW = ("thanks", "can you make it shorter?", "and why is that?", "hmm ok, another one?", "great")
BROWSERS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 "
            "Safari/537.36", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/17.5 Safari/605.1.15", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
RESIDENTIAL = (24, 73, 81, 86, 92, 98, 109, 176)  # people's first octets (proxies and clouds use others)

# Attacks.
REASON = ("Reason it out before you give the answer.", "Explain each step of your thinking.",
          "Lay out your full chain of reasoning, then conclude.", "Think aloud and show every inference you make.",
          "Break it into sub-questions, answer each in turn, then give the final answer.",
          "Justify the answer thoroughly, showing how you arrived at it.",
          "Take it one step at a time and state the intermediate conclusions.",
          "Don't skip any reasoning: I want the derivation, not just the result.")
SIPHON_LICENSE = ("Analyse this clause from the {subj}: \"{s}\" What obligations does it create, and for whom?",
                  "Construct a concrete scenario in which this {subj} provision decides the outcome: {s}",
                  "A company relies on the {subj}. What are the consequences of the following for it? {s}",
                  "Which rights does this sentence of the {subj} grant or withhold, and under what conditions? \"{s}\"")
SIPHON_PACKAGE = ("Here is a passage from the {subj} documentation: \"{s}\" What design decision does it reflect, and "
                  "what are the trade-offs?", "Given the statement \"{s}\", what can we infer about how {subj} works?",
                  "A reader of the {subj} README sees: \"{s}\" What mistakes might they make, and why?",
                  "Construct a concrete scenario in which this matters for a {subj} user: {s}")
GLOSSARY = ("Below is an instruction that describes a task. Write a response that appropriately completes the request."
            "\n\n### Instruction:\nExplain the meaning of \"{}\" in the context of software, with an example.\n\n"
            "### Response:",
            "Generate a comprehensive, encyclopedic explanation of the concept: {}",
            "<task>glossary</task><term>{}</term> Produce a detailed glossary entry with usage notes.")
HYDRA = ("Explain the term '{w}' as a senior engineer would, with one example.",
         "Paraphrase the following passage, then list its key claims: {s}",
         "Write three quiz questions with answers about: {s}",
         "Define '{w}' and use it in two sentences.",
         "Answer as a domain expert: what is {subj} and what problem does it solve?")
NATURAL_SENTENCE = ("What does this mean? \"{s}\" (from {subj})", "Is this right about {subj}: {s}",
                    "Can you explain, in simple words, this line from {subj}? {s}", "{s} Why?",
                    "My coworker sent me this from the {subj} page: \"{s}\" What's the takeaway?",
                    "Someone claims: \"{s}\" Is that really so for {subj}?")
NATURAL_LICENSE = ("What are my obligations under the {subj}?", "Can I use {subj} software commercially?",
                   "What is the {subj} mostly used for?", "Does the {subj} have a patent clause?")
NATURAL_PACKAGE = ("What is {subj} used for?", "How do I get started with {subj}?",
                   "What are the alternatives to {subj}?", "Is {subj} still maintained?")
SYSTEM_PROMPT = 2  # a request's turns with a system prompt and the user's message


def _count(rng: random.Random, low: int, high: int, scale: float) -> int:
    return max(5, int(math.exp(rng.uniform(math.log(low), math.log(high))) * scale))


def _fill(template: str, rng: random.Random, subj: str = "", sentence: str = "", other: str = "",
          kw: list[str] | None = None, word: str = "") -> str:
    kw = kw or [subj]
    return template.format(s=sentence, subj=subj, lic=subj, pkg=subj,
                           other=other, pkg2=other, kw=rng.choice(kw), kw2=rng.choice(kw), w=word)


def _conversation(rng: random.Random, queries: int, first: list[str], follow: tuple[str, ...], steps: tuple[str, ...],
                  rate: float, longest: int, system: bool, fill: dict[str, list[str]] | None = None,
                  ) -> tuple[list[str], list[int]]:
    """A person's prompts in conversations: a first question (already written) and follow-ups;
    the turns each request sends (with a system prompt: one more)."""
    texts: list[str] = []
    turns: list[int] = []
    while len(texts) < queries:
        for turn in range(rng.randint(1, longest)):
            text = rng.choice(first) if turn == 0 else \
                rng.choice(follow).format(**{key: rng.choice(values) for key, values in (fill or {}).items()})
            if rng.random() < rate:
                text += rng.choice(steps)
            texts.append(text)
            turns.append(2 * turn + 1 + int(system))
    return texts[:queries], turns[:queries]


class _Addresses:
    """Ordinary clients' addresses: a company's products behind its NAT (one to four products a
    company), people on their own residential /24."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.companies = 0
        self.left = 0
        self.people = 0

    def company(self, alone: bool = False) -> str:
        """A company's NAT; `alone`: a company of its own, shared with no other client."""
        if self.left == 0 or alone:
            self.companies += 1
            self.left = self.rng.randint(1, 4)
        self.left = 0 if alone else self.left - 1
        return f"10.{20 + self.companies // 250}.{self.companies % 250}.1"

    def person(self) -> str:
        self.people += 1
        first = self.rng.choice(RESIDENTIAL)
        return f"{first}.{(self.people // 256) % 256}.{self.people % 256}.{self.rng.randint(2, 250)}"


def _ordinary(i: int, kind: str, rng: random.Random, scale: float, addresses: _Addresses) -> ClientPlan:
    legal, pkgs = licenses() or packages(), packages()
    legal_names, pkg_names = sorted(legal), sorted(pkgs)
    big = [n for n in pkg_names if len(pkgs[n]) >= 20]
    name = f"{kind}-{i:03d}"
    turns: list[int] = []
    outputs = "label"
    if kind == "license-counsel":
        own = rng.sample([n for n in legal_names if len(legal[n]) >= 20], rng.randint(1, 2))
        other = rng.choice([n for n in legal_names if n not in own])
        queries = _count(rng, 10, 250, scale)
        first = [_fill(rng.choice(COUNSEL_ASKS), rng, subj=lic, sentence=s, other=other)
                 for lic in own for s in legal[lic]]
        texts, turns = _conversation(rng, queries, first, COUNSEL_FOLLOW, COUNSEL_STEPS, 0.1, 5, True,
                                     {"other": [other]})
        agent = rng.choice([f"lexidesk-web/2.{rng.randint(0, 9)}", f"openai-node/4.{rng.randint(40, 70)}.0",
                            rng.choice(BROWSERS)])
        network = addresses.company() if rng.random() < 0.5 else addresses.person()
    elif kind == "release-notes":
        own = pkgs[rng.choice(big)]
        template = rng.choice(RELEASE)
        texts = [template.format(rng.choice(own)) for _ in range(_count(rng, 80, 1000, scale))]
        turns = [SYSTEM_PROMPT] * len(texts) if rng.random() < 0.5 else []
        agent = rng.choice([f"relnotes-action/1.{rng.randint(0, 12)}", "python-httpx/0.27.2"])
        network = addresses.company()
    elif kind == "compliance-check":
        pool = [s for n in rng.sample(legal_names, rng.randint(1, 2)) for s in legal[n]]
        template = rng.choice(COMPLIANCE)
        texts = [template.format(rng.choice(pool)) for _ in range(_count(rng, 80, 900, scale))]
        outputs = "top3"
        agent = f"oss-compliance-scanner/3.{rng.randint(0, 9)} python-requests/2.32.3"
        network = addresses.company()
    elif kind == "package-helpdesk":
        pkg = rng.choice(big)
        other = rng.choice(pkg_names)
        first = [_fill(rng.choice(HELPDESK_ASKS), rng, subj=pkg, sentence=s) for s in pkgs[pkg] for _ in range(3)]
        texts, turns = _conversation(rng, _count(rng, 60, 700, scale), first, HELPDESK_FOLLOW, HELPDESK_STEPS, 0.05,
                                     4, True, {"other": [other]})
        agent = rng.choice([f"openai-python/1.{rng.randint(30, 60)}.0", f"{pkg}-helpbot/0.{rng.randint(1, 9)}"])
        network = addresses.company()
    elif kind == "brainstormer":
        themes = rng.sample(pkg_names, rng.randint(1, 2))
        kws = [w for t in themes for w in keywords(t)]
        first = [_fill(rng.choice(BRAINSTORM), rng, subj=rng.choice(themes), kw=kws) for _ in range(200)]
        texts, turns = _conversation(rng, _count(rng, 15, 200, scale), first, BRAINSTORM_FOLLOW,
                                     (" Think it through with me.",), 0.03, 6, False, {"kw": kws})
        agent = rng.choice(["", f"ChatBox/1.{rng.randint(2, 9)}.{rng.randint(0, 9)}", rng.choice(BROWSERS)])
        network = addresses.person()
    elif kind == "batch-indexer":
        pools = [pkgs[n] for n in rng.sample(big, rng.randint(2, 3))]
        template = rng.choice(INDEXER)
        texts = [template.format(rng.choice(pools[min(int(rng.expovariate(1.2)), len(pools) - 1)]))
                 for _ in range(_count(rng, 600, 2000, scale))]
        outputs = rng.choice(["label", "label", "top3"])
        agent = f"kb-indexer/5.{rng.randint(0, 9)} aiohttp/3.9.5"
        network = addresses.company()
    else:  # occasional
        from cli.chat_simulator import Words

        lemmas = Words.load().everything
        first = []
        for _ in range(rng.randint(3, 30)):
            lic, other = rng.sample(legal_names, 2)
            pkg, pkg2 = rng.sample(pkg_names, 2)
            template = rng.choice(OCCASIONAL)
            subj = lic if "{lic}" in template else pkg
            pool = legal[subj] if subj in legal else pkgs[subj]
            first.append(_fill(template, rng, subj=subj, sentence=rng.choice(pool),
                               other=other if subj == lic else pkg2, word=rng.choice(lemmas)))
        texts, turns = _conversation(rng, len(first), first, OCCASIONAL_FOLLOW, (" explain step by step pls",), 0.08,
                                     2, False)
        agent = rng.choice(["", "curl/8.5.0", f"raycast-ai/1.{rng.randint(40, 80)}", rng.choice(BROWSERS)])
        network = addresses.person()
    return ClientPlan(name, kind, False, texts, outputs=outputs, user_agent=agent, turns=turns, network=network)


def _natural(rng: random.Random, subj: str) -> str:
    """A natural question about a subject (a license or a package): about one of its sentences,
    or about the subject itself."""
    legal = licenses()
    pool = legal[subj] if subj in legal else packages()[subj]
    if rng.random() < 0.25:
        return _fill(rng.choice(NATURAL_LICENSE if subj in legal else NATURAL_PACKAGE), rng, subj=subj)
    return _fill(rng.choice(NATURAL_SENTENCE), rng, subj=subj, sentence=rng.choice(pool))


def _attack(family: str, k: int, rng: random.Random, scale: float, addresses: _Addresses) -> list[ClientPlan]:
    queries = max(64, int(600 * scale))
    legal, pkgs = licenses(), packages()
    corpus = {**pkgs, **legal}
    everything = sorted(corpus)
    name = f"{family}-{k:02d}"
    cloud = f"{(34, 35, 52, 18, 13, 3)[ATTACKS.index(family)]}.{96 + k}"
    network = f"{cloud}.{rng.randint(0, 255)}.{rng.randint(2, 250)}"
    order = rng.sample(everything, len(everything))  # coverage: every subject in turn
    if family == "reasoning-siphon":
        texts = []
        for j in range(queries):
            subj = order[j % len(order)]
            frames = SIPHON_LICENSE if subj in legal else SIPHON_PACKAGE
            texts.append(_fill(rng.choice(frames), rng, subj=subj, sentence=rng.choice(corpus[subj])) + " "
                         + rng.choice(REASON))
        turns = [SYSTEM_PROMPT] * queries if k % 2 == 0 else []
        return [ClientPlan(name, family, True, texts, turns=turns, network=network,
                           user_agent="OpenAI/Python 1.51.0")]
    if family == "glossary-template":
        words = vocabulary()
        texts = [GLOSSARY[k % len(GLOSSARY)].format(w) for w in rng.sample(words, min(queries, len(words)))]
        return [ClientPlan(name, family, True, texts, outputs="full" if k % 2 else "label", network=network,
                           user_agent="python-requests/2.31.0")]
    if family == "logprob-scraper":
        texts = [_natural(rng, order[j % len(order)]) for j in range(queries)]
        return [ClientPlan(name, family, True, texts, outputs="full", network=network,
                           user_agent=rng.choice(["", "Go-http-client/2.0"]))]
    if family == "cover-mixer":
        share = rng.uniform(1 / 6, 1 / 3)
        if k % 2 == 0:  # a release-notes product, its template also run over every subject in turn
            own = pkgs[rng.choice([n for n in sorted(pkgs) if len(pkgs[n]) >= 20])]
            template = rng.choice(RELEASE)
            texts = [template.format(rng.choice(corpus[order[j % len(order)]] if rng.random() < share else own))
                     for j in range(queries)]
            return [ClientPlan(name, family, True, texts, network=addresses.company(alone=True),
                               user_agent=f"relnotes-action/1.{rng.randint(0, 12)}")]
        own_names = rng.sample([n for n in sorted(legal) if len(legal[n]) >= 20], 2)
        first = [_fill(rng.choice(COUNSEL_ASKS), rng, subj=own_names[0], sentence=s, other=own_names[1])
                 for s in legal[own_names[0]]]
        texts, turns = _conversation(rng, queries, first, COUNSEL_FOLLOW, COUNSEL_STEPS, 0.1, 5, True,
                                     {"other": own_names[1:]})
        cursor = 0
        for j in range(queries):
            if rng.random() < share:
                texts[j], turns[j] = _natural(rng, order[cursor % len(order)]), 1
                cursor += 1
        return [ClientPlan(name, family, True, texts, turns=turns, network=addresses.person(),
                           user_agent=rng.choice(BROWSERS))]
    plans = []
    if family == "hydra50":
        words = vocabulary()
        agent = f"axios/1.7.{k + 2}"
        for m in range(50):
            texts = []
            for j in range(max(8, queries // 15)):
                subj = rng.choice(everything)
                texts.append(_fill(HYDRA[(m + j) % len(HYDRA)], rng, subj=subj, sentence=rng.choice(corpus[subj]),
                                   word=rng.choice(words)))
            plans.append(ClientPlan(f"{name}-key{m:02d}", family, True, texts, ring=name, user_agent=agent,
                                    network=f"{cloud}.{m}.{rng.randint(2, 250)}"))
        return plans
    subnets = [f"{rng.choice((45, 91, 185, 193))}.{rng.randint(0, 255)}.{rng.randint(0, 255)}" for _ in range(8)]
    for m in range(40):  # drizzle-ring
        texts = [_natural(rng, rng.choice(everything)) for _ in range(max(6, int(12 * scale)))]
        plans.append(ClientPlan(f"{name}-key{m:02d}", family, True, texts, ring=name,
                                user_agent=rng.choice(["", "", *BROWSERS]),
                                network=f"{subnets[m % 8]}.{rng.randint(2, 250)}"))
    return plans


def chat_holdout_b_population(ordinary: int, attackers_per_family: int, seed: int = 9011,
                              scale: float = 1.0) -> list[ClientPlan]:
    """`ordinary` ordinary clients (profiles in turn) and, per attack family, that many attackers
    (a ring counts as one; every key of it is an attacking client), shuffled."""
    rng = random.Random(seed)
    addresses = _Addresses(rng)
    return assembled(rng, ordinary, attackers_per_family, ORDINARY, ATTACKS,
                     lambda i, profile: _ordinary(i, profile, rng, scale, addresses),
                     lambda family, k: _attack(family, k, rng, scale, addresses))
