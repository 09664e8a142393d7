"""A fourth validation harness of chat traffic, written apart from the other chat harnesses and never
tuned against: other corpora, other phrasings, other kinds of client, another seed.

Corpora, read at run time from what every fresh copy of this machine has (a missing source is skipped):
- git's release notes (`/usr/share/doc/git/RelNotes/*.txt`): the bullet entries; a subject per git
  command that many entries name ("git push"), the remaining entries grouped per release series;
- manual pages (`/usr/share/man/man1/*.gz`): the prose of their DESCRIPTION sections with the troff
  markup stripped, and the options the page names; a subject per command, for a deterministic
  sample of a few hundred commands (common administration tools first);
- npm's documentation (`/usr/lib/node_modules/npm/docs/content/**/*.md`): the prose of each page;
  a subject per page;
- everyday life, written here: cooking, travel, health, school, shopping, e-mails and messages,
  money, home and garden, fitness; each a few templates crossed with a small vocabulary.

Ordinary profiles (`ORDINARY`, taken in turn):
- sre-oncall: a DevOps engineer in multi-turn conversations about two to four commands' manual
  pages (quoting or paraphrasing them, asking about their options), now and then asking to be
  walked through; at a company NAT;
- git-enthusiast: a git power user asking about release-note entries of one git command, short
  conversations, from a home connection (own /24);
- ci-explainer: a CI product explaining failing build steps: a system prompt and a long single-turn
  template (pipeline, command line, exit code, log tail, an excerpt of one or two manual pages);
- doc-tagger: a docs-search product routing sentences of a section of npm's documentation to one of
  its categories, single-turn, system prompt, top-3 logprobs;
- support-bot: a support chatbot of one product (a private npm registry, a git hosting service, a
  meal-kit service or a travel agency): the product's system prompt and its end users' multi-turn
  questions;
- everyday: a person using a general assistant for recipes, trips, symptoms, homework, shopping and
  messages; short, varied, multi-turn, the odd tech question; own /24 or the mobile carrier;
- tutoring: learners of a tutoring product whose system prompt requires the reasoning to be shown
  (word problems, school subjects, an introductory Unix and git course), multi-turn, all from one
  university /16;
- batch-job: a company's nightly job (2,000 or more prompts at scale 1) translating, rewriting or
  extracting from the sentences of a few subjects through one template, single-turn;
- casual: a handful of prompts about anything, from a mobile carrier's CGNAT /16 or a browser.
Products share their companies' NATs (a few per company).

Attack families (`ATTACKS`):
- reasoning-harvester: questions on every subject of every corpus and on the everyday topics, each
  key asking for the full reasoning in varied wordings, in the message or in its system prompt;
- template-distiller: one or two instruction templates filled with terms of every subject, half of
  the keys asking for top-20 logprobs;
- logprob-harvester: plain prompts from everywhere (questions, raw sentences, completions) with
  top-20 logprobs;
- blended-mixer: an ordinary-looking user or product (an engineer's conversations, a support bot,
  an everyday assistant user) with questions from everywhere in a fifth to a third of its traffic;
- hydra: a ring of 40 to 80 keys from one hosting provider's /16, one user agent, a few dozen prompts
  each, rotating the ring's templates over all subjects;
- drip-ring: a low-and-slow ring of 40 to 60 keys of about ten natural prompts each over everything,
  from many residential-proxy subnets with mixed user agents;
- synthetic-data: requests for many varied outputs (question-answer pairs, dialogues, quizzes,
  tickets and replies, instruction data) about every subject, at volume.
An attacker sends `max(64, int(600 * scale))` prompts; a ring's keys fewer (scaled, with a floor).
"""

from __future__ import annotations

import functools
import glob
import gzip
import os
import random
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from cli.simulator import ClientPlan

ORDINARY = ("sre-oncall", "git-enthusiast", "ci-explainer", "doc-tagger", "support-bot", "everyday", "tutoring",
            "batch-job", "casual")
ATTACKS = ("reasoning-harvester", "template-distiller", "logprob-harvester", "blended-mixer", "hydra", "drip-ring",
           "synthetic-data")

RELNOTES = "/usr/share/doc/git/RelNotes/*.txt"
MANPAGES = "/usr/share/man/man1/*.gz"
NPMDOCS = "/usr/lib/node_modules/npm/docs/content/**/*.md"
MAN_SAMPLE = 300
COMMON_COMMANDS = ("tar", "ssh", "rsync", "curl", "grep", "find", "sed", "gawk", "git", "systemctl", "journalctl",
                   "ps", "top", "df", "du", "chmod", "chown", "crontab", "openssl", "make", "ip", "ss", "kill",
                   "xargs", "sort", "ls", "cp", "mv", "ln", "ssh-keygen", "scp", "gzip", "less", "diff", "patch",
                   "env", "date", "timeout", "watch", "uniq", "cut", "tr", "head", "tail", "wc", "tee", "dig",
                   "wget", "npm", "node", "python3", "git-rebase", "git-bisect", "git-log", "git-stash", "nohup")


@dataclass(frozen=True)
class Subject:
    source: str  # man | git | npm | life
    name: str
    sentences: tuple[str, ...]
    terms: tuple[str, ...]


# --- corpora ---------------------------------------------------------------------------------------------------

_SPACE = re.compile(r"\s+")
_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\"'`])")


def _sentences(paragraph: str, low: int = 5, high: int = 70) -> list[str]:
    out = []
    for piece in _SPLIT.split(_SPACE.sub(" ", paragraph).strip()):
        words = piece.split()
        if low <= len(words) <= high and sum(c.isalpha() for c in piece) > len(piece) // 2:
            out.append(piece)
    return out


_GIT_CMD = re.compile(r"[\"'`]git ([a-z][a-z-]+)")
_GIT_TERM = re.compile(r"--[a-z][a-z0-9-]+|\b[a-z]+\.[a-z][a-zA-Z]+\b|[\"'`](git [a-z-]+)")


