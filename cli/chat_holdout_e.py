"""A fifth chat holdout, written blind: traffic the detector was never tuned on.

This population was written without reading the detector, its benchmarks or the other chat holdouts, so it
measures how the detector generalises to clients, content and attacks it has not seen. Every corpus below is
read from the machine at run time and skipped when it is missing; the generators then fall back on the
hand-written vocabulary in this module, so the population can always be built.

Corpora. GNU info manuals (/usr/share/info/*.info*.gz: coreutils, grep, sed, find, gzip, wget, bc, diffutils,
gettext, gnupg, ...), split into nodes and prose paragraphs, give developers' questions about shell tools and
paragraphs to summarise or translate. Upstream README and NEWS files under /usr/share/doc (Debian-specific
files, change logs, HTML and git's own notes excluded) give paragraphs for summarisers, extractors and
document-laundering attackers. CMake's reference help (/usr/share/cmake-*/Help/{command,policy,prop_tgt}/*.rst)
gives build-system questions. The e-mail messages of CPython's test suite (test/test_email/data/msg_*.txt)
give inbound e-mails for triage and extraction products. scikit-learn's shipped data sets (iris, wine) and
their descriptions (sklearn/datasets/descr/*.rst) give tabular classification items and dataset paragraphs.
SymPy's doctest examples give calculus expressions for homework and reasoning problems. NetworkX's algorithm
docstrings give the first line of every graph algorithm (names and summaries). tzdata's iso3166.tab and
zone1970.tab give countries and cities; X11's rgb.txt gives colour names; Pygments' lexer map gives
programming-language names; freedesktop's shared-mime-info gives file-type descriptions; CPython's
test/exception_hierarchy.txt gives exception names; transformers' model folders give model-family names.
The rest is everyday vocabulary written here (cooking, travel, fitness, money, home, pets, gardens, writing,
devices, careers, trivia, fictional products, support policies) and a hand-written concept list of eighteen
academic and professional domains, crossed with templates.

Ordinary profiles. `chatter`: people in multi-turn conversations on two to four everyday subjects, from home
broadband or a mobile carrier's shared CGNAT address, through browsers and a mobile app. `casual`: occasional
users sending a handful of mostly single-turn everyday and trivia questions from phones. `developer`:
programmers asking about languages, shell tools, CMake, graph libraries, errors and code snippets, sometimes
in short debugging threads, from offices behind a shared NAT or from home, through SDKs and curl. `agent`: IDE
coding agents with a long system prompt whose requests grow turn by turn and whose last message is usually a
tool result. `homework`: a school's or a class's homework helper whose system prompt asks to show the work
step by step, with students' maths, science and essay questions and their follow-ups, behind university
NATs or from home. `support_bot`: customer-support assistants of one (fictional) product each, with a system
prompt, end users' multi-turn questions and cloud egress shared by the products of one company.
`classifier`: one template over one niche (ticket triage, review sentiment, e-mail intent, transactions,
headlines, job titles, file types, moderation, iris and wine records), some asking logprobs for scoring.
`extractor`: one extraction template over the product's own documents (e-mails, invoices, addresses, manual
paragraphs, postings, notes). `summarizer`: one summarisation template over READMEs, NEWS, manuals and mail.
`translator`: localisation of a product's UI strings or documentation into one to three languages.
`batch`: heavy server-side enrichment pipelines (catalogue copy, local SEO pages, alt text, company and
recipe enrichment) sending thousands of requests. `eval_suite`: research teams running a fixed
multiple-choice and short-answer benchmark suite, one to three times, often scoring with logprobs.
`writer`: marketing and creative writing with iterative, multi-turn edits.

Attack families. `domain_distiller`: one key and one template sweeping every concept of one broad domain
(widened with neighbouring domains when it is narrow) under a dozen aspects, mostly from cloud egress through an
SDK. `cot_harvester`: generated maths, logic, physics, chemistry, code-tracing and graph problems wrapped in
instructions that elicit the full chain of reasoning.
`logprob_harvester`: short-answer, cloze and multiple-choice prompts over all domains with top_logprobs at or
near the maximum. `instruction_synth`: Self-Instruct, Alpaca, Evol-Instruct and synthetic-dialogue prompts
generating instruction data over all domains. `blended`: an ordinary-looking developer, support or chat
client from an ordinary network whose traffic hides a third of coverage queries phrased in its own voice.
`hydra_ring`: a ring of a dozen to two dozen keys from a few adjacent /24s of one cloud, one SDK, a shared
system prompt and shared templates, each key sweeping its own slice of the coverage grid. `proxy_ring`: a
stealthier ring of keys on residential proxies and mobile CGNAT addresses, with mixed browser and app agents,
rotating casual paraphrases, some fake multi-turn context, and small volumes per key. `followup_chainer`
(invented here): a single home user whose multi-turn conversations each open on a different domain's concept
and are deepened by generic follow-ups ("go deeper on the second point", "give a worked example"), so each
request looks like a chatty user while the whole key covers every domain. `preference_harvester` (invented
here): reward-model distillation, pairwise comparisons, rubric ratings and critique-and-rewrite prompts
over all domains, dressed as an evaluation team. `task_launderer` (invented here): ordinary product tasks
(summarise, translate, simplify, quiz, extract) rotated over paragraphs from every corpus and concept, so each
request looks like a templated product while the key harvests the model's behaviour across tasks and topics.
"""

from __future__ import annotations

import contextlib
import csv
import email
import glob
import gzip
import math
import random
import re
import sysconfig
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path

from cli.simulator import ClientPlan

ORDINARY = (
    "chatter",
    "casual",
    "developer",
    "agent",
    "homework",
    "support_bot",
    "classifier",
    "extractor",
    "summarizer",
    "translator",
    "batch",
    "eval_suite",
    "writer",
)
ATTACKS = (
    "domain_distiller",
    "cot_harvester",
    "logprob_harvester",
    "instruction_synth",
    "blended",
    "hydra_ring",
    "proxy_ring",
    "followup_chainer",
    "preference_harvester",
    "task_launderer",
)

Turn = tuple[str, int]  # a request's last user message and how many messages it sends

# ----------------------------------------------------------------------------------------------------------------
# corpora


def _read(path: Path, limit: int = 400_000) -> str:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
                return f.read(limit)
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read(limit)
    except (OSError, EOFError, ValueError):
        return ""


def _package_dir(name: str) -> Path | None:
    try:
        spec = find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "\t": " "})
_RST_ROLE = re.compile(r":[\w:-]+:`([^`<]*?)(?:\s*<[^>]*>)?`")


def _clean(s: str) -> str:
    s = _RST_ROLE.sub(r"\1", s.translate(_QUOTES)).replace("``", "").replace("**", "")
    return re.sub(r"\s+", " ", s).strip()


def _prose(text: str, lo: int = 90, hi: int = 650) -> list[str]:
    """Paragraphs of running prose in a text (no lists, code, tables or headings)."""
    out: list[str] = []
    for block in re.split(r"\n\s*\n", text):
        lines = [ln.strip() for ln in block.splitlines() if ln.strip()]
        if not lines or lines[0].startswith(("*", "-", "#", "|", ">", "$", "=", "+", "`", "..", "'-", "[", "(", "<")):
            continue
        s = _clean(" ".join(lines))
        if not lo <= len(s) <= hi or not s[0].isupper() or s[-1] not in ".?!":
            continue
        if sum(c.isalpha() or c == " " for c in s) < 0.86 * len(s) or len(s.split()) < 14:
            continue
        out.append(s)
    return out


@dataclass
class _Corpora:
    info: list[tuple[str, str, str]] = field(default_factory=list)  # (manual, node, paragraph)
    commands: list[tuple[str, str]] = field(default_factory=list)  # (manual, command documented by a node)
    docs: list[tuple[str, str]] = field(default_factory=list)  # (package, paragraph of its README/NEWS)
    cmake: list[tuple[str, str]] = field(default_factory=list)  # (command or property, first paragraph)
    emails: list[tuple[str, str]] = field(default_factory=list)  # (subject, body)
    iris: list[list[str]] = field(default_factory=list)
    wine: list[list[str]] = field(default_factory=list)
    datasets: list[tuple[str, str]] = field(default_factory=list)  # (data set, paragraph)
    calculus: list[str] = field(default_factory=list)  # SymPy expressions such as integrate(x*sin(x), x)
    graph_algos: list[tuple[str, str]] = field(default_factory=list)  # (function, summary)
    countries: list[str] = field(default_factory=list)
    codes: list[tuple[str, str]] = field(default_factory=list)  # (ISO code, country)
    cities: list[tuple[str, str]] = field(default_factory=list)  # (city, country)
    colors: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    file_types: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    read: list[str] = field(default_factory=list)  # what was found, for the record

    @classmethod
    def load(cls) -> _Corpora:
        c = cls()
        for loader in (
            c._info,
            c._docs,
            c._cmake,
            c._emails,
            c._sklearn,
            c._sympy,
            c._networkx,
            c._tz,
            c._small,
        ):
            with contextlib.suppress(OSError, ValueError, UnicodeError, IndexError, KeyError):
                loader()
        return c

    def _info(self) -> None:
        for path in sorted(glob.glob("/usr/share/info/*.info*.gz")):
            manual = Path(path).name.split(".info")[0]
            text = _read(Path(path), 1_500_000)
            kept = 0
            for node in text.split("\x1f"):
                head, _, body = node.lstrip("\n").partition("\n")
                m = re.search(r"Node: ([^,\n]+)", head)
                if not m:
                    continue
                title = m.group(1).strip()
                inv = re.fullmatch(r"(\S+) invocation", title)
                if inv:
                    self.commands.append((manual, inv.group(1)))
                for para in _prose(body)[:6]:
                    if kept < 700:
                        self.info.append((manual, title, para))
                        kept += 1
            if kept:
                self.read.append(path)

    def _docs(self) -> None:
        paths = sorted(glob.glob("/usr/share/doc/*/README*") + glob.glob("/usr/share/doc/*/NEWS*"))
        for path in paths:
            p = Path(path)
            low = p.name.lower()
            if "debian" in low or "changelog" in low or low.endswith((".html",
            ".htm")) or p.parent.name.startswith("git"):
                continue
            paras = _prose(_read(p, 120_000))[:30]
            self.docs.extend((p.parent.name, para) for para in paras)
        if self.docs:
            self.read.append("/usr/share/doc/*/README*, /usr/share/doc/*/NEWS*")

    def _cmake(self) -> None:
        for kind in ("command", "policy", "prop_tgt"):
            for path in sorted(glob.glob(f"/usr/share/cmake-*/Help/{kind}/*.rst")):
                name = Path(path).stem
                paras = _prose(_read(Path(path), 20_000), lo=50)
                if paras:
                    self.cmake.append((name, paras[0]))
        if self.cmake:
            self.read.append("/usr/share/cmake-*/Help/{command,policy,prop_tgt}/*.rst")

    def _emails(self) -> None:
        base = Path(sysconfig.get_paths()["stdlib"]) / "test" / "test_email" / "data"
        for path in sorted(base.glob("msg_*.txt")):
            msg = email.message_from_string(_read(path, 40_000))
            subject = str(msg.get("Subject", "") or "").strip()
            body = ""
            for part in msg.walk():
                if part.get_content_type() == "text/plain":
                    payload = part.get_payload()
                    if isinstance(payload, str) and payload.strip():
                        body = payload.strip()
                        break
            body = re.sub(r"\n{3,}", "\n\n", body)[:700]
            if len(body) > 20:
                self.emails.append((subject or "(no subject)", body))
        if self.emails:
            self.read.append(str(base / "msg_*.txt"))

    def _sklearn(self) -> None:
        base = _package_dir("sklearn")
        if base is None:
            return
        data = base / "datasets" / "data"
        for name, rows in (("iris.csv", self.iris), ("wine_data.csv", self.wine)):
            with contextlib.suppress(OSError), open(data / name, encoding="utf-8") as f:
                rows.extend(list(csv.reader(f))[1:])
                self.read.append(str(data / name))
        for path in sorted((base / "datasets" / "descr").glob("*.rst")):
            text = _read(path, 60_000)
            m = re.search(r"^([A-Z][^\n]{5,80})\n[-=~^]{5,}", text, re.M)
            title = m.group(1).strip() if m else path.stem.replace("_", " ")
            self.datasets.extend((title, p) for p in _prose(text)[:12])
        if self.datasets:
            self.read.append(str(base / "datasets" / "descr" / "*.rst"))

    def _sympy(self) -> None:
        base = _package_dir("sympy")
        if base is None:
            return
        names = "integrate|diff|limit|solve|factor|expand|apart|simplify|series|summation"
        call = re.compile(rf"^\s*>>> ((?:{names})\(.{{3,70}}\))$", re.M)
        allowed = {"integrate", "diff", "limit", "solve", "factor", "expand", "apart", "simplify", "series",
                   "summation", "sin", "cos", "tan", "exp", "log", "sqrt", "pi", "oo", "E", "x", "y", "z", "n", "k",
                   "t", "a", "b", "atan", "asin", "sinh", "cosh", "Rational", "S", "Abs"}
        seen: set[str] = set()
        for sub in ("integrals", "series", "solvers", "simplify", "polys", "concrete", "core", "calculus"):
            for path in sorted((base / sub).glob("*.py")):
                for m in call.finditer(_read(path, 600_000)):
                    expr = m.group(1)
                    if set(re.findall(r"[A-Za-z_]\w*", expr)) <= allowed and expr not in seen:
                        seen.add(expr)
                        self.calculus.append(expr)
        if self.calculus:
            self.read.append(str(base) + "/{integrals,series,solvers,...}/*.py (doctests)")

    def _networkx(self) -> None:
        base = _package_dir("networkx")
        if base is None:
            return
        doc = re.compile(r'\ndef ([a-z]\w+)\([^)]*\)[^:]*:\n\s+r?"""([A-Z][^\n]{15,110})\n')
        for path in sorted((base / "algorithms").rglob("*.py")):
            if "tests" in path.parts:
                continue
            for m in doc.finditer(_read(path)):
                self.graph_algos.append((m.group(1), m.group(2).strip()))
        if self.graph_algos:
            self.read.append(str(base / "algorithms" / "**" / "*.py") + " (docstrings)")

    def _tz(self) -> None:
        names: dict[str, str] = {}
        for line in _read(Path("/usr/share/zoneinfo/iso3166.tab")).splitlines():
            if line and not line.startswith("#") and "\t" in line:
                code, name = line.split("\t", 1)
                names[code] = name.strip()
        if not names:
            tzdir = _package_dir("tzdata")
            if tzdir is not None:
                for line in _read(tzdir / "zoneinfo" / "iso3166.tab").splitlines():
                    if line and not line.startswith("#") and "\t" in line:
                        code, name = line.split("\t", 1)
                        names[code] = name.strip()
        self.codes = sorted(names.items())
        self.countries = [n for _, n in self.codes]
        for line in _read(Path("/usr/share/zoneinfo/zone1970.tab")).splitlines():
            parts = line.split("\t")
            if line.startswith("#") or len(parts) < 3:
                continue
            city = parts[2].split("/")[-1].replace("_", " ")
            country = names.get(parts[0].split(",")[0], "")
            if country and city.isascii() and not city.startswith("GMT"):
                self.cities.append((city, country))
        if self.codes:
            self.read.append("/usr/share/zoneinfo/iso3166.tab, /usr/share/zoneinfo/zone1970.tab")

    def _small(self) -> None:
        seen: set[str] = set()
        for line in _read(Path("/usr/share/X11/rgb.txt")).splitlines():
            name = " ".join(line.split()[3:])
            if name and name.islower() and not any(ch.isdigit() for ch in name) and name not in seen:
                seen.add(name)
                self.colors.append(name)
        if self.colors:
            self.read.append("/usr/share/X11/rgb.txt")
        pyg = _package_dir("pygments")
        if pyg is not None:
            text = _read(pyg / "lexers" / "_mapping.py", 800_000)
            self.languages = sorted(set(re.findall(r"'\w+Lexer': \('[\w.]+', '([^']+)'", text)))
            if self.languages:
                self.read.append(str(pyg / "lexers" / "_mapping.py"))
        mime = _read(Path("/usr/share/mime/packages/freedesktop.org.xml"), 5_000_000)
        self.file_types = sorted(set(re.findall(r"^\s*<comment>([^<]{4,60})</comment>", mime, re.M)))
        if self.file_types:
            self.read.append("/usr/share/mime/packages/freedesktop.org.xml")
        hier = Path(sysconfig.get_paths()["stdlib"]) / "test" / "exception_hierarchy.txt"
        self.exceptions = sorted(set(re.findall(r"\b(\w+(?:Error|Exception))\b", _read(hier))))
        if self.exceptions:
            self.read.append(str(hier))
        tf = _package_dir("transformers")
        if tf is not None:
            with contextlib.suppress(OSError):
                self.models = sorted(
                    p.name
                    for p in (tf / "models").iterdir()
                    if p.is_dir() and p.name.isidentifier() and p.name[0] != "_"
                )
            if self.models:
                self.read.append(str(tf / "models") + " (folder names)")


# ----------------------------------------------------------------------------------------------------------------
# hand-written vocabulary

_VOCAB: dict[str, tuple[str, ...]] = {
    "dish": ("lasagna", "chicken curry", "banana bread", "pad thai", "chili", "risotto", "shakshuka", "beef stew",
             "pancakes", "sourdough bread", "fish tacos", "ramen", "lentil soup", "roast chicken", "fried rice",
             "mac and cheese", "falafel", "carbonara", "apple pie", "brownies", "paella", "a veggie stir fry",
             "a frittata", "guacamole", "pho", "meatballs", "granola", "cheesecake", "pizza dough",
             "salmon teriyaki", "chicken tikka masala", "dal", "bibimbap", "moussaka", "cornbread"),
    "ing": ("chickpeas", "spinach", "leftover rice", "eggs", "half a cabbage", "ground turkey", "feta",
            "sweet potatoes", "canned tomatoes", "tofu", "zucchini", "buttermilk", "frozen peas", "bell peppers",
            "coconut milk", "mushrooms", "a rotisserie chicken", "black beans", "quinoa", "ricotta",
            "overripe bananas", "kale", "shrimp", "lemons", "cheddar", "oats", "carrots", "a can of tuna",
            "greek yogurt", "puff pastry", "halloumi", "red lentils"),
    "diet": ("vegetarian", "vegan", "gluten-free", "low-carb", "dairy-free", "high-protein", "kid-friendly",
             "cheap", "low-FODMAP", "nut-free"),
    "flaw": ("dry", "soggy", "too salty", "bland", "dense", "burnt on the bottom", "gummy", "watery"),
    "weekday": ("Friday", "Saturday", "Sunday", "Thanksgiving", "New Year's Eve", "my kid's birthday"),
    "month": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
              "November", "December"),
    "companions": ("a toddler", "my elderly parents", "a dog", "a wheelchair user", "three teenagers",
                   "a big group of friends"),
    "distance": ("5K", "10K", "half marathon", "marathon"),
    "exercise": ("push-ups", "planks", "squats", "yoga", "running", "pull-ups", "cycling", "deadlifts",
                 "swimming", "jump rope"),
    "body": ("knee", "lower back", "shoulder", "wrist", "calf", "hip", "neck"),
    "debt": ("student loan at 5%", "car loan at 7%", "credit card balance", "mortgage at 3.2%",
             "personal loan from my bank"),
    "problem": ("leaky faucet", "running toilet", "squeaky door", "clogged bathroom sink",
                "breaker that keeps tripping", "cracked bathroom tile", "stuck window", "drafty front door",
                "wobbly ceiling fan", "dripping shower head", "hole in drywall"),
    "room": ("bedroom", "home office", "nursery", "kitchen", "bathroom", "living room", "hallway"),
    "chore": ("clean my dryer vent", "change the furnace filter", "descale the kettle", "flip my mattress",
              "clean the gutters", "wash pillows", "clean the dishwasher filter", "defrost the freezer"),
    "pet": ("dog", "puppy", "cat", "kitten", "rabbit", "parrot", "guinea pig"),
    "behavior": ("barking at night", "scratching the couch", "chewing shoes", "not eating much",
                 "pulling on the leash", "peeing outside the litter box", "biting my hands", "waking me at 5am"),
    "petfood": ("grapes", "peanut butter", "cheese", "onions", "watermelon", "cooked bones", "avocado",
                "plain rice"),
    "breed": ("border collie", "husky", "golden retriever", "maine coon", "french bulldog", "beagle", "ragdoll",
              "dachshund", "greyhound", "bengal cat"),
    "plant": ("tomatoes", "garlic", "tulip bulbs", "basil", "potatoes", "strawberries", "lettuce", "peppers",
              "a fiddle leaf fig", "a monstera", "hydrangeas", "blueberries", "zucchini"),
    "leafcolor": ("yellow", "brown at the edges", "white and powdery", "purple underneath", "curly"),
    "facing": ("north", "south", "east", "west"),
    "doc": ("short email", "text message", "letter", "toast", "thank-you note", "complaint"),
    "recipient": ("landlord", "boss", "neighbour", "kid's teacher", "team", "best friend", "HOA",
                  "insurance company"),
    "subject": ("a broken heater", "taking next Friday off", "the noise at night", "a missed deadline",
                "their wedding", "a refund I'm owed", "a parking dispute", "a late rent payment"),
    "relation": ("roommate", "coworker", "sister", "friend", "partner", "dad", "mother-in-law"),
    "issue": ("I can't lend them money", "they need to clean up more", "I'm not coming to the party",
              "their music is too loud", "I need more space", "they keep borrowing my car"),
    "hobby": ("hiking", "baking", "chess", "gardening", "video games", "jazz", "fishing", "knitting",
              "photography", "board games"),
    "device": ("laptop", "iPhone", "Android phone", "printer", "router", "smart TV", "Bluetooth headphones",
               "smartwatch", "tablet", "Chromebook"),
    "devproblem": ("connect to wifi", "turn on", "charge past 80%", "pair", "update", "stop restarting",
                   "stay connected", "recognise my fingerprint"),
    "job": ("data analyst", "nurse", "software engineer", "product manager", "teacher", "UX designer",
            "electrician", "accountant", "barista", "marketing coordinator", "paralegal", "physiotherapist"),
    "skill": ("Spanish", "guitar", "SQL", "drawing", "public speaking", "touch typing", "chess", "Excel",
              "piano", "photography", "Japanese", "sewing"),
    "business": ("coffee shop", "dog-grooming business", "bakery", "bike repair shop", "yoga studio",
                 "bookkeeping service", "food truck", "plant nursery", "tattoo studio", "cleaning company"),
    "topic": ("the first snow of winter", "moving to a new city", "my grandmother's kitchen",
              "a rainy Monday", "the ocean at night", "friendship", "starting over", "an old dog",
              "the last day of school", "coffee"),
    "animal": ("hedgehog", "little dragon", "penguin", "fox", "sleepy bear", "robot", "octopus", "owl"),
    "does": ("is afraid of the dark", "wants to learn to fly", "lost its favourite blanket",
             "makes a new friend", "can't fall asleep", "goes to the moon"),
    "news": ("my new job", "our product launch", "a promotion", "finishing my degree",
             "our company's tenth anniversary", "a new partnership"),
    "blogtopic": ("remote work burnout", "budget travel in Europe", "composting in an apartment",
                  "learning to code after 40", "minimalist living", "the best hiking boots"),
    "lib": ("pandas", "requests", "lodash", "numpy", "boost", "Jackson", "serde", "axios"),
    "tone": ("playful", "luxury", "minimal", "friendly", "technical", "eco-conscious"),
    "material": ("cotton", "linen", "merino wool", "recycled polyester", "leather", "bamboo", "ceramic",
                 "stainless steel", "oak", "glass", "silicone", "canvas"),
    "item": ("t-shirt", "throw blanket", "water bottle", "backpack", "coffee mug", "desk lamp", "yoga mat",
             "phone case", "tote bag", "cushion cover", "cutting board", "rain jacket", "beanie",
             "plant pot", "notebook", "sneakers", "wallet", "scarf"),
    "audience": ("students", "new parents", "runners", "remote workers", "gift shoppers", "campers"),
    "service": ("plumbing", "dentist", "wedding photography", "locksmith", "pet sitting", "roof repair",
                "tax preparation", "piano lessons", "HVAC repair", "moving company"),
    "lang_t": ("French", "German", "Spanish", "Italian", "Brazilian Portuguese", "Japanese", "Korean",
               "Simplified Chinese", "Dutch", "Polish", "Turkish", "Swedish", "Arabic", "Hindi",
               "Indonesian", "Vietnamese"),
    "name": ("Alice", "Bilal", "Chen", "Dara", "Emeka", "Farah", "Goran", "Hana", "Ines", "Jonas", "Keiko",
             "Luis", "Mira", "Nikhil", "Olga", "Priya", "Quinn", "Rosa", "Sami", "Tomas"),
    "merchant": ("STARBUCKS", "SHELL OIL", "AMZN MKTP", "UBER TRIP", "TRADER JOE'S", "NETFLIX.COM",
                 "WALGREENS", "CHIPOTLE", "HOME DEPOT", "SPOTIFY", "DELTA AIR", "CVS PHARMACY", "IKEA",
                 "APPLE.COM/BILL", "LYFT RIDE", "WHOLEFDS", "PLANET FITNESS", "COSTCO WHSE"),
    "role": ("Software Engineer", "Account Executive", "Recruiter", "Data Scientist", "Payroll Specialist",
             "Warehouse Associate", "Customer Success Manager", "Brand Designer", "Site Reliability Engineer",
             "Legal Counsel", "Procurement Analyst", "Community Manager", "Nurse Practitioner"),
    "seniority": ("Junior", "Senior", "Staff", "Lead", "Principal", "Associate", "Head of", "VP,", ""),
    "event": ("the French Revolution", "World War I", "the fall of the Berlin Wall", "the Great Depression",
              "the American Revolution", "the collapse of the Soviet Union", "the Cuban Missile Crisis",
              "the Industrial Revolution", "the Protestant Reformation"),
    "book": ("To Kill a Mockingbird", "1984", "Macbeth", "The Great Gatsby", "Of Mice and Men",
             "Pride and Prejudice", "Lord of the Flies", "Things Fall Apart", "Frankenstein", "The Crucible"),
    "biopair": ("mitosis and meiosis", "DNA and RNA", "prokaryotic and eukaryotic cells",
                "aerobic and anaerobic respiration", "innate and adaptive immunity", "arteries and veins",
                "genotype and phenotype", "osmosis and diffusion"),
    "compound": ("H2SO4", "C6H12O6", "NaHCO3", "Ca(OH)2", "KMnO4", "C2H5OH", "NH4NO3", "Fe2O3", "CuSO4",
                 "Mg3(PO4)2", "Al2(SO4)3", "CH3COOH"),
    "equation": ("Fe + O2 -> Fe2O3", "C3H8 + O2 -> CO2 + H2O", "Al + HCl -> AlCl3 + H2", "KClO3 -> KCl + O2",
                 "N2 + H2 -> NH3", "Cu + HNO3 -> Cu(NO3)2 + NO + H2O", "C2H6 + O2 -> CO2 + H2O"),
    "shelltask": ("find all files larger than 100MB", "replace a string in every .txt file in a folder",
                  "count lines of code in a project", "follow the last 50 lines of a log",
                  "sort a file by the third column numerically", "delete files older than 30 days",
                  "compare two directories", "resume a download that failed halfway",
                  "extract a .tar.gz into a specific folder", "get the size of each subdirectory",
                  "remove blank lines from a file", "print only the unique lines of a file",
                  "split a big CSV into smaller files", "check which process is using port 8080",
                  "base64-encode a file", "rename files to lowercase", "show a file's lines 100 to 200"),
    "task": ("read a CSV file and skip the header", "parse a JSON string into an object",
             "make an HTTP POST request with a JSON body", "sort a list of records by two keys",
             "remove duplicates from a list but keep the order", "read a file line by line",
             "format a date as ISO 8601", "run a function every 5 minutes",
             "write unit tests for a function that calls an API", "retry a request with exponential backoff",
             "hash a password securely", "connect to PostgreSQL with a connection pool",
             "stream a large file without loading it into memory", "parse command-line arguments",
             "merge two dictionaries", "find the most common element in a list",
             "read environment variables with defaults", "convert between time zones correctly",
             "deep copy a nested structure", "debounce a function", "paginate through a REST API",
             "validate an email address", "run a subprocess and capture its output", "zip a folder",
             "log to both a file and the console", "measure how long a function takes",
             "write a file atomically", "split a list into chunks of N", "cache the results of a slow function",
             "read a YAML config file", "upload a file to S3", "handle SIGTERM gracefully"),
    "agenttask": ("Add pagination to the /orders endpoint", "Fix the flaky test in test_billing.py",
                  "Rename the `user_id` field to `account_id` everywhere", "Add retries to the HTTP client",
                  "Upgrade the project to the latest pydantic", "Write tests for the invoice parser",
                  "Make the CSV export stream instead of building the whole file in memory",
                  "Add a --dry-run flag to the sync command", "Find out why the Docker build is so slow",
                  "Add input validation to the signup form", "Remove the deprecated v1 routes"),
    "mod": ("billing", "auth", "orders", "sync", "export", "users", "search", "notifications", "reports",
            "scheduler", "payments", "inventory"),
}

_POPULAR_LANGS = ("Python", "Python", "Python", "JavaScript", "TypeScript", "Go", "Rust", "Java", "C#", "C++", "Kotlin",
                  "Swift", "Ruby", "PHP", "Bash", "SQL", "Scala", "R", "Dart", "Elixir")