@functools.cache
def _relnotes() -> tuple[Subject, ...]:
    entries: dict[str, str] = {}  # bullet -> release series (the first that lists it)
    for path in sorted(glob.glob(RELNOTES)):
        series = ".".join(os.path.basename(path).split(".")[:2])
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                lines = f.read().splitlines()
        except OSError:
            continue
        bullet: list[str] = []
        for line in [*lines, ""]:
            stripped = line.strip()
            if stripped.startswith(("* ", "- ")) and line.startswith(" "):
                if bullet:
                    entries.setdefault(" ".join(bullet), series)
                bullet = [stripped[2:]]
            elif bullet and stripped and line.startswith("   "):
                bullet.append(stripped)
            elif bullet:
                entries.setdefault(" ".join(bullet), series)
                bullet = []
    by_area: dict[str, list[str]] = defaultdict(list)
    for text in entries:
        m = _GIT_CMD.search(text)
        if m:
            by_area[f"git {m.group(1)}"].append(text)
    grouped: dict[str, list[str]] = defaultdict(list)
    for text, series in entries.items():
        if not 6 <= len(text.split()) <= 120:
            continue
        m = _GIT_CMD.search(text)
        area = f"git {m.group(1)}" if m else ""
        grouped[area if area and len(by_area[area]) >= 8 else f"Git {series}"].append(_SPACE.sub(" ", text))
    subjects = []
    for name in sorted(grouped):
        texts = grouped[name]
        if len(texts) < 3:
            continue
        terms = {t for text in texts for m in _GIT_TERM.finditer(text) for t in [m.group(1) or m.group(0)]}
        subjects.append(Subject("git", name, tuple(texts), (name, *sorted(terms)[:60])))
    return tuple(subjects)


_FONT = re.compile(r"\\f(\[[^\]]*\]|\(..|.)")
_SPECIAL = {"\\(cq": "'", "\\(aq": "'", "\\(oq": "'", "\\(dq": '"', "\\(lq": '"', "\\(rq": '"', "\\*(lq": '"',
            "\\*(rq": '"', "\\(em": " - ", "\\(en": "-", "\\(bu": "", "\\(co": "(c)", "\\(rg": "(R)", "\\(mu": "x",
            "\\-": "-", "\\&": "", "\\e": "\\", "\\ ": " ", "\\|": "", "\\^": "", "\\c": "", "\\~": " "}
_ESCAPE = re.compile(r"\\(\(..|\[[^\]]*\]|\*\(..|\*.|s[+-]?\d+|[hvwkn]'[^']*'|.)")
_INLINE = {"B", "I", "BR", "BI", "IR", "IB", "RB", "RI", "SM", "SB", "Nm", "Fl", "Ar", "Pa", "Cm", "Em", "Sy", "Li",
           "Va", "Xr", "Dq", "Ql", "Sq", "Ev", "Ic", "Dv", "Er", "Ux", "No", "Pq", "Op", "Oo", "Oc", "Ns", "Tn", "Ad"}
_TIGHT = re.compile(r" ([,.;:)])(?=\s|$)")
_OPTION = re.compile(r"(?:^\.[A-Z]{0,2} ?\"?|[\s\"]|\\f[BI])(\\-(?:\\-)?[A-Za-z](?:[A-Za-z0-9]|\\-)*)"
                     r"|^\.Fl ([A-Za-z][A-Za-z0-9-]*)", re.M)


def _troff(text: str) -> str:
    text = _FONT.sub("", text)
    for escape, plain in _SPECIAL.items():
        text = text.replace(escape, plain)
    return _ESCAPE.sub("", text)


def _man_description(raw: str, name: str) -> list[str]:
    paragraphs: list[list[str]] = [[]]
    inside = skipping = False
    for line in raw.splitlines():
        if line.startswith((".SH", ".Sh")):
            if inside:
                break
            inside = "DESCRIPTION" in line.upper()
            continue
        if not inside:
            continue
        if line.startswith((".nf", ".EX", ".Bd")):
            skipping = True
        elif line.startswith((".fi", ".EE", ".Ed")):
            skipping = False
        elif skipping or line.startswith(('.\\"', "'\\\"")):
            continue
        elif line.startswith((".", "'")):
            macro, _, rest = line[1:].partition(" ")
            if macro in _INLINE:
                words = [w for w in _troff(rest).replace('"', "").split() if w not in _INLINE]
                if macro == "Nm" and not words:
                    words = [name]
                if macro == "Fl":
                    words = [f"-{words[0]}", *words[1:]] if words else ["-"]
                paragraphs[-1].append(" ".join(words))
            elif macro in {"PP", "P", "LP", "TP", "IP", "sp", "Pp", "It", "HP", "SS", "Ss", "RS", "RE"}:
                paragraphs.append([])
        else:
            paragraphs[-1].append(_troff(line.split('\\"', 1)[0]))
    return [s for p in paragraphs if p for s in _sentences(_TIGHT.sub(r"\1", " ".join(p)))]


def _man_candidates(paths: dict[str, str]) -> Iterator[str]:
    """Common commands first, then one command of each family (git-*, gcloud_*, ...) in a fixed random order,
    then a second of each, and so on: a sample as varied as the installed pages allow."""
    yield from (c for c in COMMON_COMMANDS if c in paths)
    families: dict[str, list[str]] = defaultdict(list)
    for command in sorted(paths):
        families[re.split(r"[_.-]", command)[0]].append(command)
    order = random.Random(4091)
    queues = [order.sample(members, len(members)) for _, members in sorted(families.items())]
    order.shuffle(queues)
    for depth in range(max((len(q) for q in queues), default=0)):
        yield from (q[depth] for q in queues if depth < len(q))