_DOMAINS: dict[str, tuple[str, ...]] = {
    "medicine": ("atrial fibrillation", "type 2 diabetes", "the renin-angiotensin system", "sepsis",
                 "asthma management", "how statins work", "anaphylaxis", "chronic kidney disease staging",
                 "hypothyroidism", "migraine prophylaxis", "the Glasgow Coma Scale", "iron-deficiency anaemia",
                 "antibiotic resistance", "pulmonary embolism", "the coagulation cascade", "heart failure",
                 "Crohn's disease", "ACE inhibitors", "insulin resistance", "the Frank-Starling law",
                 "osteoporosis", "vaccine adjuvants", "warfarin pharmacokinetics", "COPD exacerbations"),
    "law": ("consideration in contract law", "the doctrine of precedent", "negligence and the duty of care",
            "adverse possession", "habeas corpus", "the fair use doctrine", "strict liability", "Miranda rights",
            "mens rea", "promissory estoppel", "the GDPR's lawful bases for processing",
            "limited liability companies", "force majeure clauses", "the Fourth Amendment",
            "trademark dilution", "the parol evidence rule", "judicial review", "non-compete agreements",
            "the hearsay rule", "fiduciary duty"),
    "chemistry": ("Le Chatelier's principle", "orbital hybridization", "SN1 versus SN2 reactions",
                  "buffer solutions", "electronegativity", "the Haber process", "chirality", "Gibbs free energy",
                  "redox titration", "the aldol condensation", "VSEPR theory", "the ideal gas law",
                  "enzyme catalysis", "polymerization", "NMR spectroscopy", "crystal field theory",
                  "Raoult's law", "aromaticity", "rate laws", "electrochemical cells"),
    "physics": ("time dilation", "the photoelectric effect", "Maxwell's equations", "entropy",
                "quantum tunnelling", "Bernoulli's principle", "conservation of angular momentum",
                "the Doppler effect", "superconductivity", "the uncertainty principle", "Newton's third law",
                "black-body radiation", "Ohm's law", "standing waves", "nuclear fission", "the Carnot cycle",
                "the double-slit experiment", "Lagrangian mechanics", "band gaps in semiconductors",
                "gravitational waves"),
    "biology": ("CRISPR-Cas9", "the Krebs cycle", "meiosis", "natural selection", "the central dogma",
                "photosynthesis", "the immune response to viruses", "epigenetics", "mitochondrial DNA",
                "protein folding", "the action potential", "symbiosis", "the lac operon", "stem cells",
                "the nitrogen cycle", "apoptosis", "Hardy-Weinberg equilibrium", "horizontal gene transfer",
                "the gut microbiome", "circadian rhythms"),
    "economics": ("inflation targeting", "comparative advantage", "the Phillips curve", "quantitative easing",
                  "price elasticity of demand", "the Nash equilibrium", "moral hazard", "the tragedy of the commons",
                  "fiscal multipliers", "monopolistic competition", "purchasing power parity",
                  "the efficient market hypothesis", "marginal utility", "Pigouvian taxes", "the business cycle",
                  "loss aversion", "the Laffer curve", "minimum wage effects", "exchange-rate regimes",
                  "public goods"),
    "history": ("the fall of the Western Roman Empire", "the causes of World War I", "the French Revolution",
                "the Meiji Restoration", "the Industrial Revolution", "the Cold War arms race", "the Silk Road",
                "the Reformation", "decolonisation in Africa", "the decline of the Ottoman Empire",
                "the Great Depression", "the Mongol conquests", "the Florentine Renaissance",
                "the civil rights movement", "the partition of India", "the Byzantine Empire", "the Black Death",
                "the Peace of Westphalia", "the Haitian Revolution", "the Space Race"),
    "philosophy": ("Kant's categorical imperative", "utilitarianism", "the trolley problem", "Descartes' cogito",
                   "Plato's theory of forms", "existentialism", "the problem of induction", "virtue ethics",
                   "the mind-body problem", "social contract theory", "eternal recurrence",
                   "the ship of Theseus", "logical positivism", "the veil of ignorance",
                   "free will and determinism", "language games", "the Chinese room argument", "stoicism",
                   "epistemic justification", "moral relativism"),
    "psychology": ("cognitive dissonance", "classical conditioning", "the Dunning-Kruger effect",
                   "attachment theory", "working memory", "confirmation bias", "Maslow's hierarchy of needs",
                   "learned helplessness", "the bystander effect", "cognitive behavioural therapy",
                   "the Big Five personality traits", "flow", "anchoring bias", "the placebo effect",
                   "Piaget's stages of development", "impostor syndrome", "delay of gratification", "groupthink",
                   "neuroplasticity", "the Stanford prison experiment"),
    "computer science": ("dynamic programming", "the CAP theorem", "garbage collection",
                         "public-key cryptography", "B-trees", "the halting problem", "Raft consensus",
                         "TCP congestion control", "virtual memory", "hash table collision resolution",
                         "NP-completeness", "lock-free data structures", "register allocation", "the actor model",
                         "Bloom filters", "MapReduce", "self-attention in transformers", "gradient descent",
                         "two-phase commit", "the SOLID principles", "vector clocks", "copy-on-write",
                         "memoization", "REST versus gRPC"),
    "mathematics": ("eigenvalues and eigenvectors", "the fundamental theorem of calculus", "group theory",
                    "Bayes' theorem", "the central limit theorem", "Fourier series", "prime factorization",
                    "complex numbers", "mathematical induction", "Markov chains", "the pigeonhole principle",
                    "homeomorphisms", "linear regression", "Taylor series", "the Riemann hypothesis",
                    "modular arithmetic", "graph colouring", "Gödel's incompleteness theorems",
                    "Lagrange multipliers", "permutations and combinations"),
    "finance": ("discounted cash flow valuation", "the Black-Scholes model", "bond duration", "diversification",
                "leveraged buyouts", "short selling", "the yield curve", "the option greeks",
                "the capital asset pricing model", "dollar-cost averaging", "working capital", "EBITDA",
                "credit default swaps", "index funds", "the Sharpe ratio", "convertible bonds", "market making",
                "venture capital term sheets", "inflation-protected bonds", "margin calls"),
    "literature": ("the unreliable narrator", "magical realism", "the hero's journey", "iambic pentameter",
                   "stream of consciousness", "Romanticism", "dramatic irony", "the bildungsroman",
                   "modernist poetry", "symbolism in The Great Gatsby", "Shakespearean tragedy",
                   "the epistolary novel", "postcolonial literature", "allegory", "free verse", "the gothic novel",
                   "satire in Swift", "the sonnet", "catharsis in Greek tragedy", "minimalist fiction"),
    "music": ("the circle of fifths", "syncopation", "sonata form", "modal interchange", "the blues scale",
              "counterpoint", "equal temperament", "polyrhythm", "the history of jazz", "voice leading",
              "twelve-tone serialism", "chord inversions", "articulation", "the Baroque suite",
              "secondary dominants", "call and response", "timbre", "the origins of hip-hop", "cadences",
              "orchestration"),
    "nutrition and cooking": ("the glycemic index", "intermittent fasting", "omega-3 fatty acids",
                              "ketogenic diets", "lacto-fermentation", "the Maillard reaction", "dietary fibre",
                              "vitamin D deficiency", "protein digestibility", "emulsions in sauces",
                              "home canning safety", "gluten", "caffeine metabolism", "sourdough leavening",
                              "the Mediterranean diet", "sugar alcohols", "food allergies",
                              "sodium and blood pressure"),
    "engineering": ("PID controllers", "stress and strain", "the Reynolds number", "heat exchangers",
                    "finite element analysis", "reinforced concrete", "gear ratios", "the Nyquist rate",
                    "three-phase power", "fatigue failure", "lithium-ion battery chemistry", "truss design",
                    "tolerancing", "hydraulic systems", "thermal expansion", "Kalman filters",
                    "impedance matching", "welding metallurgy", "fault tree analysis"),
    "astronomy": ("stellar nucleosynthesis", "the Hubble constant", "exoplanet transits", "neutron stars",
                  "dark matter", "the cosmic microwave background", "tidal locking", "the Chandrasekhar limit",
                  "galaxy classification", "solar flares", "Kepler's laws", "gravitational lensing", "the Oort cloud",
                  "redshift", "supernova types", "the habitable zone", "event horizons", "the Drake equation"),
    "earth science": ("plate tectonics", "the water cycle", "El Niño", "the rock cycle", "ocean acidification",
                      "the greenhouse effect", "earthquake magnitude scales", "glaciation", "monsoons",
                      "soil horizons", "volcanic eruptions", "the carbon cycle", "ozone depletion",
                      "hurricane formation", "aquifers", "permafrost thaw", "the jet stream", "tsunamis"),
}

_ASPECTS = (
    "the definition and the core intuition", "how it works, step by step", "the most common misconceptions",
    "a fully worked example", "its historical development and key figures", "how it compares with related ideas",
    "real-world applications", "open questions and current research", "an explanation a 12-year-old could follow",
    "three exam-style questions with complete solutions", "the underlying assumptions and where they fail",
    "the quantitative details, with formulas where relevant",
)

_STARTERS = (
    "Why is the sky blue?", "How do airplanes stay in the air?", "Why do cats purr?", "How far away is the moon?",
    "What's the difference between weather and climate?", "Why do we dream?", "Is a tomato a fruit?",
    "How do vaccines work?", "Why is the ocean salty?", "How does a microwave heat food?",
    "What actually happens when you crack your knuckles?", "Why do onions make you cry?",
    "How many bones are in the human body?", "Why is Pluto not a planet anymore?",
    "How do noise-cancelling headphones work?",
    "Do goldfish really have a three-second memory?", "Why does time feel faster as you get older?",
    "How are rainbows formed?", "What's the fastest land animal?", "Why do leaves change colour in autumn?",
)

# Everyday subjects: first messages and follow-ups. {slot}s are filled from the vocabulary and the corpora.
_SUBJECTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "cooking": (
        ("What can I make for dinner with {ing}, {ing} and {ing}?", "How do I keep my {dish} from turning out {flaw}?",
         "Can I use {ing} instead of {ing} in {dish}?", "Give me a {diet} version of {dish} that serves {people}.",
         "How long does {dish} keep in the fridge?",
         "I'm hosting {people} people on {weekday}. Can you plan a menu around {dish}?",
         "what's an easy {diet} lunch i can meal prep for the week",
         "Why did my {dish} come out {flaw}? I followed the recipe."),
        ("What if I don't have an oven?", "Can I make it the day before?", "How do I scale that to {people} servings?",
         "Can it be less spicy? My kids are eating too.", "what wine goes with that",
         "Can you write the shopping list?",
         "thanks! and a dessert idea?", "I don't have {ing}, what can I use?", "How many calories is that roughly?"),
    ),
    "travel": (
        ("I'm going to {city} for {days} days in {month}. What should I not miss?",
         "Is {month} a good time to visit {country}?",
         "What's the easiest way to get from the airport to the centre of {city}?",
         "Help me plan a {days}-day trip to {country} on a budget of about ${amt}.",
         "What should I pack for {city} in {month}?",
         "Do I need a visa to visit {country} with a {country} passport?",
         "Any tips for travelling in {country} with {companions}?",
         "is {city} expensive? like how much for a coffee and a meal"),
        ("What about day trips from there?", "Where should we stay?", "Is it safe to walk around at night?",
         "What local food should I try?", "How much cash should I bring?", "Can you shorten it to {days} days?",
         "What's the weather like then?", "Is public transport easy to use?", "And if it rains all week?"),
    ),
    "fitness": (
        ("Make me a {weeks}-week plan to go from the couch to a {distance}.", "Is it okay to do {exercise} every day?",
         "What's a good warm-up before {exercise}?",
         "How much protein do I need if I weigh {kg} kg and lift {times} times a week?",
         "My {body} hurts after {exercise}. Should I rest or push through?",
         "Give me a {minutes}-minute workout I can do in a hotel room.",
         "how do i get better at {exercise}, i'm stuck"),
        ("Can you adjust it for a beginner?", "What if I only have {minutes} minutes?",
         "Should I stretch before or after?",
         "How many rest days should I take?", "What should I eat before?", "I'm {age}, does that change anything?"),
    ),
    "money": (
        ("How should I split a take-home pay of ${amt} a month?",
         "What's the difference between a Roth IRA and a traditional IRA?",
         "Is it better to pay off my {debt} or invest?",
         "Explain compound interest with ${amt} at {rate}% for {years} years.",
         "How do I build an emergency fund on a ${amt} a month salary?",
         "What should I check before signing a lease in {city}?",
         "Is it worth paying for a financial advisor at {age}?"),
        ("What if interest rates go up?", "Can you show that in a table?", "What are the tax implications?",
         "what would you do in my place", "And if I have ${amt} saved already?", "How long until I'm debt-free then?"),
    ),
    "home": (
        ("How do I fix a {problem}?", "Is {color} a good colour for a {room}?",
         "What colour curtains go with {color} walls?",
         "How often should I {chore}?", "How do I get mould off the silicone around my bathtub?",
         "My {room} is always cold. Cheap ways to fix that?", "What's the best way to hang a heavy mirror on drywall?"),
        ("What tools do I need?", "Should I just call someone?", "How much would a pro charge roughly?",
         "Is there a cheaper option?", "I'm renting, will my landlord care?", "ok I did that and it's still {flaw}"),
    ),
    "pets": (
        ("My {pet} keeps {behavior}. What can I do?", "Is it safe for a {pet} to eat {petfood}?",
         "What should I know before adopting a {breed}?", "How often should I take my {pet} to the vet?",
         "How do I introduce a new {pet} to my older {pet}?", "my {pet} ate {petfood}, should I be worried?"),
        ("How long until I see a difference?", "Should I see a vet?", "What about an older {pet}?",
         "We also have a toddler, anything to watch out for?", "What toys would help?"),
    ),
    "garden": (
        ("When should I plant {plant} in zone {zone}?", "Why are my {plant} leaves turning {leafcolor}?",
         "What grows well on a {facing}-facing balcony?", "How do I keep slugs off my {plant} without chemicals?",
         "Can I grow {plant} indoors under a cheap LED?"),
        ("what about pests?", "How often should I water?", "Should I use fertiliser?", "Can I do that in pots?"),
    ),
    "writing": (
        ("Can you help me write a {doc} to my {recipient} about {subject}?",
         "How do I politely tell my {relation} that {issue}?",
         "Write a birthday message for my {relation} who loves {hobby}.",
         "Can you proofread this: 'Hi, I wanted to follow up on my application for the {job} role, I havent heard "
         "back yet.'",
         "Help me write a short bio for a {business} website."),
        ("Make it shorter.", "Can it sound less formal?", "Add a bit of humour.", "Make it sound more confident.",
         "perfect, can you translate it to {lang_t}?", "Too long, 3 sentences max.",
         "Can you give me two other versions?"),
    ),
    "tech": (
        ("My {device} won't {devproblem}. Any ideas?", "How do I free up space on my {device}?",
         "What does it mean when a file is a {file_type}? How do I open it?",
         "Is it worth upgrading my {device} this year?",
         "How do I back up my {device} before I reset it?", "my {device} is super slow since the last update"),
        ("I tried that and it didn't help.", "Where is that setting?", "Is it worth getting it repaired?",
         "It's a few years old if that matters.", "ok that worked, thanks!"),
    ),
    "career": (
        ("How do I prepare for a {job} interview?", "Should I learn {plang} or {plang} first?",
         "What's a realistic salary for a {job} in {city}?", "Give me a {weeks}-week plan to learn {skill}.",
         "How do I ask my manager for a raise after {years} years?", "Is it too late to become a {job} at {age}?"),
        ("What resources do you recommend?", "How many hours a week is that?", "What if I don't get it?",
         "Can you make a practice question?", "What should I put on my CV for that?"),
    ),
    "curiosity": (
        (*_STARTERS, "What time zone is {city} in?", "What language do they speak in {country}?",
         "What's {country} famous for?", "What's the capital of {country}?", "Which country is {city} in?"),
        ("Interesting, why is that?", "Can you explain it like I'm five?", "Who figured that out?",
         "Is that still true today?", "Wait, really? Source?", "What's a fun fact about that?"),
    ),
}

_GENERIC_FOLLOWUPS = ("thanks!", "ok", "Can you say that more simply?", "go on", "Could you put that in a list?",
                      "hmm not sure that's right", "and what about the opposite case?", "Thanks, that helps a lot.")