@functools.cache
def _manpages() -> tuple[Subject, ...]:
    paths = {os.path.basename(p).split(".")[0]: p for p in sorted(glob.glob(MANPAGES)) if p.endswith(".1.gz")}
    subjects: list[Subject] = []
    seen: set[str] = set()
    for tried, command in enumerate(_man_candidates(paths)):
        if len(subjects) >= MAN_SAMPLE or tried >= 4 * MAN_SAMPLE:
            break
        real = os.path.realpath(paths[command])
        if real in seen or command in {s.name for s in subjects}:
            continue
        seen.add(real)
        try:
            with gzip.open(real, "rt", encoding="utf-8", errors="replace") as f:
                raw = f.read(400_000)
        except (OSError, EOFError):
            continue
        if raw.lstrip().startswith(".so "):
            continue
        sentences = _man_description(raw, command)
        if len(sentences) < 2:
            continue
        options = dict.fromkeys((m.group(1) or "-" + m.group(2)).replace("\\-", "-") for m in _OPTION.finditer(raw))
        subjects.append(Subject("man", command, tuple(sentences), (command, *list(options)[:40])))
    return tuple(sorted(subjects, key=lambda s: s.name))


_FRONT = re.compile(r"^---\n(.*?)\n---\n", re.S)
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_TICK = re.compile(r"`([^`]+)`")
_TAG = re.compile(r"<[^>]+>")


@functools.cache
def _npmdocs() -> tuple[Subject, ...]:
    subjects = []
    for path in sorted(glob.glob(NPMDOCS, recursive=True)):
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
        except OSError:
            continue
        name = os.path.basename(path)[:-3]
        front = _FRONT.match(text)
        if front:
            title = re.search(r"^title:\s*(.+)$", front.group(1), re.M)
            name = title.group(1).strip() if title else name
            text = text[front.end():]
        name = re.sub(r"^npm-", "npm ", name)
        text = re.sub(r"```.*?```", "\n\n", text, flags=re.S)
        text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
        terms = dict.fromkeys(t.strip() for t in _TICK.findall(text) if 1 < len(t.strip()) < 40)
        paragraphs: list[list[str]] = [[]]
        for line in text.splitlines():
            stripped = line.strip()
            if not stripped or stripped.startswith(("#", "|", ">")):
                paragraphs.append([])
            elif stripped.startswith(("* ", "- ")):
                paragraphs.append([stripped[2:]])
            else:
                paragraphs[-1].append(stripped)
        sentences = []
        for p in paragraphs:
            plain = _TAG.sub("", _LINK.sub(r"\1", " ".join(p))).replace("**", "")
            sentences += _sentences(plain)
        if len(sentences) >= 3:
            subjects.append(Subject("npm", name, tuple(sentences), (name, *list(terms)[:50])))
    return tuple(subjects)


LIFE: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "cooking": (
        ("What can I make for dinner with {}?", "How long do I roast {} at 200°C?", "Quick weeknight recipe using {}?",
         "Can I freeze {} and for how long?", "What spices go well with {}?", "I have {} and half an onion. Ideas?",
         "How can I tell if {} has gone off?", "Meal-prep idea for the week with {}, please."),
        ("chickpeas", "salmon fillets", "a whole chicken", "leftover rice", "sweet potatoes", "tofu", "red lentils",
         "a pork shoulder", "zucchini", "eggplant", "ground beef", "mushrooms", "cauliflower", "spinach",
         "black beans", "frozen shrimp", "butternut squash", "feta")),
    "travel": (
        ("Plan a 3-day itinerary for {} on a budget.", "What's the best time of year to visit {}?",
         "What should I pack for a week in {} in March?", "Is {} walkable or do I need a car?",
         "Cheap local food to try in {}?", "How many days do I really need in {}?", "Tipping etiquette in {}?",
         "Good day trips from {} without a car?"),
        ("Lisbon", "Kyoto", "Mexico City", "Edinburgh", "Hanoi", "Marrakech", "Vancouver", "Prague", "Buenos Aires",
         "Cape Town", "Istanbul", "Reykjavik", "Seoul", "Naples", "Montreal", "Oaxaca")),
    "health": (
        ("What helps with {} at home?", "When should I see a doctor about {}?", "Is it okay to exercise with {}?",
         "Which over-the-counter options are there for {}?", "My kid has {}. What should I watch for?",
         "How long does {} usually last?"),
        ("a sore throat", "lower back pain", "trouble sleeping", "a sprained ankle", "heartburn",
         "seasonal allergies", "a tension headache", "dry skin", "shin splints", "a mild fever", "jet lag",
         "a stiff neck")),
    "school": (
        ("Explain {} like I'm 12.", "Can you help me study for a test on {}?", "Give me 3 practice questions on {}.",
         "What are the key points about {} for an essay?", "I don't get {}. Can you explain it differently?",
         "Summarise {} in one paragraph."),
        ("photosynthesis", "the French Revolution", "quadratic equations", "the water cycle", "supply and demand",
         "the causes of World War I", "mitosis", "Newton's second law", "the Pythagorean theorem",
         "plate tectonics", "the Krebs cycle", "compound interest", "Macbeth", "the Cold War",
         "probability with dice", "ionic bonds")),
    "shopping": (
        ("What should I look for when buying {}?", "Is it worth paying more for {}?",
         "Help me choose between two options for {}.", "What's a reasonable price for {}?",
         "When is the cheapest time of year to buy {}?"),
        ("a budget laptop for college", "running shoes for flat feet", "a stroller", "a robot vacuum",
         "noise-cancelling headphones", "a mattress for back pain", "a gift for my dad who likes fishing",
         "a winter coat", "a first road bike", "an air fryer", "a carry-on suitcase", "a standing desk")),
    "messages": (
        ("Write a polite email to {}.", "Draft a short message to {}, friendly but firm.",
         "Help me make my email to {} sound less angry.", "Write a text to {} in under 50 words."),
        ("my landlord about a broken heater", "my boss asking for Friday off", "a teacher about my son's grades",
         "a customer who got the wrong order", "a neighbour about their barking dog",
         "a recruiter, declining an offer", "my team about a new on-call rota", "an old friend I lost touch with",
         "a hotel asking for a late checkout", "the airline about lost luggage")),
    "money": (
        ("How does {} work?", "Is {} a good idea in my twenties?", "Help me think through {}.",
         "Pros and cons of {}?"),
        ("a 401k match", "an emergency fund", "paying off a credit card", "a Roth IRA", "index funds",
         "a car loan", "splitting rent with roommates", "a monthly grocery budget", "a high-yield savings account")),
    "home": (
        ("How do I deal with {}?", "Any tips for {}?", "Cheapest way to sort out {}?",
         "What am I doing wrong with {}?"),
        ("tomatoes on a balcony", "a leaky faucet", "mould in the bathroom", "a squeaky door", "basil indoors",
         "a slow drain", "fruit flies in the kitchen", "bare patches in the lawn", "succulents",
         "a drafty window")),
    "fitness": (
        ("Make me a 4-week plan for {}.", "How often should I do {}?", "I'm 45 and out of shape. Is {} realistic?",
         "Common mistakes with {}?"),
        ("a first 5k", "bodyweight workouts at home", "stretching after running", "a push-up habit",
         "a beginner gym routine", "swimming for fitness", "a couch-to-half-marathon plan", "yoga for stiff hips")),
}


@functools.cache
def _life() -> tuple[Subject, ...]:
    return tuple(Subject("life", topic, tuple(t.format(v) for t in templates for v in vocab), vocab)
                 for topic, (templates, vocab) in LIFE.items())


@functools.cache
def _corpora() -> dict[str, tuple[Subject, ...]]:
    found = {"man": _manpages(), "git": _relnotes(), "npm": _npmdocs(), "life": _life()}
    return {source: subjects for source, subjects in found.items() if subjects}


def _anywhere(rng: random.Random) -> Subject:
    """A subject from anywhere: a source at random, then one of its subjects."""
    corpora = _corpora()
    return rng.choice(corpora[rng.choice(sorted(corpora))])


def _of(source: str) -> tuple[Subject, ...]:
    corpora = _corpora()
    return corpora.get(source) or corpora["life"]


# --- phrasing --------------------------------------------------------------------------------------------------

NATURAL = {
    "man": ("What does the {name} command do?", "How do I use {term} with {name}?",
            "From the {name} man page: \"{sentence}\" What does that mean?",
            "Can you explain this bit of the {name} docs? {sentence}", "When should I use {name}?",
            "{name}: what is {term} for?", "Quick question about {name}. {sentence} Is that right?"),
    "git": ("Git's release notes say: \"{sentence}\" What does this change in practice?", "What's new with {name}?",
            "Can you explain this git change? {sentence}", "Does this affect me if I use {term}? {sentence}"),
    "npm": ("How does {name} work?", "npm docs: \"{sentence}\" Can you explain?", "What is {term} in npm?",
            "In {name}, what does this mean: {sentence}"),
}


def _natural(rng: random.Random, s: Subject) -> str:
    if s.source == "life":
        return rng.choice(s.sentences)
    return rng.choice(NATURAL[s.source]).format(name=s.name, term=rng.choice(s.terms),
                                                sentence=rng.choice(s.sentences))


def _wrap(wrapper: str, q: str, **extra: object) -> str:
    """A question inside a user's own words, its first letter lowered after a lower-case opening."""
    if wrapper[0].islower() and q[:1].isupper() and not q[1:2].isupper():
        q = q[0].lower() + q[1:]
    return wrapper.format(q=q, **extra)


def _topic(rng: random.Random, s: Subject) -> str:
    """Something to write about: a subject, one of its terms, or one of its statements."""
    roll = rng.random()
    if roll < 0.35 or s.source == "life":
        term = rng.choice(s.terms)
        return term if s.source == "life" or term == s.name else f"{term} ({s.name})"
    if roll < 0.6:
        return s.name if s.source != "man" else f"the {s.name} command"
    return f"the following: \"{rng.choice(s.sentences)}\""


def _conversation(rng: random.Random, queries: int, opener: Callable[[], str], follow: Callable[[], str], system: bool,
                  most: int = 4) -> tuple[list[str], list[int]]:
    texts: list[str] = []
    turns: list[int] = []
    while len(texts) < queries:
        for turn in range(rng.randint(1, most)):
            texts.append(opener() if turn == 0 else follow())
            turns.append(2 * turn + 1 + int(system))
    return texts[:queries], turns[:queries]


def _count(rng: random.Random, low: int, high: int, scale: float, floor: int = 3) -> int:
    return max(floor, int(rng.randint(low, high) * scale))


SDK_AGENTS = ("OpenAI/Python 1.54.4", "OpenAI/Python 1.35.13", "OpenAI/JS 4.67.3", "python-requests/2.32.3",
              "python-httpx/0.27.2", "axios/1.7.7", "Go-http-client/2.0", "okhttp/4.12.0",
              "Python/3.11 aiohttp/3.10.10", "curl/8.5.0")
BROWSERS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 "
            "Safari/537.36",
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 "
            "Safari/605.1.15",
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/17.5 Mobile/15E148 Safari/604.1",
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 "
            "Mobile Safari/537.36")
MOBILE_APPS = ("AskAnything/3.4.1 (iPhone; iOS 17.5; Scale/3.00)", "AskAnything/3.4.0 (Android 14; SM-S911B)",
               "Dalvik/2.1.0 (Linux; U; Android 13; SM-A536B Build/TP1A.220624.014)")
BUSINESS = (12, 38, 50, 63, 65, 66, 96, 104, 136, 148, 193, 194, 195, 212, 217)
RESIDENTIAL = (24, 47, 67, 68, 73, 76, 86, 90, 98, 109, 174, 188, 2, 31, 79, 82)
HOSTING = ((5, 161), (45, 76), (64, 227), (139, 59), (142, 93), (159, 89), (165, 22), (178, 128), (188, 166),
           (206, 189), (3, 87), (34, 82))