_PRODUCTS: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("Ledgerly", "invoicing and bookkeeping app for freelancers",
     ("invoice", "client", "expense", "tax report", "recurring invoice"), ("Stripe", "QuickBooks", "Gmail")),
    ("Parcelpoint", "parcel delivery and tracking service",
     ("shipment", "pickup", "return label", "delivery address", "tracking number"), ("Shopify", "eBay", "WooCommerce")),
    ("Tunewave", "music streaming app", ("playlist", "download", "family plan", "podcast", "liked song"),
     ("Sonos", "Alexa", "Apple CarPlay")),
    ("FitLoop", "fitness tracker and coaching app", ("workout", "heart-rate chart", "sleep score", "watch strap",
     "streak"),
     ("Strava", "Apple Health", "Google Fit")),
    ("Nimbus Drive", "cloud storage service", ("shared folder", "file version", "storage plan", "sync client",
     "share link"),
     ("Slack", "Microsoft Office", "Dropbox")),
    ("Brightbank", "mobile bank", ("debit card", "transfer", "savings pot", "overdraft", "statement"),
     ("Apple Pay", "Google Pay", "PayPal")),
    ("StayNest", "vacation rental platform", ("booking", "host", "reservation", "review", "check-in code"),
     ("Google Calendar", "Airbnb", "Booking.com")),
    ("Cartwise", "online grocery delivery service", ("order", "substitution", "delivery slot", "coupon", "receipt"),
     ("Instacart", "Apple Pay", "Google Assistant")),
    ("Helio Home", "home solar and battery system", ("inverter", "battery", "panel", "energy dashboard",
     "export tariff"),
     ("Tesla app", "Home Assistant", "SmartThings")),
    ("Pagecraft", "website builder", ("domain", "template", "contact form", "SSL certificate", "blog post"),
     ("Mailchimp", "Google Analytics", "Stripe")),
    ("Quillnote", "note-taking app", ("notebook", "tag", "shared note", "handwritten page", "web clip"),
     ("Evernote", "Notion", "Google Drive")),
    ("Pawsure", "pet insurance provider", ("claim", "policy", "vet invoice", "deductible", "pre-existing condition"),
     ("Vetster", "PayPal", "Apple Wallet")),
    ("Voltride", "e-scooter rental service", ("ride", "unlock code", "parking zone", "wallet top-up", "ride pass"),
     ("Google Maps", "Apple Pay", "Uber")),
    ("ClinicLink", "appointment booking service for clinics", ("appointment", "reminder", "patient profile",
     "prescription refill", "video visit"),
     ("Google Calendar", "Outlook", "Epic MyChart")),
    ("Questforge", "online multiplayer game", ("account", "in-game purchase", "ban appeal", "server", "save file"),
     ("Steam", "Discord", "Xbox Live")),
    ("Tidyhome", "home cleaning booking app", ("cleaning", "cleaner rating", "recurring booking", "cancellation",
     "gift card"),
     ("Google Calendar", "Apple Pay", "Venmo")),
)

_SUPPORT_QUESTIONS = (
    "How do I delete a {obj}?", "I can't find my {obj} anymore, did it get deleted?",
    "Why was I charged twice this month? I'm on the {plan} plan.",
    "The app says error {code} when I try to add a {obj}.",
    "Can I export my {obj}s to {fmt}?", "Does {product} work with {integration}?", "How do I cancel my subscription?",
    "I want a refund for order {ordernum}", "How do I change the email on my account?", "is there a student discount",
    "my {obj} has been stuck on pending since yesterday", "Can I share a {obj} with my family?",
    "What's the difference between {plan} and {plan}?", "hello?", "I need to talk to a human",
    "It's been 3 days and nobody answered ticket {ordernum}", "the {obj} page is just blank on my phone",
    "How do I turn off notifications for {obj}s?", "Is my data safe with you?", "can I pay with PayPal",
    "I got logged out and the reset link doesn't work", "How do I add a second {obj}?",
)
_SUPPORT_FOLLOWUPS = (
    "I already tried that.", "it still doesn't work", "ok thanks", "Where is that on Android?",
    "Can you escalate this?",
    "That's not what I asked.", "How long will the refund take?", "my order number is {ordernum}",
    "It says error {code} again", "ok and if I'm on the {plan} plan?", "Great, that fixed it!",
)

_ELICIT_COT = (
    "Let's think step by step.", "Show all of your reasoning before giving the final answer.",
    "Reason through this carefully, step by step, and put the final answer on its own line.",
    "Think it through in detail first. Write out every intermediate step, then state the answer.",
    "Explain your reasoning at each step as if you were teaching it, then give the final answer in \\boxed{{}}.",
    "First lay out what is known, then work through the solution one step at a time, checking each step.",
)

# ----------------------------------------------------------------------------------------------------------------
# networks and agents

_RESIDENTIAL_FIRST = (24, 47, 50, 66, 67, 68, 69, 70, 71, 72, 73, 75, 76, 81, 82, 86, 90, 92, 96, 97, 98, 99, 108,
                      109, 142, 174, 176, 178, 184, 187, 188, 189, 201)
_CARRIER_FIRST = (172, 174, 166, 107, 100, 39, 37, 31)
_UNIVERSITY_FIRST = (128, 129, 130, 131, 132, 137, 140, 141, 152, 155, 171)
_OFFICE_FIRST = (38, 63, 64, 65, 74, 104, 199, 204, 206, 208, 209, 216, 12, 62, 80, 83, 85, 91, 193, 212, 213, 217)
_CLOUDS: dict[str, tuple[int, ...]] = {
    "aws": (3, 13, 18, 35, 44, 52, 54),
    "gcp": (34, 35, 104),
    "azure": (13, 20, 40, 52),
    "do": (134, 138, 159, 161, 164, 167),
    "hetzner": (5, 49, 88, 95, 116, 135, 138),
    "ovh": (51, 54, 141, 145, 151),
    "alibaba": (8, 47, 39, 149),
}


def _browser(rng: random.Random) -> str:
    v = rng.randint(118, 131)
    return rng.choice((
        f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 "
        "Safari/537.36",
        f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 "
        "Safari/537.36",
        f"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36",
        f"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0",
        f"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_{rng.randint(0, 6)}) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        f"Version/17.{rng.randint(0, 6)} Safari/605.1.15",
        f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 "
        f"Safari/537.36 Edg/{v}.0.0.0",
    ))


def _mobile(rng: random.Random) -> str:
    ios = f"{rng.randint(16, 18)}_{rng.randint(0, 6)}"
    return rng.choice((
        f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.4 Mobile/15E148 Safari/604.1",
        f"Mozilla/5.0 (Linux; Android {rng.randint(11, 15)}; Pixel {rng.randint(5, 9)}) AppleWebKit/537.36 (KHTML, "
        f"like Gecko) Chrome/{rng.randint(118, 131)}.0.0.0 Mobile Safari/537.36",
        f"Mozilla/5.0 (Linux; Android {rng.randint(11, 15)}; SM-S9{rng.randint(0, 2)}{rng.randint(1, 8)}B) "
        f"AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{rng.randint(118, 131)}.0.0.0 Mobile Safari/537.36",
        f"AskPal/{rng.randint(3, 5)}.{rng.randint(0, 19)}.{rng.randint(0, 9)} (iPhone; iOS {ios.replace('_', '.')}; "
        "Scale/3.00)",
        f"AskPal/{rng.randint(3, 5)}.{rng.randint(0, 19)}.{rng.randint(0, 9)} (Android {rng.randint(11, 15)})",
        f"okhttp/4.{rng.randint(9, 12)}.0",
        f"Dalvik/2.1.0 (Linux; U; Android {rng.randint(11, 15)}; SM-A{rng.randint(13, 55)}5F Build/UP1A.231005.007)",
    ))


def _sdk(rng: random.Random) -> str:
    return rng.choice((
        f"OpenAI/Python 1.{rng.randint(30, 59)}.{rng.randint(0, 6)}",
        f"OpenAI/Python 1.{rng.randint(30, 59)}.{rng.randint(0, 6)}",
        f"AsyncOpenAI/Python 1.{rng.randint(30, 59)}.{rng.randint(0, 6)}",
        f"OpenAI/JS 4.{rng.randint(40, 77)}.{rng.randint(0, 3)}",
        f"python-requests/2.{rng.randint(28, 32)}.{rng.randint(0, 3)}",
        f"python-httpx/0.2{rng.randint(4, 8)}.{rng.randint(0, 2)}",
        f"aiohttp/3.{rng.randint(8, 10)}.{rng.randint(0, 5)}",
        "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
        f"axios/1.{rng.randint(5, 7)}.{rng.randint(0, 9)}",
        "Go-http-client/2.0",
        f"curl/8.{rng.randint(1, 10)}.{rng.randint(0, 1)}",
        f"Java-http-client/{rng.choice(('11.0.22', '17.0.10', '21.0.2'))}",
        f"Faraday v2.{rng.randint(7, 9)}.{rng.randint(0, 3)}",
    ))


@dataclass
class _Org:
    """A company or university: an office NAT shared by its people and a cloud egress shared by its products."""

    office: str  # a /24 prefix "a.b.c"
    office_hosts: list[int]
    cloud: str
    cloud_hosts: list[int]
    sdk: str
    products: int = 0


# ----------------------------------------------------------------------------------------------------------------
# the generator