CARRIER = "172.58"  # a mobile carrier's CGNAT /16
CAMPUS = "129.97"  # a university /16


def _host(rng: random.Random, prefix: str) -> str:
    parts = prefix.split(".")
    parts += [str(rng.randint(0, 255)) for _ in range(3 - len(parts))]
    return ".".join(parts) + f".{rng.randint(2, 254)}"


def _own_net(rng: random.Random, used: set[str]) -> str:
    while True:
        net = f"{rng.choice(RESIDENTIAL)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}"
        if net not in used:
            used.add(net)
            return f"{net}.{rng.randint(2, 254)}"


# --- ordinary clients ------------------------------------------------------------------------------------------

SRE_FOLLOW = ("And what does {term} do?", "Can I combine that with {term}?", "How would I run that from cron?",
              "It says permission denied. What now?", "Does {name} behave differently on macOS?",
              "ok that worked, thanks", "What's the safest way to try this on prod?", "Is there a dry-run mode?",
              "Can you give me the exact command?", "Why would {name} hang like that?")
SRE_WALK = (" Walk me through it.", " Step by step please, I'm on call and tired.", " Explain what each part does.")
GIT_ASKS = ("The release notes mention: \"{sentence}\" Which version was that, and how do I use it?",
            "Saw this in the changelog: {sentence} Should I change my workflow?",
            "Is this a breaking change? {sentence}",
            "How did {name} behave before this? {sentence}")
GIT_FOLLOW = ("Does that need a config setting?", "What about with a partial clone?", "Any performance impact?",
              "Neat. Is there an alias people use for that?", "Does it work on Windows too?")
CI_SYSTEM = ("You are the failure explainer of a continuous-integration service. Given a failed step, its log tail "
             "and excerpts of the tools' manual pages, say in at most 120 words why the step most likely failed "
             "and how to fix it. Use Markdown; put commands in code spans.")
CI_ERRORS = ("Permission denied", "No such file or directory", "Killed", "Segmentation fault (core dumped)",
             "Connection timed out", "invalid option", "Operation not permitted", "cannot allocate memory",
             "unexpected end of file", "Resource temporarily unavailable", "command not found")
TAG_SYSTEM = ("Route the documentation snippet to one section of our help centre. Sections: installing, publishing, "
              "configuration, security, scripts, workspaces, registry, troubleshooting. Reply with the section only.")
SUPPORT = (
    ("npm", ("npm publish", "npm login", "npm token", "npm access", "scope", "registry", "npmrc", "package.json",
             "npm install", "npm ci"),
     "You are the support assistant of Crate, a private npm registry for companies. Be concise and friendly, "
     "point users to settings in their Crate dashboard when relevant, and never invent features."),
    ("git", ("git push", "git clone", "git fetch", "git pull", "git merge", "git rebase", "git submodule"),
     "You are Forge's support assistant. Forge hosts git repositories. Help users with pushing, cloning and "
     "access problems; escalate billing questions to a human."),
    ("life", ("cooking", "shopping"),
     "You are the helper of FreshBox, a meal-kit delivery service. Answer questions about recipes in this week's "
     "box, deliveries and substitutions. Keep answers under 100 words."),
    ("life", ("travel", "health"),
     "You are the virtual agent of Wayfarer Travel. Help customers plan trips, understand bookings and travel "
     "health requirements. Be warm and precise."),
)
SUPPORT_ASKS = ("hi, {q}", "{q}", "Hello! {q} Thanks in advance", "quick one: {q}", "{q} (order #{n})")
SUPPORT_FOLLOW = ("that didn't work", "where do I find that setting?", "ok thanks!", "can I talk to a human?",
                  "and if I'm on the free plan?", "I did that already, still the same", "how long will it take?")
LIFE_FOLLOW = ("make it shorter", "thanks!", "hmm, anything cheaper?", "can you put that in a list?",
               "perfect, and a second option?", "ok and why is that?")
LIFE_FOLLOW_BY = {
    "cooking": ("can you make it vegetarian?", "what about for 4 people?", "I don't have an oven", "no dairy please"),
    "travel": ("what if it rains?", "we're travelling with a toddler", "what about in winter?", "is it safe at night?"),
    "health": ("is that safe for kids?", "I'm also on blood pressure meds", "it's been a week now"),
    "school": ("can you quiz me?", "simpler please", "what would a teacher want in the answer?"),
    "shopping": ("my budget is about $300", "which brand would you pick?", "is refurbished ok?"),
    "messages": ("more casual tone please", "make it more formal", "add that I'm sorry for the delay"),
    "money": ("I earn about 50k", "what would you do in my place?", "what are the risks?"),
    "home": ("I rent, so nothing permanent", "what tools do I need?", "should I call a pro?"),
    "fitness": ("I have bad knees", "only 20 minutes a day", "what should I eat around it?"),
}
TUTOR_SYSTEM = ("You are a patient tutor for university students. Never just give the answer: show your reasoning "
                "step by step, explain why each step follows, and end with a short check of the result. If the "
                "student proposes an answer, find their mistake instead of solving it for them.")
TUTOR_FOLLOW = ("I got {n}, is that right?", "why did you multiply there?", "can you check my second step?",
                "I still don't get the middle part", "can you give me a similar one to try?",
                "what's the general rule here?", "ok I think I see it now")
EQUATIONS = ("Fe + O2 -> Fe2O3", "C3H8 + O2 -> CO2 + H2O", "Al + HCl -> AlCl3 + H2", "N2 + H2 -> NH3",
             "KClO3 -> KCl + O2")
BATCH_TASKS = ("Translate into {lang}. Keep commands, options and file names unchanged.\n\n{sentence}",
               "Extract every command-line option or config key in this text as a JSON array (empty if none):\n"
               "{sentence}",
               "Rewrite for our internal wiki in plain language, one sentence, no jargon:\n{sentence}",
               "Row {n}\t{sentence}\nReturn JSON: {{\"topic\": <one or two words>, \"breaking_change\": true|false}}")
LANGUAGES = ("German", "French", "Spanish", "Japanese", "Brazilian Portuguese", "Korean", "Italian")


def _math_problem(rng: random.Random) -> str:
    a, b, c = rng.randint(2, 12), rng.randint(3, 40), rng.randint(41, 160)
    return rng.choice((
        f"A recipe needs {a} cups of flour for {b} cookies. How much flour for {c} cookies?",
        f"Solve for x: {a}x + {b} = {c}.",
        f"A car covers {c} km in {a} hours. What's its average speed in m/s?",
        f"If I invest ${c * 100} at {a}% compounded yearly, how much do I have after {b % 15 + 2} years?",
        f"What is the probability of rolling a total of {a} with two dice?",
        f"Balance this equation: {rng.choice(EQUATIONS)}",
        f"Find the derivative of {a}x^3 - {b}x + {c}.",
        f"A ladder {b % 9 + 4} m long leans on a wall with its foot {a % 4 + 1} m out. How high does it reach?",
    ))


def _tutor_question(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.5:
        return _math_problem(rng)
    if roll < 0.75:
        life = _of("life")
        return rng.choice(next((s for s in life if s.name == "school"), life[0]).sentences)
    s = rng.choice(_of("man") + _of("git"))
    return rng.choice(("For my Unix course: what does {name} do, and why would I use it?",
                       "Homework says: \"{sentence}\" Can you help me understand it?",
                       "Our lab sheet asks what {term} does in {name}.")).format(
        name=s.name, sentence=rng.choice(s.sentences), term=rng.choice(s.terms))


def _ordinary(rng: random.Random, kind: str, name: str, scale: float, network: str) -> ClientPlan:
    turns: list[int] = []
    outputs = "label"
    instructions = ""
    agent = rng.choice(SDK_AGENTS)
    if kind == "sre-oncall":
        own = rng.sample(_of("man"), min(len(_of("man")), rng.randint(2, 4)))
        current = [own[0]]

        def opener() -> str:
            current[0] = rng.choice(own)
            text = _natural(rng, current[0])
            return text + rng.choice(SRE_WALK) if rng.random() < 0.12 else text

        def follow() -> str:
            s = current[0]
            return rng.choice(SRE_FOLLOW).format(name=s.name, term=rng.choice(s.terms))

        texts, turns = _conversation(rng, _count(rng, 15, 350, scale), opener, follow, system=False)
    elif kind == "git-enthusiast":
        area = rng.choice([s for s in _of("git") if s.name.startswith("git ")] or list(_of("git")))
        texts, turns = _conversation(
            rng, _count(rng, 10, 150, scale),
            lambda: rng.choice(GIT_ASKS).format(name=area.name, sentence=rng.choice(area.sentences)),
            lambda: rng.choice(GIT_FOLLOW), system=False, most=3)
        agent = rng.choice(BROWSERS[:3] + SDK_AGENTS[:2])
    elif kind == "ci-explainer":
        own = rng.sample(_of("man"), min(len(_of("man")), rng.randint(1, 2)))
        instructions = CI_SYSTEM
        texts = []
        for run in range(_count(rng, 150, 1200, scale)):
            tool = rng.choice(own)
            start = rng.randrange(len(tool.sentences))
            excerpt = " ".join(tool.sentences[start:start + rng.randint(2, 6)])
            options = rng.sample(tool.terms[1:], min(len(tool.terms) - 1, rng.randint(0, 3)))
            target = rng.choice(("./dist", "src/", "$ARTIFACT", "release.tar"))
            text = (f"Pipeline: {name}/build #{1000 + run * 3 + rng.randint(0, 2)}\n"
                    f"Step: {rng.choice(('build', 'test', 'package', 'deploy', 'lint'))}\n"
                    f"Command: {' '.join((tool.name, *options, target))}\n"
                    f"Exit code: {rng.choice((1, 2, 126, 127, 137, 255))}\n"
                    f"Log tail:\n  {tool.name}: {rng.choice(CI_ERRORS)}\n  ##[error]Process completed with a "
                    f"non-zero exit code.\nManual page excerpt, {tool.name}(1):\n{excerpt}")
            if len(own) > 1 and rng.random() < 0.4:
                other = own[1] if tool is own[0] else own[0]
                text += f"\nManual page excerpt, {other.name}(1):\n{' '.join(other.sentences[:3])}"
            texts.append(text + "\nWhy did this step fail, and what should the developer change?")
        turns = [2] * len(texts)
        version = f"{rng.randint(1, 3)}.{rng.randint(0, 9)}.{rng.randint(0, 20)}"
        agent = f"ci-explainer/{version} {rng.choice(SDK_AGENTS[:5])}"
    elif kind == "doc-tagger":
        npm = _of("npm")
        section = rng.sample(npm, min(len(npm), rng.randint(8, 20)))
        instructions = TAG_SYSTEM
        texts = [f"Snippet: {rng.choice(rng.choice(section).sentences)}" for _ in range(_count(rng, 150, 1000, scale))]
        turns = [2] * len(texts)
        outputs = "top3"
    elif kind == "support-bot":
        source, wanted, instructions = rng.choice(SUPPORT)
        pool = [s for s in _of(source) if s.name in wanted] or list(_of(source))

        def ask() -> str:
            return _wrap(rng.choice(SUPPORT_ASKS), _natural(rng, rng.choice(pool)), n=rng.randint(10000, 99999))

        texts, turns = _conversation(rng, _count(rng, 100, 900, scale), ask, lambda: rng.choice(SUPPORT_FOLLOW),
                                     system=True)
    elif kind == "everyday":
        life = _of("life")
        favourites = rng.sample(life, min(len(life), rng.randint(3, 6)))
        topic = [""]

        def opener() -> str:
            if rng.random() < 0.06:
                topic[0] = ""
                return _natural(rng, rng.choice(_of("man") + _of("npm")))
            chosen = rng.choice(favourites)
            topic[0] = chosen.name
            return rng.choice(chosen.sentences)

        def follow() -> str:
            return rng.choice(LIFE_FOLLOW + LIFE_FOLLOW_BY.get(topic[0], ()))

        texts, turns = _conversation(rng, _count(rng, 10, 120, scale), opener, follow, system=False, most=3)
        agent = rng.choice(BROWSERS + MOBILE_APPS)
    elif kind == "tutoring":
        instructions = TUTOR_SYSTEM
        texts, turns = _conversation(rng, _count(rng, 30, 250, scale), lambda: _tutor_question(rng),
                                     lambda: rng.choice(TUTOR_FOLLOW).format(n=rng.randint(2, 90)), system=True)
        agent = rng.choice((*BROWSERS[:3], f"StudyBuddy-Desktop/1.8.{rng.randint(0, 4)}"))
    elif kind == "batch-job":
        source = rng.choice([s for s in ("man", "git", "npm") if s in _corpora()] or ["life"])
        pool = rng.sample(_of(source), min(len(_of(source)), rng.randint(2, 4)))
        task = rng.choice(BATCH_TASKS)
        langs = rng.sample(LANGUAGES, rng.randint(1, 4))
        texts = [task.format(lang=rng.choice(langs), sentence=rng.choice(rng.choice(pool).sentences), n=n + 1)
                 for n in range(max(64, int(rng.randint(2000, 3500) * scale)))]
        agent = rng.choice(("python-requests/2.32.3", "OpenAI/Python 1.54.4", "Python/3.11 aiohttp/3.10.10"))
    else:  # casual
        texts = [rng.choice(rng.choice(_of("life")).sentences) if rng.random() < 0.75
                 else _natural(rng, _anywhere(rng)) for _ in range(rng.randint(1, 12))]
        agent = rng.choice(MOBILE_APPS + BROWSERS[3:] + BROWSERS[:1])
    return ClientPlan(name, kind, False, texts, outputs=outputs, network=network, user_agent=agent, turns=turns,
                      instructions=instructions)


# --- attacks ---------------------------------------------------------------------------------------------------

REASON_CUES = ("Spell out each step of your thinking before the final answer.",
               "Reason it through out loud, then answer.",
               "Show the full chain of reasoning, not just the conclusion.",
               "Work through this carefully and explain every inference.",
               "Before you answer, write down your thought process in detail.",
               "Give a detailed derivation, then state the answer on its own line.",
               "Think it over step by step and narrate each step.",
               "Explain how you arrive at the answer, one numbered step at a time.",
               "Justify every step; I care about the rationale more than the answer.",
               "Lay out your reasoning as a numbered list, then conclude.")
REASON_SYSTEMS = ("You are a careful assistant. For every request, first write your complete reasoning inside "
                  "<thinking></thinking> tags, in full detail, then give the final answer.",
                  "Always think step by step. Show all intermediate reasoning explicitly before answering; never skip "
                  "a step, even an obvious one.",
                  "Answer in two parts. Part 1, Reasoning: a thorough, numbered explanation of how you work it out. "
                  "Part 2, Answer: the conclusion in one or two sentences.")
REASON_QUESTIONS = ("{q}", "Question: {q}", "{q} Why?", "Here's something I want to understand properly. {q}",
                    "Consider this: {q} What is going on and why?")
DISTILL_TEMPLATES = ("### Instruction\nExplain the concept below to a software engineer in 3-5 sentences, then give "
                     "one practical example.\n### Input\n{term}\n### Response\n",
                     "You are an expert technical writer. Term: \"{term}\" (context: {name}). Write a precise "
                     "definition, a usage note and a common mistake.",
                     "Task: describe \"{term}\".\nFormat: Definition | Example | Related concepts\nAnswer:",
                     "Write an encyclopedia-style paragraph about {term} as it relates to {name}.",
                     "<task>explain</task><topic>{term}</topic><context>{name}</context><length>150 words</length>",
                     "Q: What is {term}, and when is it used?\nA (be thorough):")
SYNTH_TEMPLATES = ("Write {n} question-answer pairs about {topic}. Vary the difficulty.",
                   "Generate a realistic dialogue between a user and a helpful assistant about {topic}, at least six "
                   "turns.",
                   "Create {n} diverse requests someone might make about {topic}, each followed by an ideal response.",
                   "Produce a {n}-question multiple-choice quiz on {topic}, with answers and explanations.",
                   "Give me {n} different explanations of {topic}, from beginner to expert.",
                   "Write {n} instruction/response examples about {topic} as JSON lines with the fields "
                   "\"instruction\" and \"response\".",
                   "Invent {n} support tickets about {topic} and write the agent's reply to each.",
                   "Generate an FAQ with {n} entries about {topic}.",
                   "Write {n} short conversations where a beginner asks about {topic} and an expert answers.")
SYNTH_SYSTEM = ("You generate training data. Every example must be different from the others in wording, "
                "difficulty and angle. Output only the data, no commentary.")
HYDRA_TEMPLATES = ("Define {term} in the context of {name}. Then give two examples.",
                   "Explain {term} ({name}) to a beginner, in under 200 words.",
                   "What is {term}? Answer with: summary, details, pitfalls.",
                   "Topic: {name}\nSubtopic: {term}\nWrite a complete explanation with an example.",
                   "Teach me {term} as used in {name}, with a worked example.")
DRIP_WRAPPERS = ("{q}", "hey, {q}", "{q} thanks", "quick question: {q}", "{q} pls", "sorry if this is basic, {q}")
PLAIN_FORMS = ("{sentence}", "Continue this text: {sentence}", "{q}", "Tell me about {name}.", "{q}")


def _reasoning(rng: random.Random, queries: int, in_system: bool) -> tuple[list[str], str]:
    texts = []
    for _ in range(queries):
        q = rng.choice(REASON_QUESTIONS).format(q=_natural(rng, _anywhere(rng)))
        if not in_system:
            cue = rng.choice(REASON_CUES)
            q = f"{cue} {q}" if rng.random() < 0.3 else f"{q} {cue}"
        texts.append(q)
    return texts, rng.choice(REASON_SYSTEMS) if in_system else ""


def _filled(rng: random.Random, template: str) -> str:
    s = _anywhere(rng)
    return template.format(term=rng.choice(s.terms), name=s.name)


def _attack(rng: random.Random, family: str, k: int, queries: int, scale: float, used: set[str]) -> list[ClientPlan]:
    name = f"{family}-{k:02d}"
    hosting = rng.choice(HOSTING)
    network = _host(rng, f"{hosting[0]}.{hosting[1]}")
    agent = rng.choice(SDK_AGENTS)
    if family == "reasoning-harvester":
        texts, instructions = _reasoning(rng, queries, in_system=k % 2 == 1)
        turns = [2] * len(texts) if instructions else []
        return [ClientPlan(name, family, True, texts, network=network, user_agent=agent, turns=turns,
                           instructions=instructions)]
    if family == "template-distiller":
        templates = rng.sample(DISTILL_TEMPLATES, rng.randint(1, 2))
        texts = [_filled(rng, rng.choice(templates)) for _ in range(queries)]
        return [ClientPlan(name, family, True, texts, network=network, user_agent=agent,
                           outputs="full" if k % 2 else "label")]
    if family == "logprob-harvester":
        texts = []
        for _ in range(queries):
            s = _anywhere(rng)
            texts.append(rng.choice(PLAIN_FORMS).format(sentence=rng.choice(s.sentences), q=_natural(rng, s),
                                                        name=s.name))
        return [ClientPlan(name, family, True, texts, network=network, user_agent=agent, outputs="full")]
    if family == "blended-mixer":
        cover = rng.uniform(0.2, 0.34)
        base = _ordinary(rng, rng.choice(("sre-oncall", "support-bot", "everyday")), name, queries / 400, "")
        texts, turns = list(base.texts), list(base.turns)
        while len(texts) < queries:  # a base stream shorter than the attack's volume continues
            more = _ordinary(rng, base.family, name, 1.0, "")
            texts += more.texts
            turns += more.turns if base.turns else []
        texts, turns = texts[:queries], turns[:queries]
        system = 1 if base.instructions else 0
        for j in range(len(texts)):
            if rng.random() < cover:
                texts[j] = _natural(rng, _anywhere(rng))
                if turns:
                    turns[j] = 1 + system
        network = _own_net(rng, used) if base.family == "everyday" else network
        return [ClientPlan(name, family, True, texts, network=network, user_agent=base.user_agent, turns=turns,
                           instructions=base.instructions)]
    if family == "hydra":
        prefix = f"{hosting[0]}.{hosting[1]}"
        agent = rng.choice(("python-httpx/0.27.2", "Python/3.11 aiohttp/3.10.10", "OpenAI/Python 1.51.2"))
        templates = rng.sample(HYDRA_TEMPLATES, rng.randint(3, 5))
        plans = []
        for m in range(rng.randint(40, 80)):
            texts = [_filled(rng, templates[(m + j) % len(templates)])
                     for j in range(_count(rng, 24, 60, scale, floor=12))]
            plans.append(ClientPlan(f"{name}-key{m:02d}", family, True, texts, ring=name, network=_host(rng, prefix),
                                    user_agent=agent))
        return plans
    if family == "drip-ring":
        subnets = [f"{rng.choice(RESIDENTIAL)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}"
                   for _ in range(rng.randint(15, 30))]
        plans = []
        for m in range(rng.randint(40, 60)):
            texts = [_wrap(rng.choice(DRIP_WRAPPERS), _natural(rng, _anywhere(rng)))
                     for _ in range(_count(rng, 8, 12, scale, floor=4))]
            plans.append(ClientPlan(f"{name}-key{m:02d}", family, True, texts, ring=name,
                                    network=_host(rng, rng.choice(subnets)),
                                    user_agent=rng.choice(BROWSERS + MOBILE_APPS + SDK_AGENTS[:2])))
        return plans
    # synthetic-data
    texts = []
    for _ in range(queries):
        texts.append(rng.choice(SYNTH_TEMPLATES).format(n=rng.choice((3, 5, 5, 8, 10, 12, 20)),
                                                         topic=_topic(rng, _anywhere(rng))))
    instructions = SYNTH_SYSTEM if k % 3 == 2 else ""
    return [ClientPlan(name, family, True, texts, network=network, user_agent=agent, instructions=instructions,
                       turns=[2] * len(texts) if instructions else [])]


def chat_holdout_d_population(ordinary: int, attackers_per_family: int, seed: int = 15013,
                              scale: float = 1.0) -> list[ClientPlan]:
    rng = random.Random(seed)
    used: set[str] = set()
    products = [i for i in range(ordinary) if ORDINARY[i % len(ORDINARY)] in
                {"sre-oncall", "ci-explainer", "doc-tagger", "support-bot", "batch-job"}]
    companies = []
    for _ in range(max(1, len(products) // 4)):
        net = f"{rng.choice(BUSINESS)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}"
        companies.append([f"{net}.{rng.randint(2, 254)}" for _ in range(rng.randint(1, 2))])
    plans: list[ClientPlan] = []
    for i in range(ordinary):
        kind = ORDINARY[i % len(ORDINARY)]
        if i in products:
            network = rng.choice(rng.choice(companies))
        elif kind == "tutoring":
            network = _host(rng, CAMPUS)
        elif kind == "casual" or (kind == "everyday" and rng.random() < 0.3):
            network = _host(rng, CARRIER)
        else:
            network = _own_net(rng, used)
        plans.append(_ordinary(rng, kind, f"{kind}-{i:03d}", scale, network))
    queries = max(64, int(600 * scale))
    for family in ATTACKS:
        for k in range(attackers_per_family):
            plans += _attack(rng, family, k, queries, scale, used)
    rng.shuffle(plans)
    return plans