class _Gen:
    def __init__(self, rng: random.Random, corpora: _Corpora, scale: float, ordinary: int) -> None:
        self.rng = rng
        self.c = corpora
        self.scale = scale
        self.names: set[str] = set()
        self.force = 0  # when set, the volume every ordinary builder gets
        self.carriers = [self._prefix(rng.choice(_CARRIER_FIRST)) for _ in range(max(6, ordinary // 50))]
        self.companies = [self._org(_OFFICE_FIRST) for _ in range(max(6, ordinary // 14))]
        self.universities = [self._org(_UNIVERSITY_FIRST) for _ in range(max(3, ordinary // 70))]
        self.concepts = self._coverage()
        self.slots: dict[str, Callable[[], str]] = {
            "people": lambda: str(rng.choice((2, 4, 6, 8, 10, 12, 20))),
            "days": lambda: str(rng.randint(2, 14)),
            "weeks": lambda: str(rng.choice((4, 6, 8, 10, 12, 16))),
            "minutes": lambda: str(rng.choice((10, 15, 20, 25, 30, 45))),
            "amt": lambda: f"{rng.randint(8, 90) * 100:,}",
            "kg": lambda: str(rng.randint(48, 115)),
            "times": lambda: str(rng.randint(2, 6)),
            "rate": lambda: str(rng.choice((3, 4, 5, 6, 7, 8))),
            "years": lambda: str(rng.randint(2, 30)),
            "age": lambda: str(rng.randint(19, 67)),
            "zone": lambda: f"{rng.randint(3, 10)}{rng.choice('ab')}",
            "code": lambda: f"{rng.choice(('E', 'ERR-', 'X', ''))}{rng.randint(100, 9999)}",
            "ordernum": lambda: f"#{rng.randint(10_000, 9_999_999)}",
            "fmt": lambda: rng.choice(("CSV", "PDF", "Excel", "JSON", "Google Sheets")),
            "plan": lambda: rng.choice(("Free", "Basic", "Plus", "Pro", "Premium", "Family", "Business")),
            "city": lambda: self.city()[0],
            "country": lambda: self.country(),
            "color": lambda: self.color(),
            "file_type": lambda: rng.choice(self.c.file_types) if self.c.file_types else "HEIC image",
            "bignum": lambda: f"{rng.choice((2, 5, 10, 40))} million",
            "exception": lambda: self.exception(),
            "plang": lambda: self.language(),
        }

    # --- identities -------------------------------------------------------------------------------------------

    def key(self) -> str:
        while True:
            name = f"sk-{self.rng.getrandbits(80):020x}"
            if name not in self.names:
                self.names.add(name)
                return name

    def _prefix(self, first: int) -> str:
        return f"{first}.{self.rng.randint(0, 255)}.{self.rng.randint(0, 255)}"

    def _org(self, firsts: tuple[int, ...]) -> _Org:
        rng = self.rng
        cloud = rng.choice(list(_CLOUDS))
        return _Org(
            office=self._prefix(rng.choice(firsts)),
            office_hosts=[rng.randint(2, 254) for _ in range(rng.randint(1, 3))],
            cloud=self._prefix(rng.choice(_CLOUDS[cloud])),
            cloud_hosts=[rng.randint(2, 254) for _ in range(rng.randint(1, 2))],
            sdk=_sdk(rng),
        )

    def home_ip(self) -> str:
        return f"{self._prefix(self.rng.choice(_RESIDENTIAL_FIRST))}.{self.rng.randint(2, 254)}"

    def mobile_ip(self) -> str:
        return f"{self.rng.choice(self.carriers)}.{self.rng.randint(1, 254)}"

    def company(self) -> _Org:
        # a few companies run many products: weight by a Zipf-like law over the list
        n = len(self.companies)
        return self.companies[min(n - 1, int(n * self.rng.random() ** 2.2))]

    def office_ip(self, org: _Org) -> str:
        return f"{org.office}.{self.rng.choice(org.office_hosts)}"

    def egress_ip(self, org: _Org) -> str:
        return f"{org.cloud}.{self.rng.choice(org.cloud_hosts)}"

    def cloud_ip(self, provider: str | None = None) -> str:
        prov = provider or self.rng.choice(list(_CLOUDS))
        return f"{self._prefix(self.rng.choice(_CLOUDS[prov]))}.{self.rng.randint(2, 254)}"

    def person_net(self, p_mobile: float = 0.3) -> tuple[str, str]:
        """A consumer's address and agent."""
        if self.rng.random() < p_mobile:
            return self.mobile_ip(), _mobile(self.rng)
        return self.home_ip(), _browser(self.rng) if self.rng.random() < 0.85 else _mobile(self.rng)

    # --- volumes ----------------------------------------------------------------------------------------------

    def volume(self, median: float, lo: int, hi: int, sigma: float = 0.8) -> int:
        if self.force:
            return self.force
        v = min(float(hi), max(float(lo), self.rng.lognormvariate(math.log(median), sigma)))
        return max(5, int(v * self.scale))

    def attack_volume(self) -> int:
        return int(max(64, int(600 * self.scale)) * self.rng.uniform(0.85, 1.2))

    # --- vocabulary -------------------------------------------------------------------------------------------

    def city(self) -> tuple[str, str]:
        if self.c.cities:
            return self.rng.choice(self.c.cities)
        return self.rng.choice((("Lisbon", "Portugal"), ("Osaka", "Japan"), ("Denver", "United States"),
                                ("Nairobi", "Kenya"), ("Toronto", "Canada"), ("Berlin", "Germany")))

    def country(self) -> str:
        if self.c.countries:
            return self.rng.choice(self.c.countries)
        return self.rng.choice(("Portugal", "Japan", "Mexico", "Kenya", "Canada", "Vietnam", "Peru", "Norway"))

    def color(self) -> str:
        if self.c.colors:
            return self.rng.choice(self.c.colors)
        return self.rng.choice(("sage green", "navy blue", "terracotta", "off white", "charcoal", "mustard"))

    def exception(self) -> str:
        if self.c.exceptions:
            return self.rng.choice(self.c.exceptions)
        return self.rng.choice(("KeyError", "TypeError", "ValueError", "ConnectionResetError", "RecursionError"))

    def language(self) -> str:
        if self.c.languages and self.rng.random() < 0.15:
            return self.rng.choice(self.c.languages)
        return self.rng.choice(_POPULAR_LANGS)

    def slot(self, m: re.Match[str]) -> str:
        name = m.group(1)
        if name in _VOCAB:
            return self.rng.choice(_VOCAB[name])
        fn = self.slots.get(name)
        return fn() if fn is not None else m.group(0)

    def fill(self, template: str) -> str:
        return re.sub(r"\{(\w+)\}", self.slot, template)

    def para(self) -> str:
        """A paragraph from any prose corpus (manuals, READMEs, CMake help, data-set descriptions)."""
        pools: list[list[str]] = []
        if self.c.info:
            pools.append([p for _, _, p in self.c.info])
        if self.c.docs:
            pools.append([p for _, p in self.c.docs])
        if self.c.cmake:
            pools.append([p for _, p in self.c.cmake])
        if self.c.datasets:
            pools.append([p for _, p in self.c.datasets])
        if not pools:
            return self.fill(self.rng.choice(_FALLBACK_PARAS))
        return self.rng.choice(self.rng.choice(pools))

    def _coverage(self) -> list[tuple[str, str]]:
        """Every (domain, concept) an extraction attacker might sweep."""
        out = [(d, c) for d, cs in _DOMAINS.items() for c in cs]
        c = self.c
        out += [("Unix command-line tools", f"the {cmd} command ({manual})") for manual, cmd in c.commands]
        out += [("build systems", f"CMake's {name}") for name, _ in c.cmake[:400]]
        out += [("graph algorithms", f"{name.replace('_', ' ')} (networkx.{name})") for name, _ in c.graph_algos]
        out += [("world geography", country) for country in c.countries]
        out += [("machine learning", f"the {m.replace('_', '-')} model family") for m in c.models]
        out += [("file formats", f"the {t} format") for t in c.file_types[:300]]
        out += [("programming languages", f"the {lang} programming language") for lang in c.languages[:300]]
        return out

    def concept(self) -> tuple[str, str]:
        # attackers weight the hand-written academic domains and the corpus-derived ones about equally
        if self.rng.random() < 0.55:
            d = self.rng.choice(list(_DOMAINS))
            return d, self.rng.choice(_DOMAINS[d])
        return self.rng.choice(self.concepts)

    # --- problems ---------------------------------------------------------------------------------------------

    def math_problem(self) -> str:
        rng = self.rng
        kind = rng.randrange(16)
        a, b, c = rng.randint(2, 12), rng.randint(1, 40), rng.randint(1, 90)
        if kind == 0:
            return f"Solve for x: {a}x + {b} = {a * rng.randint(-9, 15) + b}"
        if kind == 1:
            r1, r2 = rng.randint(-9, 9), rng.randint(-9, 9)
            k = rng.choice((1, 1, 2, 3))
            lead = "" if k == 1 else str(k)
            mid = f" + {-k * (r1 + r2)}x" if r1 + r2 else ""
            const = f" + {k * r1 * r2}" if r1 * r2 else ""
            return f"Solve {lead}x^2{mid}{const} = 0".replace("+ -", "- ")
        if kind == 2:
            x, y = rng.randint(-6, 9), rng.randint(-6, 9)
            d, e = rng.randint(1, 7), rng.randint(1, 7)
            return f"Solve the system: {a}x + {b}y = {a * x + b * y}, {d}x - {e}y = {d * x - e * y}"
        if kind == 3:
            return (f"A jacket costs ${rng.randint(40, 300)}. It is discounted by "
                    f"{rng.choice((10, 15, 20, 25, 30, 40))}% "
                    f"and then {rng.choice((5, 6, 7, 8, 9))}% sales tax is added. What is the final price?")
        if kind == 4:
            city, _ = self.city()
            return (f"A train leaves {city} at {rng.randint(6, 11)}:00 travelling at {rng.randint(60, 140)} km/h. "
                    f"A second train leaves {rng.randint(1, 3)} hours later on the same track at "
                    f"{rng.randint(90, 200)} km/h. "
                    "When and where does the second train catch up?")
        if kind == 5:
            n1, d1 = rng.randint(3, 12), rng.randint(4, 30)
            n2 = n1 + rng.randint(1, 9)
            return f"If {n1} workers can build a wall in {d1} days, how many days would {n2} workers take?"
        if kind == 6:
            s1, s2 = rng.randint(5, 15), rng.randint(5, 15)
            s3 = rng.randint(abs(s1 - s2) + 1, s1 + s2 - 1)
            return f"Find the area of a triangle with sides {s1}, {s2} and {s3}."
        if kind == 7:
            f = rng.choice(("x^3 sin(x)", "e^(2x) cos(x)", "ln(x^2 + 1)", "sqrt(3x + 1)", "(x^2 + 1)/(x - 2)",
                            "x^x", "tan(x)^2", "arctan(2x)", f"{a}x^4 - {b}x^2 + {c}", "sin(x)cos(x)"))
            return f"Find the derivative of f(x) = {f}"
        if kind == 8 and self.c.calculus:
            return f"Compute {rng.choice(self.c.calculus).replace('**', '^')}"
        if kind == 8:
            return f"Evaluate the integral of x^{rng.randint(2, 5)} e^x dx"
        if kind == 9:
            return f"Two fair dice are rolled. What is the probability that the sum is {rng.randint(2, 12)}?"
        if kind == 10:
            r, bl = rng.randint(2, 9), rng.randint(2, 9)
            return (f"A bag has {r} red and {bl} blue marbles. Two are drawn without replacement. "
                    "What is the probability that both are red?")
        if kind == 11:
            nums = ", ".join(str(rng.randint(1, 60)) for _ in range(rng.randint(6, 11)))
            return f"Find the mean, median and standard deviation of: {nums}"
        if kind == 12:
            v = rng.randint(5, 40)
            return f"A ball is thrown straight up at {v} m/s. How high does it go and how long is it in the air?"
        if kind == 13:
            return (f"A {rng.randint(2, 80)} kg cart is pushed with a force of {rng.randint(10, 400)} N against "
                    f"{rng.randint(1, 9)} N of friction. What is its acceleration?")
        if kind == 14:
            return f"Calculate the molar mass of {rng.choice(_VOCAB['compound'])}."
        return f"Balance the chemical equation: {rng.choice(_VOCAB['equation'])}"

    def logic_problem(self) -> str:
        rng = self.rng
        names = rng.sample(_VOCAB["name"], 5)
        kind = rng.randrange(4)
        if kind == 0:
            order = names[:]
            rng.shuffle(order)
            clues = [f"{order[i]} finished before {order[j]}." for i, j in ((0, 2), (1, 3), (2, 4), (0, 1), (3, 4))]
            rng.shuffle(clues)
            return (f"Five runners, {', '.join(names[:4])} and {names[4]}, finished a race with no ties. "
                    + " ".join(clues[:4]) + f" {order[rng.randint(0, 4)]} did not finish last. Who finished third?")
        if kind == 1:
            a, b = names[:2]
            st = rng.choice((f"'{b} is a knave.'", "'We are both knights.'", 'At least one of us is a knave.',
                             f"'{b} and I are of the same kind.'"))
            return (f"On an island, knights always tell the truth and knaves always lie. {a} says {st} "
                    f"{b} says '{a} is a {rng.choice(('knight', 'knave'))}.' What are {a} and {b}?")
        if kind == 2:
            letters = "ABCDEFG"[: rng.randint(5, 7)]
            edges = sorted({(letters[i], letters[j]) for i in range(len(letters)) for j in range(i + 1, len(letters))
                            if j == i + 1 or rng.random() < 0.4})
            desc = ", ".join(f"{u}-{v} ({rng.randint(1, 12)})" for u, v in edges)
            return f"Find the shortest path from A to {letters[-1]} in the weighted graph with edges {desc}."
        xs = [rng.randint(-5, 20) for _ in range(rng.randint(4, 7))]
        k = rng.randint(2, 4)
        word = rng.choice(_VOCAB["name"]).lower() + rng.choice(_VOCAB["hobby"]).replace(" ", "")
        snippet = rng.choice((
            f"def f(xs):\n    total = 0\n    for i, x in enumerate(xs):\n        if x % {k} == 0:\n            "
            f"total += x * i\n    return total\n\nprint(f({xs}))",
            f"xs = {xs}\nys = [x * x for x in xs if x > {k}]\nprint(sum(ys) - len(ys))",
            f"def g(n):\n    return n if n < {k + 1} else g(n - 1) + g(n - {k})\n\nprint(g({rng.randint(5, 11)}))",
            f"s = '{word}'\nprint(s[::{k}], s.count('{rng.choice('aeio')}'))",
        ))
        return f"What does this Python code print?\n\n```python\n{snippet}\n```"

    def problem(self) -> str:
        return self.math_problem() if self.rng.random() < 0.65 else self.logic_problem()


_FALLBACK_PARAS = (
    "Our {item} is made from {material} and ships in recyclable packaging. It is designed for {audience} who want "
    "something durable, easy to clean and good-looking enough to leave out on the counter.",
    "The quarterly review showed that customer tickets about {mod} rose sharply after the last release, while "
    "response times stayed flat. The team proposes a dedicated rotation and a new help-centre article.",
    "To reset the device, hold the power button for ten seconds until the light blinks {color}, then release it and "
    "wait for the chime. Your settings are kept, but paired devices have to be paired again.",
)


def _convo(first: str, follows: list[str], sys: bool) -> list[Turn]:
    """A conversation's requests: the k-th user message sends 2k+1 messages, plus the system prompt."""
    base = 1 if sys else 0
    return [(text, base + 2 * k + 1) for k, text in enumerate([first, *follows])]


def _trim(turns: list[Turn], n: int) -> list[Turn]:
    return turns[:n]


def _plan(name: str, family: str, attacker: bool, turns: list[Turn], network: str, ua: str, *, outputs: str = "label",
          ring: str = "", instructions: str = "") -> ClientPlan:
    return ClientPlan(
        name=name,
        family=family,
        attacker=attacker,
        texts=[t for t, _ in turns],
        outputs=outputs,
        network=network,
        user_agent=ua,
        ring=ring,
        turns=[k for _, k in turns],
        instructions=instructions,
    )


# ----------------------------------------------------------------------------------------------------------------
# ordinary profiles


def _conversations(g: _Gen, n: int, subjects: list[str], sys: bool, max_follow: int = 5) -> list[Turn]:
    out: list[Turn] = []
    while len(out) < n:
        subj = g.rng.choice(subjects)
        starts, follows = _SUBJECTS[subj]
        k = min(max_follow, int(g.rng.expovariate(0.7)))
        fl = [g.fill(g.rng.choice(follows + _GENERIC_FOLLOWUPS if g.rng.random() < 0.3 else follows)) for _ in range(k)]
        out += _convo(g.fill(g.rng.choice(starts)), fl, sys)
    return _trim(out, n)


def _chatter(g: _Gen) -> ClientPlan:
    subjects = g.rng.sample(list(_SUBJECTS), g.rng.randint(2, 4))
    net, ua = g.person_net(0.35)
    sys = g.rng.random() < 0.15
    instructions = g.rng.choice(("You are a friendly, concise assistant.", "Answer briefly. Use metric units.",
                                 "You are a helpful assistant.")) if sys else ""
    return _plan(g.key(), "chatter", False, _conversations(g, g.volume(70, 10, 900), subjects, sys, 7), net, ua,
                 instructions=instructions)


def _casual(g: _Gen) -> ClientPlan:
    subjects = g.rng.sample(list(_SUBJECTS), g.rng.randint(3, 7))
    net, ua = g.person_net(0.6)
    return _plan(g.key(), "casual", False, _conversations(g, g.volume(18, 5, 120), subjects, False, 1), net, ua)


_DEV_TEMPLATES = (
    "How do I {task} in {plang}?", "What's the idiomatic way to {task} in {plang}?",
    "Write a {plang} function to {task}.",
    "In {plang}, how would you {task}? I'd rather avoid extra dependencies.",
    "I'm getting a {exception} when I try to {task} in Python. What usually causes that?",
    "How do I {shelltask} from the command line?", "bash one-liner to {shelltask}?",
    "Is there a difference between doing this with {lib} and with the standard library?",
)


def _dev_question(g: _Gen) -> str:
    rng, c = g.rng, g.c
    r = rng.random()
    if r < 0.5 or not (c.info or c.cmake or c.graph_algos):
        return g.fill(rng.choice(_DEV_TEMPLATES))
    if r < 0.65 and c.info:
        manual, node, para = rng.choice(c.info)
        return rng.choice((
            f"The {manual} manual says this under '{node}', can you explain it with an example?\n\n{para}",
            f"What does this mean in practice? (from the {manual} docs)\n\"{para}\"",
            f"How do I use {node} in {manual}? I read the docs but don't get it.",
        ))
    if r < 0.78 and c.cmake:
        name, para = rng.choice(c.cmake)
        other, _ = rng.choice(c.cmake)
        return rng.choice((
            f"In CMake, when should I use {name} and when {other}?",
            f"CMake docs for {name} say: \"{para}\" Can you show a minimal CMakeLists.txt using it?",
            f"My build broke after I added {name} to CMakeLists.txt. What's the correct usage?",
        ))
    if r < 0.9 and c.graph_algos:
        name, summary = rng.choice(c.graph_algos)
        return rng.choice((
            f"Which networkx function should I use for this: {summary[0].lower() + summary[1:]}",
            f"What's the time complexity of networkx.{name} and is it OK for a graph with a million edges?",
            f"Can you show an example of networkx.{name} on a small graph?",
        ))
    if c.file_types:
        return f"How can I check whether an uploaded file is really a {rng.choice(c.file_types)} in {g.language()}?"
    return g.fill(rng.choice(_DEV_TEMPLATES))


_DEV_FOLLOWUPS = (
    "That raises {exception}: can you fix it?", "ok it works but it's slow on {bignum} rows. Faster way?",
    "Can you add type hints?", "How would I test that?", "what about on Windows?",
    "Can you do it without {lib}?", "Explain the second line.", "It works, thanks. How would it look in {plang}?",
    "I'm on an older version, is there an alternative?", "Can you make it async?",
)


def _developer(g: _Gen) -> ClientPlan:
    rng = g.rng
    if rng.random() < 0.6:
        org = rng.choice(g.companies + g.universities)
        net, ua = g.office_ip(org), org.sdk if rng.random() < 0.6 else _sdk(rng)
    else:
        net, ua = g.home_ip(), _sdk(rng) if rng.random() < 0.7 else _browser(rng)
    n = g.volume(160, 15, 2500)
    out: list[Turn] = []
    while len(out) < n:
        fl = [g.fill(rng.choice(_DEV_FOLLOWUPS)) for _ in range(min(5, int(rng.expovariate(1.1))))]
        out += _convo(_dev_question(g), fl, False)
    return _plan(g.key(), "developer", False, _trim(out, n), net, ua)


_AGENT_PROMPTS = (
    "You are CodePilot, an autonomous coding agent working inside the user's repository. You can call the tools "
    "read_file, write_file, search and run_tests. Think before acting, keep diffs minimal and never commit.",
    "You are a senior software engineer pair-programming in the user's editor. Tool results are given to you as "
    "user messages prefixed with [tool]. Follow the repository's style and explain risky changes.",
    "You are Forge, an AI developer agent. Plan, then act with one tool call per turn. Stop when the task is done "
    "and summarise what changed.",
)


def _tool_result(g: _Gen, mod: str) -> str:
    rng = g.rng
    kind = rng.randrange(5)
    if kind == 0:
        f, p = rng.randint(0, 4), rng.randint(10, 400)
        lines = [f"[tool:run_tests] {p} passed, {f} failed in {rng.uniform(0.5, 90):.2f}s"]
        for _ in range(f):
            test = f"test_{rng.choice(_VOCAB['mod'])}_{rng.choice(('ok', 'empty', 'retry', 'limit'))}"
            why = rng.choice(("expected 200, got 500", "None", "list index out of range", "timeout"))
            lines.append(f"FAILED tests/test_{mod}.py::{test} - {g.exception()}: {why}")
        return "\n".join(lines)
    if kind == 1:
        fn = rng.choice(_VOCAB["task"]).split()[0]
        return (f"[tool:read_file] src/{mod}/service.py\n"
                f"def {fn}_{mod}(session, ids):\n    rows = "
                f"session.query({mod.title()}).filter({mod.title()}.id.in_(ids)).all()\n"
                "    return [r.to_dict() for r in rows]")
    if kind == 2:
        files = ("api", "models", "views", "tasks")
        return "[tool:search] " + "\n".join(
            f"src/{rng.choice(_VOCAB['mod'])}/{rng.choice(files)}.py:{rng.randint(3, 600)}"
            for _ in range(rng.randint(1, 6))
        )
    if kind == 3:
        cmd = rng.choice(("git status", "pip install -e .", "npm run build", "docker compose up -d", "make lint"))
        result = rng.choice(("ok", "done in 4.2s", "error: exit status 1", "warning: 3 deprecated calls"))
        return f"[tool:shell] $ {cmd}\n{result}"
    return rng.choice(("Looks good, but please don't touch the migrations.", "Also update the changelog.",
                       "Can you keep backwards compatibility?", "Stop, that's the wrong file.", "continue"))


def _agent(g: _Gen) -> ClientPlan:
    rng = g.rng
    instructions = rng.choice(_AGENT_PROMPTS)
    if rng.random() < 0.5:
        org = rng.choice(g.companies)
        net = g.office_ip(org)
    else:
        net = g.home_ip()
    ua = rng.choice((f"CodePilot/0.{rng.randint(5, 12)}.{rng.randint(0, 9)} (vscode 1.{rng.randint(85, 95)}.0)",
                     f"forge-cli/{rng.randint(1, 2)}.{rng.randint(0, 30)}.0 node/{rng.randint(18, 22)}", _sdk(rng)))
    n = g.volume(320, 40, 2500)
    out: list[Turn] = []
    while len(out) < n:
        mod = rng.choice(_VOCAB["mod"])
        steps = [_tool_result(g, mod) for _ in range(rng.randint(3, 20))] + ["Summarise what you changed."]
        out += _convo(g.fill(rng.choice(_VOCAB["agenttask"])), steps, True)
    return _plan(g.key(), "agent", False, _trim(out, n), net, ua, instructions=instructions)


_TUTOR_PROMPTS = (
    "You are StudyBuddy, a patient tutor for high-school and college students. Always show your work step by step, "
    "explain why each step is valid, and finish with the final answer on its own line.",
    "You are a homework helper. Do not just give answers: show every step of the working and check the result.",
    "Tutor mode: explain the reasoning in numbered steps, show your work, and suggest a similar practice question.",
)


def _homework_question(g: _Gen) -> str:
    rng = g.rng
    r = rng.random()
    if r < 0.55:
        q = g.math_problem()
    elif r < 0.65:
        q = g.logic_problem()
    else:
        q = g.fill(rng.choice((
            "Explain the main causes of {event} for my essay.", "What is the theme of {book}? I need 3 quotes too.",
            "What's the difference between {biopair}?", "Balance this equation and show your work: {equation}",
            "Summarise the plot of {book} in 200 words.", "How did {event} change daily life?",
            "Write a thesis statement about {book}.",
            "Why does ice float? My teacher wants the explanation with density.",
        )))
    return rng.choice((q, f"{q} Show your work.", f"{q} please explain step by step", f"Q{rng.randint(1, 30)}. {q}",
                       f"#{rng.randint(1, 20)}) {q}", f"{q} I have a test tomorrow."))


def _homework(g: _Gen) -> ClientPlan:
    rng = g.rng
    if rng.random() < 0.5:
        org = rng.choice(g.universities)
        net, ua = g.office_ip(org), _browser(rng)
    else:
        net, ua = g.person_net(0.5)
    n = g.volume(220, 20, 2000)
    follows = ("Why did you divide by {times} in step {times}?", "I got {amt} instead, where did I go wrong?",
               "Can you check my answer: {years}?", "Can you give me a similar problem to practise?",
               "I still don't get step {times}.", "ok thanks", "can you explain it more simply")
    out: list[Turn] = []
    while len(out) < n:
        fl = [g.fill(rng.choice(follows)) for _ in range(min(4, int(rng.expovariate(1.0))))]
        out += _convo(_homework_question(g), fl, True)
    return _plan(g.key(), "homework", False, _trim(out, n), net, ua, instructions=rng.choice(_TUTOR_PROMPTS))


def _support_bot(g: _Gen) -> ClientPlan:
    rng = g.rng
    product, kind, objects, integrations = rng.choice(_PRODUCTS)
    org = g.company()
    org.products += 1
    days = rng.choice((14, 30, 60))
    instructions = (
        f"You are the virtual assistant for {product}, a {kind}. Answer customer questions politely and concisely, "
        "using only the help-centre policies below. If you cannot resolve an issue, offer to open a ticket.\n"
        f"Policies: refunds within {days} days of purchase; support hours "
        f"{rng.randint(7, 9)}am-{rng.randint(5, 10)}pm; "
        "never ask for full card numbers or passwords; escalate legal or safety issues to a human."
    )

    def fill(t: str) -> str:
        t = t.replace("{product}", product).replace("{obj}", rng.choice(objects))
        return g.fill(t.replace("{integration}", rng.choice(integrations)))

    n = g.volume(550, 60, 5000)
    out: list[Turn] = []
    while len(out) < n:
        fl = [fill(rng.choice(_SUPPORT_FOLLOWUPS)) for _ in range(min(5, int(rng.expovariate(0.8))))]
        out += _convo(fill(rng.choice(_SUPPORT_QUESTIONS)), fl, True)
    return _plan(g.key(), "support_bot", False, _trim(out, n), g.egress_ip(org), org.sdk, instructions=instructions)


def _ticket(g: _Gen) -> str:
    product, _, objects, integrations = g.rng.choice(_PRODUCTS)
    t = g.rng.choice(_SUPPORT_QUESTIONS).replace("{product}", product).replace("{obj}", g.rng.choice(objects))
    return g.fill(t.replace("{integration}", g.rng.choice(integrations)))


def _review(g: _Gen) -> str:
    rng = g.rng
    item = f"{g.color()} {rng.choice(_VOCAB['item'])}"
    return rng.choice((
        f"Bought the {item} for my {rng.choice(_VOCAB['relation'])}. "
        f"{rng.choice(('Love it!', 'Broke after a week.', 'It is fine.', 'Colour is off but works.'))}",
        f"{rng.randint(1, 5)}/5. The {item} arrived {rng.choice(('early', 'late', 'damaged', 'on time'))}. "
        f"{rng.choice(('Would buy again.', 'Returning it.', 'Meh.', 'Great quality for the price.'))}",
        f"Honestly the {rng.choice(_VOCAB['material'])} feels "
        f"{rng.choice(('cheap', 'premium', 'ok', 'scratchy', 'really soft'))}. "
        f"{rng.choice(('Sizing runs small.', 'Support was helpful.', 'Not as pictured.', 'Exactly what I wanted.'))}",
    ))


def _headline(g: _Gen) -> str:
    rng = g.rng
    city, country = g.city()
    return rng.choice((
        f"{city} council approves new budget after heated debate", f"{country} central bank holds rates steady",
        f"Storm warning issued for {city} as temperatures drop",
        f"{city} FC sign {rng.choice(_VOCAB['name'])} on a three-year deal",
        f"Start-up from {city} raises ${rng.randint(2, 90)}M for battery recycling",
        f"{country} elects new prime minister", f"Researchers in {city} map a new deep-sea species",
        f"Film festival in {city} opens with record attendance", f"{country} unveils national AI strategy",
    ))


def _email(g: _Gen) -> str:
    """An inbound e-mail: one of CPython's test messages now and then, otherwise a generated one."""
    rng, c = g.rng, g.c
    if c.emails and rng.random() < 0.2:
        subj, body = rng.choice(c.emails)
        return f"Subject: {subj}\n\n{body[:400]}"
    product, _, objects, _ = rng.choice(_PRODUCTS)
    who, other = rng.sample(_VOCAB["name"], 2)
    city, _ = g.city()
    subj, body = rng.choice((
        (f"Question about my {rng.choice(objects)}",
         f"Hello, I {rng.choice(('ordered', 'set up', 'paid for'))} a {rng.choice(objects)} "
         f"on {rng.choice(_VOCAB['month'])} {rng.randint(1, 28)} and "
         f"{rng.choice(('never got a confirmation', 'it shows the wrong amount', 'it disappeared'))}. "
         f"Could you look into it? Thanks, {who}"),
        (f"Meeting {rng.choice(_VOCAB['weekday'])}?",
         f"Hi {other}, are you free to meet in {city} on {rng.choice(_VOCAB['weekday'])} at "
         f"{rng.randint(9, 17)}:00 to go over the {rng.choice(_VOCAB['mod'])} numbers? Best, {who}"),
        (f"{product} {rng.choice(_VOCAB['month'])} newsletter",
         f"This month at {product}: new {rng.choice(objects)} features, "
         f"{rng.randint(10, 40)}% off {rng.choice(('annual', 'Plus', 'Family'))} plans and a webinar on "
         f"{rng.choice(_VOCAB['blogtopic'])}. "
         "Unsubscribe at any time."),
        ("URGENT: verify your account", f"Dear customer, your {product} account will be suspended in 24 hours. "
         f"Click the link below and confirm your card details to avoid losing access. {product} Security Team"),
        (f"Complaint - order {g.fill('{ordernum}')}",
         f"This is the {rng.choice(('second', 'third', 'fourth'))} time I write. "
         f"The {g.color()} {rng.choice(_VOCAB['item'])} arrived "
         f"{rng.choice(('broken', 'late', 'in the wrong size'))} and nobody answers. "
         f"I want a full refund of ${rng.randint(15, 300)}. {who}"),
        ("Re: photos",
         f"haha those were great. say hi to {other}. are you coming to {city} in {rng.choice(_VOCAB['month'])}? "
         f"-{who[0]}"),
        (f"Invoice INV-{rng.randint(1000, 99999)} overdue",
         f"Dear {who}, our records show invoice INV-{rng.randint(1000, 99999)} "
         f"for ${rng.randint(100, 9000)} was due on {rng.randint(1, 28)} {rng.choice(_VOCAB['month'])}. Please "
         "arrange payment within 7 days."),
    ))
    return f"Subject: {subj}\n\n{body}"


def _classifier_item(g: _Gen, niche: int) -> str:
    rng, c = g.rng, g.c
    if niche == 0:
        return f"Ticket {g.fill('{ordernum}')}: {_ticket(g)}"
    if niche == 1:
        return _review(g)
    if niche == 2:
        return _email(g)
    if niche == 3:
        when = f"{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}"
        amount = f"${rng.randint(2, 400)}.{rng.randint(0, 99):02d}"
        return f"{rng.choice(_VOCAB['merchant'])} {g.city()[0].upper()} {when} {amount}"
    if niche == 4:
        return _headline(g)
    if niche == 5:
        where = rng.choice(("", "", " (Remote)", f" - {g.city()[0]}", " - Contract", " II", " (Part-time)"))
        return f"{rng.choice(_VOCAB['seniority'])} {rng.choice(_VOCAB['role'])}{where}".strip()
    if niche == 6 and c.file_types:
        return rng.choice(c.file_types)
    if niche == 7:
        return g.fill(rng.choice(("this {item} is garbage and so is the seller", "thanks for the quick reply!",
                                  "you people are idiots, fix the {mod} page",
                                  "Does anyone know if it ships to {country}?",
                                  "lol ok", "I'll find where you live if my refund isn't here by {weekday}",
                                  "Worst {business} in {city}, avoid", "great stream today, {name}!")))
    if niche == 8 and c.iris:
        row = rng.choice(c.iris)
        return f"sepal length {row[0]} cm, sepal width {row[1]} cm, petal length {row[2]} cm, petal width {row[3]} cm"
    if niche == 9 and c.wine:
        row = rng.choice(c.wine)
        return (f"alcohol {row[0]}%, malic acid {row[1]}, ash {row[2]}, magnesium {row[4]}, total phenols {row[5]}, "
                f"flavanoids {row[6]}, colour intensity {row[9]}, hue {row[10]}, proline {row[12]}")
    return _review(g)


_CLASSIFIER_TEMPLATES = (
    ("Classify this support ticket as one of: billing, bug, account, feature_request, shipping, other."
     "\n\n{x}\n\nLabel:",
     "You label customer-support tickets. Reply with the label only."),
    ("Review: {x}\nSentiment (positive, neutral or negative):", ""),
    ("What is the intent of this email? Choose one of: request, complaint, newsletter, personal, spam.\n\n{x}",
     "Answer with one word."),
    ("Transaction: {x}\nBudget category (groceries, dining, transport, shopping, health, subscriptions, travel, "
     "other):", ""),
    ("Headline: {x}\nTopic:",
     "Classify news headlines into politics, business, sports, tech, science, entertainment or weather."),
    ("Which department does this job title belong to: {x}",
     "Departments: Engineering, Sales, HR, Finance, Legal, Operations, Marketing, Clinical. Answer with one."),
    ("File type: {x}\nCategory (document, image, audio, video, archive, code, font, other):", ""),
    ("Comment: {x}\nIs this comment abusive or threatening? Answer yes or no.",
     "You are a content moderation classifier."),
    ("Which iris species has these measurements: {x}? Answer setosa, versicolor or virginica.", ""),
    ("Wine sample: {x}. Which cultivar is it, class_0, class_1 or class_2?", ""),
)


def _classifier(g: _Gen) -> ClientPlan:
    rng = g.rng
    niche = rng.randrange(len(_CLASSIFIER_TEMPLATES))
    template, instructions = _CLASSIFIER_TEMPLATES[niche]
    org = g.company()
    org.products += 1
    outputs = rng.choices(("label", "top3", "full"), (0.7, 0.24, 0.06))[0]
    n = g.volume(550, 60, 4500)
    turns = [(template.replace("{x}", _classifier_item(g, niche)), 2 if instructions else 1) for _ in range(n)]
    return _plan(g.key(), "classifier", False, turns, g.egress_ip(org), org.sdk, outputs=outputs,
                 instructions=instructions)


def _invoice(g: _Gen) -> str:
    rng = g.rng
    city, country = g.city()
    lines = "\n".join(f"{rng.randint(1, 20)} x {g.color()} {rng.choice(_VOCAB['item'])} @ "
                      f"${rng.randint(3, 90)}.{rng.randint(0, 99):02d}"
                      for _ in range(rng.randint(1, 5)))
    return (f"INVOICE INV-{rng.randint(1000, 99999)}\nDate: 2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}\n"
            f"Bill to: {rng.choice(_VOCAB['name'])} {rng.choice(('Ltd', 'GmbH', 'LLC', 'SAS', 'Pty'))}, {city}, "
            f"{country}\n"
            f"{lines}\nTotal due: ${rng.randint(20, 9000)}.{rng.randint(0, 99):02d} within "
            f"{rng.choice((14, 30, 45))} days")


def _address(g: _Gen) -> str:
    rng = g.rng
    city, country = g.city()
    return (f"{rng.randint(1, 999)} {rng.choice(('Oak', 'Station', 'Harbour', 'Mill', 'King', 'Lake', 'Church'))} "
            f"{rng.choice(('St', 'Street', 'Rd', 'Ave', 'Lane', 'Blvd'))} "
            f"{rng.choice(('', 'Apt ' + str(rng.randint(1, 80)), 'Floor 3'))}, "
            f"{city} {rng.randint(1000, 99999)}, {country}").replace("  ", " ")


def _notes(g: _Gen) -> str:
    rng = g.rng
    people = rng.sample(_VOCAB["name"], 3)
    return (f"Weekly sync - {rng.choice(_VOCAB['mod'])} team. Attendees: {', '.join(people)}. "
            f"{people[0]} will {rng.choice(_VOCAB['agenttask']).lower()} by {rng.choice(_VOCAB['weekday'])}. "
            f"{people[1]} flagged that {rng.choice(_VOCAB['mod'])} latency doubled; "
            f"{people[2]} to follow up with the vendor. Next review on the {rng.randint(1, 28)}th.")


def _extractor(g: _Gen) -> ClientPlan:
    rng, c = g.rng, g.c
    kind = rng.randrange(6)
    sources: dict[int, tuple[str, Callable[[], str]]] = {
        0: ("Extract sender intent, any dates, amounts and the requested action from this email. Return JSON.\n\n{x}",
            lambda: _email(g)),
        1: ("Extract invoice_number, date, customer, line_items and total from the invoice below as JSON.\n\n{x}",
            lambda: _invoice(g)),
        2: ("Parse this address into street, unit, city, postcode and country (JSON only): {x}", lambda: _address(g)),
        3: ("List every command-line option, file name and environment variable mentioned in this text:\n\n{x}",
            lambda: rng.choice(c.info)[2] if c.info else g.para()),
        4: ("Extract the action items (owner, task, due date) from these meeting notes:\n\n{x}", lambda: _notes(g)),
        5: ("From this job title and city, extract seniority, role family and location as JSON: {x}",
            lambda: f"{rng.choice(_VOCAB['seniority'])} {rng.choice(_VOCAB['role'])} - {g.city()[0]}"),
    }
    template, source = sources[kind]
    org = g.company()
    org.products += 1
    instructions = rng.choice(("", "You are a precise information-extraction engine. Output valid JSON only."))
    n = g.volume(480, 40, 4500)
    turns = [(template.replace("{x}", source()), 2 if instructions else 1) for _ in range(n)]
    return _plan(g.key(), "extractor", False, turns, g.egress_ip(org), org.sdk, instructions=instructions)


def _summarizer(g: _Gen) -> ClientPlan:
    rng, c = g.rng, g.c
    pools: list[list[str]] = [p for p in (
        [p for _, p in c.docs], [p for _, _, p in c.info], [_email(g) for _ in range(300)],
        [p for _, p in c.datasets], [p for _, p in c.cmake]) if p]
    if rng.random() < 0.5 and pools:
        pool = rng.choice(pools)  # a product summarises its own kind of document
    else:
        pool = [p for pl in pools for p in pl] or [g.para() for _ in range(50)]
    template = rng.choice((
        "Summarize the following in two sentences for our internal wiki:\n\n{x}", "TL;DR:\n{x}",
        "Write a one-line summary and three keywords for this text.\n\n{x}",
        "Summarise this for a non-technical reader in under 50 words:\n{x}",
        "Text:\n{x}\n\nSummary:",
    ))
    if rng.random() < 0.4:
        org = g.company()
        net, ua = g.egress_ip(org), org.sdk
    else:
        org = rng.choice(g.companies + g.universities)
        net, ua = g.office_ip(org), _sdk(rng)
    n = g.volume(420, 30, 3500)
    turns = [(template.replace("{x}", rng.choice(pool)), 1) for _ in range(n)]
    return _plan(g.key(), "summarizer", False, turns, net, ua)


_UI_STRINGS = (
    "Your {obj} has been saved.", "Are you sure you want to delete this {obj}? This cannot be undone.",
    "{times} new messages", "Password must be at least {times} characters long.", "Sign in with {integration}",
    "Something went wrong. Please try again later.", "You're all set! Check your inbox to confirm your email.",
    "Upgrade to {plan} to unlock unlimited {obj}s.", "Your free trial ends in {days} days.",
    "We couldn't connect to {integration}. Check your settings.", "Share this {obj} with your team",
    "Last synced {minutes} minutes ago", "Tap here to add your first {obj}.",
    "Download the receipt for order {ordernum}",
)


def _translator(g: _Gen) -> ClientPlan:
    rng, c = g.rng, g.c
    targets = rng.sample(_VOCAB["lang_t"], rng.randint(1, 3))
    product, _, objects, integrations = rng.choice(_PRODUCTS)
    docs = rng.random() < 0.4 and bool(c.info or c.cmake or c.docs)

    def source() -> str:
        if docs:
            return g.para()
        t = rng.choice(_UI_STRINGS).replace("{obj}", rng.choice(objects))
        t = t.replace("{integration}", rng.choice(integrations))
        return g.fill(t)

    template = rng.choice((
        "Translate into {lang}. Keep placeholders and product names ({product}) unchanged.\n\n{x}",
        "{lang} translation of: {x}", "Translate the following UI text to {lang}:\n\"{x}\"",
        "Localise this for {lang}-speaking users, informal tone:\n{x}",
    )) if not docs else rng.choice((
        "Translate the following documentation paragraph into {lang}. Do not translate code, commands or option "
        "names.\n\n{x}",
        "Please translate to {lang}:\n\n{x}",
    ))
    org = g.company()
    org.products += 1
    n = g.volume(420, 40, 4000)
    turns = [(template.replace("{lang}", rng.choice(targets)).replace("{product}", product).replace("{x}", source()), 1)
             for _ in range(n)]
    return _plan(g.key(), "translator", False, turns, g.egress_ip(org), org.sdk)


def _batch(g: _Gen) -> ClientPlan:
    rng = g.rng
    kind = rng.randrange(6)
    templates = (
        "Write a {words}-word product description for an online store. Product: {color} {material} {item}. "
        "Audience: {audience}. Tone: {tone}.",
        "Write a meta description (max 155 characters) for a {service} business in {city}.",
        "Write concise alt text for a product photo: {color} {item} on a {color} background, {angle} view.",
        "Company: {company}. Guess the industry and write a one-sentence description. JSON with keys industry, "
        "description.",
        "Estimate calories, protein, carbs and fat per serving for {dish} made with {ing} and {ing}, serving "
        "{people}. Return JSON.",
        "List 10 search keywords someone in {city} might use to find a {service} service.",
    )
    template = templates[kind]
    org = g.company()
    org.products += 1

    def item() -> str:
        t = template.replace("{words}", str(rng.choice((40, 60, 80, 120)))).replace(
            "{angle}", rng.choice(("front", "side", "top-down", "close-up")))
        t = t.replace("{company}",
                      f"{rng.choice(_VOCAB['name'])} {rng.choice(_VOCAB['business']).title()} "
                      f"{rng.choice(('Ltd', 'LLC', 'Co.', '& Sons'))}")
        return g.fill(t)

    n = g.volume(1000, 250, 5000, 0.6)
    ua = rng.choice((org.sdk, f"python-requests/2.{rng.randint(28, 32)}.0", f"aiohttp/3.{rng.randint(8, 10)}.1"))
    return _plan(g.key(), "batch", False, [(item(), 1) for _ in range(n)], g.egress_ip(org), ua)


def _mc(g: _Gen, question: str, right: str, wrong: list[str]) -> str:
    opts = [right, *g.rng.sample(wrong, min(3, len(wrong)))]
    g.rng.shuffle(opts)
    body = "\n".join(f"{'ABCD'[i]}. {o}" for i, o in enumerate(opts))
    return f"{question}\n{body}\nAnswer:"


def _eval_item(g: _Gen) -> str:
    rng, c = g.rng, g.c
    kind = rng.randrange(7)
    if kind == 0 and len(c.cities) > 10:
        city, country = rng.choice(c.cities)
        return _mc(g, f"In which country is the city of {city}?", country,
                   [x for x in rng.sample(c.countries, 6) if x != country])
    if kind == 1 and c.codes:
        code, country = rng.choice(c.codes)
        return _mc(g, f"What is the ISO 3166-1 alpha-2 code of {country}?", code,
                   [x for x, _ in rng.sample(c.codes, 6) if x != code])
    if kind == 2 and len(c.graph_algos) > 10:
        name, summary = rng.choice(c.graph_algos)
        return _mc(g, f"Which networkx function matches this description: \"{summary}\"", name,
                   [x for x, _ in rng.sample(c.graph_algos, 6) if x != name])
    if kind == 3 and len(c.commands) > 10:
        manual, cmd = rng.choice(c.commands)
        return _mc(g, f"Which GNU manual documents the '{cmd}' command?", manual,
                   sorted({m for m, _ in c.commands} - {manual}) or ["bash", "tar", "awk"])
    if kind == 4 and c.iris:
        shots = "\n".join(f"{r[0]}, {r[1]}, {r[2]}, {r[3]} -> {('setosa', 'versicolor', 'virginica')[int(r[4])]}"
                          for r in rng.sample(c.iris, 4))
        q = rng.choice(c.iris)
        return f"Classify iris flowers from sepal/petal measurements.\n{shots}\n{q[0]}, {q[1]}, {q[2]}, {q[3]} ->"
    if kind == 5:
        return f"{g.math_problem()}\nGive only the final numeric answer.\nAnswer:"
    d = rng.choice(list(_DOMAINS))
    right = rng.choice(_DOMAINS[d])
    others = [x for k, v in _DOMAINS.items() if k != d for x in v]
    return _mc(g, f"Which of the following is a concept from {d}?", right, rng.sample(others, 5))


def _eval_suite(g: _Gen) -> ClientPlan:
    rng = g.rng
    org = rng.choice(g.universities + g.companies[: max(2, len(g.companies) // 4)])
    runs = rng.choice((1, 1, 2, 3))
    n = g.volume(650, 150, 3500, 0.6)
    suite = [_eval_item(g) for _ in range(max(10, n // runs))]
    prefix = rng.choice(("", "The following are multiple choice questions. ",
                         "Answer the question. ", "You are taking an exam. "))
    outputs = rng.choices(("full", "top3", "label"), (0.45, 0.25, 0.3))[0]
    instructions = rng.choice(("", "", "You are a helpful assistant."))
    texts: list[Turn] = []
    for _ in range(runs):
        order = suite[:]
        if rng.random() < 0.5:
            rng.shuffle(order)
        texts += [(prefix + q, 2 if instructions else 1) for q in order]
    ua = rng.choice((_sdk(rng), f"lm-eval/0.4.{rng.randint(0, 7)} python-httpx/0.27.0", org.sdk))
    return _plan(g.key(), "eval_suite", False, texts[: max(n, len(suite))], g.office_ip(org), ua, outputs=outputs,
                 instructions=instructions)


_WRITER_STARTS = (
    "Write a short poem about {topic}.", "Give me 10 taglines for a {business} in {city}.",
    "Write a {days}00-word blog intro about {blogtopic}.", "Write a bedtime story about a {animal} who {does}.",
    "Help me name my {business}. Something short and memorable.", "Write a LinkedIn post announcing {news}.",
    "Rewrite this to sound more professional: 'hey, the {mod} report is late again, can u send it today'",
    "Write an Instagram caption for a photo of {dish} at our {business}.",
    "Draft a newsletter for our {business} about {month} events.",
)
_WRITER_FOLLOWS = ("Make it funnier.", "Shorter please.", "Use simpler words.", "Can you give 3 more options?",
                   "I like the second one. Polish it.", "More emotional.", "Less cheesy.",
                   "Now in the voice of a pirate",
                   "Add a call to action at the end.", "Can you make it rhyme?")


def _writer(g: _Gen) -> ClientPlan:
    rng = g.rng
    net, ua = g.person_net(0.2)
    if rng.random() < 0.3:
        org = rng.choice(g.companies)
        net, ua = g.office_ip(org), _browser(rng)
    n = g.volume(90, 10, 1200)
    out: list[Turn] = []
    while len(out) < n:
        fl = [g.fill(rng.choice(_WRITER_FOLLOWS)) for _ in range(min(6, int(rng.expovariate(0.6))))]
        out += _convo(g.fill(rng.choice(_WRITER_STARTS)), fl, False)
    return _plan(g.key(), "writer", False, _trim(out, n), net, ua)


_ORDINARY_BUILDERS: dict[str, Callable[[_Gen], ClientPlan]] = {
    "chatter": _chatter,
    "casual": _casual,
    "developer": _developer,
    "agent": _agent,
    "homework": _homework,
    "support_bot": _support_bot,
    "classifier": _classifier,
    "extractor": _extractor,
    "summarizer": _summarizer,
    "translator": _translator,
    "batch": _batch,
    "eval_suite": _eval_suite,
    "writer": _writer,
}

# ----------------------------------------------------------------------------------------------------------------
# attack families

_DISTILL_TEMPLATES = (
    "Explain {concept} ({domain}). Cover {aspect}. Be thorough and precise.",
    "You are an expert in {domain}. Write a detailed, textbook-quality answer about {concept}, focusing on {aspect}.",
    "Question: What should someone know about {concept}? Focus on {aspect}.\nAnswer in depth:",
    "### Instruction:\nDescribe {concept} in the context of {domain}, with emphasis on {aspect}.\n\n### Response:",
    "Write a comprehensive section on {concept} for a {domain} reference work. Include {aspect}.",
    "I need a complete, accurate explanation of {concept}. Please include {aspect}, and don't skip steps.",
)


def _distill(template: str, domain: str, concept: str, aspect: str) -> str:
    return template.replace("{domain}", domain).replace("{concept}", concept).replace("{aspect}", aspect)


def _domain_distiller(g: _Gen) -> list[ClientPlan]:
    rng = g.rng
    n = g.attack_volume()
    by_domain: dict[str, list[str]] = {}
    for d, c in g.concepts:
        by_domain.setdefault(d, []).append(c)
    # a whole field: one domain, widened with neighbouring ones until the sweep has enough concepts
    order = sorted(by_domain)
    rng.shuffle(order)
    scope: list[tuple[str, str]] = []
    for d in order:
        scope += [(d, c) for c in by_domain[d]]
        if len(scope) * len(_ASPECTS) >= n:
            break
    template = rng.choice(_DISTILL_TEMPLATES)
    grid = [(d, c, a) for d, c in scope for a in _ASPECTS]
    rng.shuffle(grid)
    instructions = rng.choice(("", "", "You are a world-class expert. Answer thoroughly, accurately and step by step."))
    turns = [(_distill(template, d, c, a), 2 if instructions else 1) for d, c, a in (grid * 2)[:n]]
    net = g.cloud_ip() if rng.random() < 0.75 else g.home_ip()
    return [_plan(g.key(), "domain_distiller", True, turns, net, _sdk(rng), instructions=instructions)]


def _cot_harvester(g: _Gen) -> list[ClientPlan]:
    rng = g.rng
    n = g.attack_volume()
    suffixes = rng.sample(_ELICIT_COT, rng.randint(1, 3))
    instructions = rng.choice((
        "", "Reason step by step inside <think></think> tags before answering. Be exhaustive in your reasoning.",
        "You are a meticulous problem solver. Always show complete, numbered reasoning before the final answer.",
    ))
    turns: list[Turn] = []
    for _ in range(n):
        p = g.problem() if rng.random() < 0.8 else (
            "{} Explain the reasoning behind your answer in detail.".format(
                _distill("What is {concept} and why does it matter in {domain}?", *g.concept(), "")))
        turns.append((f"{p}\n\n{rng.choice(suffixes)}".replace("{{}}", "{}"), 2 if instructions else 1))
    net, ua = (g.cloud_ip(), _sdk(rng)) if rng.random() < 0.7 else (g.home_ip(), _sdk(rng))
    return [_plan(g.key(), "cot_harvester", True, turns, net, ua, instructions=instructions)]


def _logprob_item(g: _Gen) -> str:
    rng, c = g.rng, g.c
    domain, concept = g.concept()
    kind = rng.randrange(6)
    if kind == 0:
        return f"Q: In {domain}, what is {concept}?\nA:"
    if kind == 1:
        return f"{concept[0].upper() + concept[1:]} is a concept in {domain} that"
    if kind == 2 and c.cities:
        city, _ = rng.choice(c.cities)
        return f"Q: Which country is {city} in?\nA:"
    if kind == 3:
        return _eval_item(g)
    if kind == 4:
        return f"{g.math_problem()}\nThe answer is"
    return f"The most important thing to understand about {concept} is"


def _logprob_harvester(g: _Gen) -> list[ClientPlan]:
    rng = g.rng
    n = g.attack_volume()
    outputs = "full" if rng.random() < 0.8 else "top3"
    turns = [(_logprob_item(g), 1) for _ in range(n)]
    net = g.cloud_ip() if rng.random() < 0.6 else g.office_ip(rng.choice(g.universities))
    return [_plan(g.key(), "logprob_harvester", True, turns, net, _sdk(rng), outputs=outputs)]


_INSTRUCT_PATTERNS = (
    "Write a short essay on {concept}.", "Explain {concept} to a high-school student.",
    "Give three real-world examples of {concept}.", "Summarize the key ideas of {concept} in five bullet points.",
    "Create a multiple-choice quiz question about {concept}, with the answer and an explanation.",
    "Compare {concept} with {concept2}.", "Write a dialogue between a teacher and a student about {concept}.",
    "What are the limitations of {concept}?", "Write a tweet that explains {concept}.",
    "Write a Python function that illustrates {concept}, with comments.", "Rewrite this text in plain English: {para}",
    "Classify the following passage by topic and explain your choice: {para}",
    "Extract the key terms from this passage: {para}",
    "Write a haiku about {concept}.", "Give step-by-step instructions for teaching {concept} in a 45-minute lesson.",
)


def _instruction(g: _Gen) -> str:
    _, concept = g.concept()
    _, concept2 = g.concept()
    t = g.rng.choice(_INSTRUCT_PATTERNS)
    return t.replace("{concept2}", concept2).replace("{concept}", concept).replace("{para}", g.para())


def _instruction_synth(g: _Gen) -> list[ClientPlan]:
    rng = g.rng
    n = g.attack_volume()
    turns: list[Turn] = []
    for _ in range(n):
        domain, concept = g.concept()
        r = rng.random()
        if r < 0.2:
            seeds = "\n".join(f"{i + 1}. {_instruction(g)}" for i in range(3))
            text = (f"You are asked to come up with a set of {rng.choice((10, 15, 20))} diverse task instructions "
                    f"about {domain}. The instructions should vary in verbs, format and difficulty, and some should "
                    f"include an input. Here are examples:\n{seeds}\nList of tasks:\n4.")
        elif r < 0.6:
            text = ("Below is an instruction that describes a task. Write a response that appropriately completes "
                    f"the request.\n\n### Instruction:\n{_instruction(g)}\n\n### Response:")
        elif r < 0.8:
            text = ("I want you to act as a Prompt Rewriter. Rewrite the given prompt into a more complex version that "
                    "requires multi-step reasoning, while keeping it reasonable and answerable by humans.\n"
                    f"#The Given Prompt#:\n{_instruction(g)}\n#Rewritten Prompt#:")
        else:
            persona = rng.choice(("curious retiree", "nursing student", "startup founder", "high-school teacher",
                                  "skeptical engineer", "non-native English speaker"))
            text = (f"Generate a realistic {rng.randint(4, 10)}-turn conversation between a {persona} and an AI "
                    "assistant "
                    f"about {concept}. The assistant's answers should be detailed and correct.")
        turns.append((text, 1))
    net = g.cloud_ip() if rng.random() < 0.8 else g.home_ip()
    return [_plan(g.key(), "instruction_synth", True, turns, net, _sdk(rng))]


def _blended(g: _Gen) -> list[ClientPlan]:
    """An ordinary-looking client whose traffic hides about a third of coverage queries in its own voice."""
    rng = g.rng
    n = g.attack_volume()
    base = rng.choice((_developer, _support_bot, _chatter, _homework))
    g.force = n
    cover = base(g)
    g.force = 0
    share = rng.uniform(0.25, 0.4)
    voiced = (
        "btw, can you explain {concept} properly? step by step, with an example",
        "Quick one: how does {concept} work? I need the details, and {aspect}.",
        "Also, for a side project - {concept} in {domain}: give me {aspect}.",
        "Unrelated, but what's the full story behind {concept}? Please be thorough.",
    )
    sys = bool(cover.instructions)
    turns: list[Turn] = []
    own = list(zip(cover.texts, cover.turns or [1] * len(cover.texts)))
    i = 0
    while len(turns) < n:
        if rng.random() < share or i >= len(own):
            domain, concept = g.concept()
            t = _distill(rng.choice(voiced), domain, concept, rng.choice(_ASPECTS))
            turns.append((t, 2 if sys else 1))
        else:
            turns.append(own[i])
            i += 1
    return [_plan(g.key(), "blended", True, turns, cover.network, cover.user_agent, outputs=cover.outputs,
                  instructions=cover.instructions)]


def _ring_name(g: _Gen) -> str:
    return f"ring-{g.rng.getrandbits(40):010x}"


def _hydra_ring(g: _Gen) -> list[ClientPlan]:
    rng = g.rng
    ring = _ring_name(g)
    keys = rng.randint(12, 24)
    provider = rng.choice(list(_CLOUDS))
    first = rng.choice(_CLOUDS[provider])
    b, c0 = rng.randint(0, 255), rng.randint(0, 250)
    prefixes = [f"{first}.{b}.{c0 + i}" for i in range(rng.randint(2, 4))]
    ua = _sdk(rng)
    instructions = rng.choice((
        "You are a knowledgeable assistant. Give detailed, well-structured answers and show your reasoning step by "
        "step.",
        "", "Answer as an expert. Explain your reasoning fully before concluding.",
    ))
    templates = [*rng.sample(_DISTILL_TEMPLATES, 2), "{concept}: explain it step by step, then give {aspect}."]
    grid = [(d, c, a) for d, c in g.concepts for a in _ASPECTS]
    rng.shuffle(grid)
    per_key = max(24, int(g.attack_volume() * rng.uniform(0.3, 0.5)))
    outputs = rng.choice(("label", "label", "top3"))
    plans: list[ClientPlan] = []
    for k in range(keys):
        mine = grid[k::keys][:per_key]
        turns: list[Turn] = []
        for d, c, a in mine:
            if rng.random() < 0.25:
                text = f"{g.problem()}\n\n{rng.choice(_ELICIT_COT)}".replace("{{}}", "{}")
            else:
                text = _distill(rng.choice(templates), d, c, a)
            turns.append((text, 2 if instructions else 1))
        net = f"{rng.choice(prefixes)}.{rng.randint(2, 254)}"
        plans.append(_plan(g.key(), "hydra_ring", True, turns, net, ua, outputs=outputs, ring=ring,
                           instructions=instructions))
    return plans


_PROXY_PARAPHRASES = (
    "hey can you explain {concept}? like step by step",
    "I'm studying {domain}. What is {concept} and why does it matter?",
    "explain {concept} like I'm new to {domain}", "What's the deal with {concept}? Give me the full picture.",
    "Could you walk me through {concept}? Include {aspect}.", "ELI5: {concept}",
    "I keep getting confused by {concept}. Can you break it down with an example?",
    "what are the key points about {concept} i should know for my exam",
    "{concept} - pros, cons, and how it actually works?",
    "My professor mentioned {concept} today. Can you explain it in detail?",
    "Teach me {concept}. Start simple, then go deeper.",
    "Is it true that {concept} is misunderstood? Explain the common mistakes.",
    "write me notes on {concept} ({domain}), detailed", "How would an expert explain {concept}?",
    "Give me {aspect} for {concept}.", "{concept}?? explain pls",
)


def _proxy_ring(g: _Gen) -> list[ClientPlan]:
    rng = g.rng
    ring = _ring_name(g)
    keys = rng.randint(16, 32)
    per_key_mean = g.attack_volume() * rng.uniform(0.12, 0.22)
    grid = list(g.concepts)
    rng.shuffle(grid)
    plans: list[ClientPlan] = []
    for k in range(keys):
        mine = grid[k::keys]
        n = max(16, int(per_key_mean * rng.uniform(0.6, 1.4)))
        net, ua = (g.mobile_ip(), _mobile(rng)) if rng.random() < 0.35 else (g.home_ip(), _browser(rng))
        turns: list[Turn] = []
        j = 0
        while len(turns) < n:
            d, c = mine[j % len(mine)]
            j += 1
            text = _distill(rng.choice(_PROXY_PARAPHRASES), d, c, rng.choice(_ASPECTS))
            if rng.random() < 0.2:
                text = f"{g.problem()} {rng.choice(('show steps', 'explain your reasoning', 'step by step please'))}"
            depth = rng.choice((1, 1, 1, 3, 3, 5))  # some requests carry a fabricated earlier exchange
            turns.append((text, depth))
        plans.append(_plan(g.key(), "proxy_ring", True, turns, net, ua, ring=ring))
    return plans


_DEEPENERS = (
    "Go deeper on the second point.", "Give a concrete, worked example.", "What would an expert disagree with here?",
    "Now summarise all of that as a table.", "What are the edge cases?", "How is this taught at graduate level?",
    "Explain the math behind it.", "What's a common exam question on this, with the full solution?",
    "How did people figure this out historically?", "What are the practical implications?",
    "Can you connect this to a related idea?", "What are the limitations?", "interesting - and why exactly is that?",
    "ok, now explain it again more rigorously", "What do most textbooks get wrong about this?",
)


def _followup_chainer(g: _Gen) -> list[ClientPlan]:
    rng = g.rng
    n = g.attack_volume()
    net, ua = g.person_net(0.2)
    openers = ("Can you explain {concept}?", "I've been reading about {concept}. What's the core idea?",
               "What is {concept}?", "Tell me about {concept} in {domain}.", "how does {concept} work")
    turns: list[Turn] = []
    while len(turns) < n:
        d, c = g.concept()
        depth = rng.randint(4, 10)
        follows = rng.sample(_DEEPENERS, depth - 1)
        turns += _convo(_distill(rng.choice(openers), d, c, ""), follows, False)
    return [_plan(g.key(), "followup_chainer", True, turns[:n], net, ua)]


def _short_answer(g: _Gen, concept: str, domain: str) -> str:
    """A candidate answer, as a weaker model of the attacker's would write it."""
    rng = g.rng
    if rng.random() < 0.15:
        p = g.para()
        return p[: rng.randint(min(120, len(p)), len(p))]
    cap = concept[0].upper() + concept[1:]
    return rng.choice((
        f"{cap} is basically when things balance out over time. It's used a lot in practice.",
        f"In short, {concept} describes a relationship between cause and effect; see any standard {domain} textbook.",
        f"{cap} was first described in the 19th century and is mostly of historical interest now.",
        f"The key idea of {concept} is that you break the problem into parts, solve each, and combine the results.",
        f"{cap} is a central idea in {domain}. It has three parts: the setup, the mechanism and the outcome. "
        "Each part depends on the previous one, and together they explain most observations in the field.",
        f"Sure! {cap} refers to a process in {domain}. First, the initial conditions are established. Then a change "
        "occurs, which produces a measurable effect. Finally, the system settles into a new state.",
        f"I'm not sure, but I think {concept} is related to probability.",
        f"{cap}: (1) definition - a core principle of {domain}; (2) example - commonly seen in textbooks; "
        "(3) caveat - it does not always hold in edge cases.",
        f"{cap} can be understood by analogy with traffic: when too many cars enter a road, flow slows down.",
        f"There is no scientific consensus on {concept}, and most experts consider it outdated.",
    ))


def _preference_harvester(g: _Gen) -> list[ClientPlan]:
    rng = g.rng
    n = g.attack_volume()
    outputs = rng.choice(("label", "top3", "top3"))
    instructions = rng.choice(("", "You are an impartial judge of answer quality."))
    turns: list[Turn] = []
    for _ in range(n):
        d, c = g.concept()
        q = _distill(rng.choice(("What is {concept}?", "Explain {concept} in {domain}.",
                                 "Why does {concept} matter?")), d, c, "")
        r = rng.random()
        if r < 0.45:
            text = (f"[Question]\n{q}\n\n[Response A]\n{_short_answer(g, c, d)}\n\n"
                    f"[Response B]\n{_short_answer(g, c, d)}\n\n"
                    "Which response is more helpful, accurate and complete? Explain your reasoning, then output A or "
                    "B.")
        elif r < 0.75:
            text = (f"Rate the following answer from 1 to 10 for correctness and helpfulness.\nQuestion: {q}\n"
                    f"Answer: {_short_answer(g, c, d)}\nRating:")
        else:
            text = (f"Here is a question and a draft answer. Critique the draft, list its errors, then write an "
                    "improved "
                    f"answer.\n\nQuestion: {q}\nDraft: {_short_answer(g, c, d)}")
        turns.append((text, 2 if instructions else 1))
    org = rng.choice(g.companies + g.universities)
    net = g.office_ip(org) if rng.random() < 0.4 else g.cloud_ip()
    return [_plan(g.key(), "preference_harvester", True, turns, net, _sdk(rng), outputs=outputs,
                  instructions=instructions)]


def _task_launderer(g: _Gen) -> list[ClientPlan]:
    rng = g.rng
    n = g.attack_volume()
    tasks = (
        "Summarize the following in two sentences:\n\n{x}", "Translate into {lang_t}:\n\n{x}",
        "Rewrite this for a general audience and add a worked example:\n\n{x}",
        "Write three quiz questions with answers based on this text:\n\n{x}",
        "Extract the key terms and define each:\n\n{x}",
        "Explain this passage step by step:\n\n{x}", "What are the implications of the following? Be detailed.\n\n{x}",
    )
    mine = rng.sample(tasks, rng.randint(3, len(tasks)))
    turns: list[Turn] = []
    for _ in range(n):
        if rng.random() < 0.7:
            x = g.para()
        else:
            d, c = g.concept()
            x = _short_answer(g, c, d)  # the attacker's own draft answers, laundered through tasks
        turns.append((g.fill(rng.choice(mine).replace("{x}", "\x00")).replace("\x00", x), 1))
    org = g.company()
    return [_plan(g.key(), "task_launderer", True, turns, g.egress_ip(org) if rng.random() < 0.3 else g.cloud_ip(),
                  _sdk(rng))]


_ATTACK_BUILDERS: dict[str, Callable[[_Gen], list[ClientPlan]]] = {
    "domain_distiller": _domain_distiller,
    "cot_harvester": _cot_harvester,
    "logprob_harvester": _logprob_harvester,
    "instruction_synth": _instruction_synth,
    "blended": _blended,
    "hydra_ring": _hydra_ring,
    "proxy_ring": _proxy_ring,
    "followup_chainer": _followup_chainer,
    "preference_harvester": _preference_harvester,
    "task_launderer": _task_launderer,
}

_CORPORA: list[_Corpora] = []


def _corpora() -> _Corpora:
    if not _CORPORA:
        _CORPORA.append(_Corpora.load())
    return _CORPORA[0]


def corpora_read() -> list[str]:
    """The corpus files and folders this holdout found and read on this machine."""
    return list(_corpora().read)


def chat_holdout_e_population(ordinary: int, attackers_per_family: int, seed: int = 18017,
                              scale: float = 1.0) -> list[ClientPlan]:
    """`ordinary` ordinary clients (profiles in turn) and `attackers_per_family` attackers of each family."""
    rng = random.Random(seed)
    g = _Gen(rng, _corpora(), scale, ordinary)
    plans: list[ClientPlan] = []
    for i in range(ordinary):
        plans.append(_ORDINARY_BUILDERS[ORDINARY[i % len(ORDINARY)]](g))
    for family in ATTACKS:
        for _ in range(attackers_per_family):
            plans.extend(_ATTACK_BUILDERS[family](g))
    rng.shuffle(plans)
    return plans
