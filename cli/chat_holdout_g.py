"""Hold-out population G: ordinary chat-API clients and distillation attackers, written blind.

This module was written blind: its author did not read the abuse detector, its benchmarks, its
documentation, the other hold-out harnesses, the tests or the repository history. Only the
`ClientPlan` dataclass of `cli.simulator` was consulted. The population is meant to be run once, to
see how a detector that nobody tuned on this traffic behaves on it; it describes what real users and
real distillers of a chat-completions API send, not what any detector measures.

Every plan carries, per request, the last user message (`texts`) and how many messages the request
sends (`turns`: system prompt, earlier user/assistant turns, few-shot pairs, and the final user turn).

Corpora (read at run time; each is skipped when missing, and hand-written vocabulary in this module
stands in, so the population always builds):

* docstrings of installed third-party packages (jinja2, click, rich, httpx, starlette, fastapi,
  pydantic, hypothesis, tenacity, prometheus_client, minio, dateutil, yaml, requests, urllib3,
  huggingface_hub, fontTools, PIL, faststream, grpc, tqdm, sentence_transformers, accelerate,
  datasketch, typer), read as source text with a regular expression (nothing is imported), a
  bounded, evenly spaced sample of each package's files, first paragraph of each docstring, together
  with the name of the function or class it documents;
* OpenTelemetry semantic-convention attribute names and their descriptions (the
  `opentelemetry/semconv/_incubating/attributes/*.py` source files, deprecated entries left out);
* zone names of the `tzdata` Python package (its `zones` list), turned into city and region names;
  `/usr/share/zoneinfo` folder names when the package is missing;
* `/etc/mime.types` (media types and their file extensions);
* the JSON Schema metaschemas bundled with `jsonschema_specifications` (keyword names);
* the IANA top-level-domain list vendored by `hypothesis`;
* the language names of `charset_normalizer`'s frequency tables (read as text);
* HTTP status names from `requests/status_codes.py` (read as text);
* terminal names from `/lib/terminfo` and `/usr/share/terminfo` (file names only);
* hand-written everyday vocabulary: weddings and events, volunteering, insurance claims, immigration
  paperwork, beekeeping, photography, astronomy, chess, knitting, fishing, home brewing, retirement
  planning, job interviews, renting and moving, car trouble, parenting, fitness, cooking for crowds,
  pets, genealogy, DIY, music practice, small business, elder care, outdoor trips, home tech help;
  an academic taxonomy of about forty fields; legal clauses, insurance claim notes, company
  policies, support messages, UI strings, news-style sentences, product reviews, school maths.

Ordinary profiles (assigned in turn over the `ordinary` clients; a few products run more than one
key, e.g. production and staging, or parallel evaluation workers):

casual_chat, long_conversation, hobby_developer, writing_helper, campus_student, course_generator
(e-learning lesson/quiz generator, heavily templated, covers every subject), enterprise_search
(retrieval assistant over many departments' documents), explain_extension (browser extension
explaining highlighted text, vendor-hosted or bring-your-own-key), autocomplete_ranker (scores
completions and candidates with logprobs), eval_harness (research-lab benchmark runs, few-shot,
chain-of-thought and logprob variants, repeated runs), prompt_ab_tester (same inputs under several
prompt variants), document_reviewer (contract clauses and insurance claim notes), code_review_bot
(pull-request diffs, GitHub Actions egress), voice_assistant (short spoken-style transcripts),
translation_memory (UI strings into many languages, some with logprobs for quality estimation),
homework_helper (kids' app that always asks for the steps), support_bot (multi-turn customer
service), ticket_labeler (classification with logprobs).

Attack families (`attackers_per_family` instances each; a ring instance is one attacker made of
many keys that share a `ring` label):

* grid_ring — ring of 12-36 keys on one hosting/cloud provider's few /24s, same SDK, one template bank;
  each key sweeps its own slice of a field x concept x task x level grid.
* cot_harvester — reasoning elicitation on generated maths, logic and code-tracing problems
  ("think step by step", "<think> tags", "\\boxed{}"), sometimes with a verification follow-up.
* logprob_harvester — top_logprobs at the API maximum on continuation, short-answer and
  classification prompts drawn from every corpus.
* coverage_sweeper — walks a taxonomy in order, several facets per concept, plus corpus-derived
  concepts (telemetry attributes, media types, cities).
* instruction_synthesizer — self-instruct / evol-instruct prompts plus the bare generated
  instructions whose answers become training data.
* ordinary_blender — one key on a residential address with a browser agent, casual multi-turn
  phrasing, modest volume, but the questions systematically walk academic concepts.
* proxy_ring — ring of 15-40 keys, each on a residential proxy address in a different ISP and
  country, with varied browser/SDK/curl agents and per-key paraphrases of a shared bank.
* judge_distiller (invented) — harvests the model's grading behaviour: pairwise and single-answer
  judging prompts (verdict tokens, sometimes with logprobs), looking much like an eval lab.
* conversation_replay (invented) — replays the user side of scraped multi-turn chats to regenerate
  the assistant turns; the text is genuinely casual and turn counts grow like real chats.
* tool_call_harvester (invented) — distils function calling: a fixed tool-use system prompt and
  per-request JSON schemas (built from telemetry attributes and JSON Schema keywords) with user asks.
* critique_chain (invented) — answer, critique, revise: every item is a three-request conversation
  whose follow-ups are fixed strings.
* shell_app_ring (invented) — ring of 8-20 keys, each dressed as a different small app (own system
  prompt, mobile/server agent, different cloud), all fed from one shared harvesting question bank.
* polyglot_pivot (invented) — one question bank asked across many languages and as
  translate-then-explain tasks.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path

from cli.simulator import ClientPlan

# --------------------------------------------------------------------------------------------------
# Corpora
# --------------------------------------------------------------------------------------------------

_DOC_PACKAGES = (
    "jinja2", "click", "rich", "httpx", "starlette", "fastapi", "pydantic", "hypothesis", "tenacity",
    "prometheus_client", "minio", "dateutil", "yaml", "requests", "urllib3", "huggingface_hub",
    "fontTools", "PIL", "faststream", "grpc", "tqdm", "sentence_transformers", "accelerate",
    "datasketch", "typer",
)
_FILES_PER_PACKAGE = 40
_TRIPLE = re.compile(r'[rRbBuU]?"""(.*?)"""', re.S)
_DEFNAME = re.compile(r"(?:def|class)\s+([A-Za-z_]\w*)")
_ROLE = re.compile(r":[a-z]+:`~?([^`]+)`")
_TICKS = re.compile(r"`+([^`]+)`+")
_SEMCONV = re.compile(r'^([A-Z0-9_]+): Final = "([a-z0-9_.]+)"\n"""\n(.*?)\n"""', re.M | re.S)
_SENT_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_IMPERATIVE = {
    "return": "get", "returns": "get", "get": "get", "gets": "get", "create": "create", "creates": "create",
    "build": "build", "builds": "build", "parse": "parse", "parses": "parse", "convert": "convert",
    "converts": "convert", "check": "check", "checks": "check", "add": "add", "adds": "add", "remove": "remove",
    "removes": "remove", "compute": "compute", "computes": "compute", "send": "send", "sends": "send",
    "load": "load", "loads": "load", "save": "save", "saves": "save", "write": "write", "writes": "write",
    "read": "read", "reads": "read", "generate": "generate", "generates": "generate", "validate": "validate",
    "validates": "validate", "update": "update", "updates": "update", "delete": "delete", "deletes": "delete",
    "register": "register", "registers": "register", "render": "render", "renders": "render",
    "format": "format", "formats": "format", "upload": "upload", "uploads": "upload", "download": "download",
    "downloads": "download", "list": "list", "lists": "list", "find": "find", "finds": "find",
    "merge": "merge", "merges": "merge", "split": "split", "splits": "split", "encode": "encode",
    "encodes": "encode", "decode": "decode", "decodes": "decode", "set": "set", "sets": "set",
    "apply": "apply", "applies": "apply", "run": "run", "runs": "run", "wrap": "wrap", "wraps": "wrap",
    "open": "open", "opens": "open", "close": "close", "closes": "close", "resolve": "resolve",
    "resolves": "resolve", "serialize": "serialize", "serializes": "serialize", "draw": "draw", "draws": "draw",
    "extract": "extract", "extracts": "extract", "load_": "load", "make": "make", "makes": "make",
    "initialize": "initialize", "initializes": "initialize", "start": "start", "starts": "start",
    "stop": "stop", "stops": "stop", "copy": "copy", "copies": "copy", "count": "count", "counts": "count",
}


@dataclass
class _Doc:
    package: str
    name: str
    sentence: str
    paragraph: str


@dataclass
class _Corpora:
    docs: list[_Doc] = field(default_factory=list)
    semconv: list[tuple[str, str]] = field(default_factory=list)
    cities: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    mime: list[tuple[str, list[str]]] = field(default_factory=list)
    schema_keywords: list[str] = field(default_factory=list)
    tlds: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    statuses: list[tuple[int, str]] = field(default_factory=list)
    terminals: list[str] = field(default_factory=list)
    used: list[str] = field(default_factory=list)


def _package_dir(name: str) -> Path | None:
    try:
        spec = find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        p = Path(loc)
        if p.is_dir():
            return p
    return None


def _clean_doc(text: str) -> str:
    para = text.strip().split("\n\n")[0]
    para = _ROLE.sub(r"\1", para)
    para = _TICKS.sub(r"\1", para)
    return " ".join(para.split())


def _read_docstrings(c: _Corpora) -> None:
    for pkg in _DOC_PACKAGES:
        root = _package_dir(pkg)
        if root is None:
            continue
        files = sorted(
            p for p in root.rglob("*.py")
            if "test" not in p.parts[-1] and not any(part in ("tests", "testing", "vendor") for part in p.parts)
        )
        if not files:
            continue
        step = max(1, len(files) // _FILES_PER_PACKAGE)
        got = 0
        for f in files[::step][:_FILES_PER_PACKAGE]:
            try:
                text = f.read_text("utf-8", errors="replace")[:250_000]
            except OSError:
                continue
            for m in _TRIPLE.finditer(text):
                before = text[max(0, m.start() - 1200):m.start()]
                stripped = before.rstrip()
                if m.start() > 400 and not stripped.endswith(":"):
                    continue
                names = _DEFNAME.findall(before)
                name = names[-1] if names else f.stem
                para = _clean_doc(m.group(1))
                if not (30 <= len(para) <= 400) or para.startswith((">>>", ":", "..", "#", "-", "Copyright")):
                    continue
                low = para.lower()
                if any(w in low for w in ("deprecated", "http://", "https://", "todo", "parameters ---", "license")):
                    continue
                sentence = _SENT_SPLIT.split(para)[0]
                if len(sentence) < 25:
                    continue
                c.docs.append(_Doc(pkg, name, sentence, para))
                got += 1
        if got:
            c.used.append(f"docstrings:{pkg}")


def _read_semconv(c: _Corpora) -> None:
    root = _package_dir("opentelemetry")
    if root is None:
        return
    folder = root / "semconv" / "_incubating" / "attributes"
    if not folder.is_dir():
        return
    for f in sorted(folder.glob("*_attributes.py")):
        try:
            text = f.read_text("utf-8", errors="replace")
        except OSError:
            continue
        for m in _SEMCONV.finditer(text):
            desc = " ".join(m.group(3).split())
            if desc.lower().startswith("deprecated") or len(desc) < 20:
                continue
            desc = _TICKS.sub(r"\1", desc)
            c.semconv.append((m.group(2), desc[:400]))
    if c.semconv:
        c.used.append("opentelemetry-semconv")


def _read_zones(c: _Corpora) -> None:
    names: list[str] = []
    root = _package_dir("tzdata")
    if root is not None and (root / "zones").is_file():
        names = (root / "zones").read_text("utf-8").split()
        if names:
            c.used.append("tzdata:zones")
    if not names:
        zi = Path("/usr/share/zoneinfo")
        if zi.is_dir():
            for region in sorted(zi.iterdir()):
                if region.is_dir() and region.name[0].isupper():
                    names.extend(f"{region.name}/{p.name}" for p in sorted(region.iterdir()) if p.is_file())
            if names:
                c.used.append("/usr/share/zoneinfo")
    keep = ("Africa", "America", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific")
    cities: set[str] = set()
    regions: set[str] = set()
    for n in names:
        parts = n.split("/")
        if len(parts) < 2 or parts[0] not in keep:
            continue
        city = parts[-1].replace("_", " ")
        if city.isupper() or any(ch.isdigit() for ch in city):
            continue
        cities.add(city)
        if len(parts) == 3:
            regions.add(parts[1].replace("_", " "))
    c.cities = sorted(cities)
    c.regions = sorted(regions)


def _read_mime(c: _Corpora) -> None:
    p = Path("/etc/mime.types")
    if not p.is_file():
        return
    for line in p.read_text("utf-8", errors="replace").splitlines():
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) >= 2 and "/" in parts[0] and len(parts[0]) < 60:
            c.mime.append((parts[0], parts[1:4]))
    if c.mime:
        c.used.append("/etc/mime.types")


def _read_schema_keywords(c: _Corpora) -> None:
    root = _package_dir("jsonschema_specifications")
    if root is None:
        return
    words: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            props = node.get("properties")
            if isinstance(props, dict):
                words.update(k for k in props if k.isidentifier() or k.startswith("$"))
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    for f in sorted((root / "schemas").rglob("*")):
        if not f.is_file():
            continue
        try:
            walk(json.loads(f.read_text("utf-8")))
        except (OSError, ValueError):
            continue
    c.schema_keywords = sorted(words)
    if words:
        c.used.append("jsonschema_specifications metaschemas")


def _read_small_lists(c: _Corpora) -> None:
    root = _package_dir("hypothesis")
    if root is not None:
        p = root / "vendor" / "tlds-alpha-by-domain.txt"
        if p.is_file():
            c.tlds = [t.lower() for t in p.read_text("utf-8").split() if t.isalpha() and t.isascii() and len(t) <= 12]
            if c.tlds:
                c.used.append("hypothesis TLD list")
    root = _package_dir("charset_normalizer")
    if root is not None and (root / "constant.py").is_file():
        text = (root / "constant.py").read_text("utf-8", errors="replace")
        c.languages = sorted(set(re.findall(r'^ {4}"([A-Z][a-z]+)": \[', text, re.M)) - {"English"})
        if c.languages:
            c.used.append("charset_normalizer language names")
    root = _package_dir("requests")
    if root is not None and (root / "status_codes.py").is_file():
        text = (root / "status_codes.py").read_text("utf-8", errors="replace")
        for code, names in re.findall(r"(\d{3}): \(([^)]*)\)", text):
            first = names.split(",")[0].strip().strip("'\"")
            if first.isidentifier():
                c.statuses.append((int(code), first.replace("_", " ")))
        if c.statuses:
            c.used.append("requests status names")
    terms: set[str] = set()
    for base in (Path("/lib/terminfo"), Path("/usr/share/terminfo")):
        if base.is_dir():
            for sub in base.iterdir():
                if sub.is_dir():
                    terms.update(p.name for p in sub.iterdir() if p.is_file())
    c.terminals = sorted(terms)
    if terms:
        c.used.append("terminfo names")


_FALLBACK_DOCS = [
    _Doc("jinja2", "Environment", "The core component of the template engine that stores configuration and globals.", ""),
    _Doc("httpx", "Client", "An HTTP client with connection pooling, HTTP/2, redirects and cookie persistence.", ""),
    _Doc("click", "option", "Attaches an option to the command.", ""),
    _Doc("rich", "Console", "A high level console interface that renders styled text to the terminal.", ""),
    _Doc("yaml", "safe_load", "Parse the first YAML document in a stream and produce the corresponding Python object.", ""),
    _Doc("requests", "Session", "A Requests session that provides cookie persistence and connection pooling.", ""),
    _Doc("dateutil", "parse", "Parse a string in one of the supported formats and return a datetime object.", ""),
    _Doc("tenacity", "retry", "Wrap a function with a retry strategy that waits and stops according to the given policies.", ""),
    _Doc("PIL", "thumbnail", "Make this image into a thumbnail no larger than the given size, preserving the aspect.", ""),
    _Doc("pydantic", "BaseModel", "Base class for creating models whose fields are validated on construction.", ""),
    _Doc("minio", "fput_object", "Uploads data from a file to an object in a bucket.", ""),
    _Doc("prometheus_client", "Histogram", "A histogram tracks the size and number of events in buckets.", ""),
]
_FALLBACK_SEMCONV = [
    ("http.request.method", "HTTP request method."),
    ("db.query.text", "The database query being executed."),
    ("k8s.pod.name", "The name of the Pod."),
    ("cloud.region", "The geographical region within a cloud provider."),
    ("messaging.destination.name", "The message destination name."),
    ("process.runtime.version", "The version of the runtime of this process."),
]
_FALLBACK_CITIES = [
    "Lisbon", "Nairobi", "Montreal", "Osaka", "Lagos", "Bogota", "Krakow", "Manila", "Auckland", "Tunis",
    "Denver", "Helsinki", "Lima", "Jakarta", "Casablanca", "Adelaide", "Halifax", "Karachi", "Reykjavik", "Hanoi",
]
_FALLBACK_LANGS = [
    "Spanish", "German", "French", "Japanese", "Portuguese", "Polish", "Turkish", "Vietnamese", "Korean", "Hindi",
    "Arabic", "Italian", "Dutch", "Swedish", "Indonesian", "Ukrainian", "Czech", "Greek",
]
_FALLBACK_MIME = [
    ("application/pdf", ["pdf"]), ("image/heic", ["heic"]), ("application/vnd.oasis.opendocument.text", ["odt"]),
    ("text/csv", ["csv"]), ("application/epub+zip", ["epub"]), ("audio/flac", ["flac"]), ("video/x-matroska", ["mkv"]),
]

_CORPORA: _Corpora | None = None


def _corpora() -> _Corpora:
    global _CORPORA
    if _CORPORA is not None:
        return _CORPORA
    c = _Corpora()
    for reader in (_read_docstrings, _read_semconv, _read_zones, _read_mime, _read_schema_keywords, _read_small_lists):
        try:
            reader(c)
        except Exception:  # a damaged or unexpected source is skipped, never fatal
            continue
    if len(c.docs) < 50:
        c.docs.extend(_FALLBACK_DOCS)
    if len(c.semconv) < 20:
        c.semconv.extend(_FALLBACK_SEMCONV)
    if len(c.cities) < 20:
        c.cities = sorted(set(c.cities) | set(_FALLBACK_CITIES))
    if not c.regions:
        c.regions = ["Argentina", "Indiana", "Kentucky", "North Dakota"]
    if len(c.mime) < 10:
        c.mime.extend(_FALLBACK_MIME)
    if len(c.schema_keywords) < 10:
        c.schema_keywords = ["additionalProperties", "required", "enum", "oneOf", "anyOf", "pattern", "minItems",
                             "maxLength", "properties", "items", "const", "format"]
    if len(c.tlds) < 20:
        c.tlds = ["com", "org", "net", "io", "co", "de", "fr", "nl", "ca", "au", "in", "br", "es", "it", "se",
                  "dev", "app", "shop", "xyz", "info", "uk", "jp", "mx", "pl"]
    if len(c.languages) < 8:
        c.languages = list(_FALLBACK_LANGS)
    if not c.statuses:
        c.statuses = [(400, "bad request"), (401, "unauthorized"), (403, "forbidden"), (404, "not found"),
                      (409, "conflict"), (413, "request entity too large"), (429, "too many requests"),
                      (500, "internal server error"), (502, "bad gateway"), (504, "gateway timeout")]
    if not c.terminals:
        c.terminals = ["xterm-256color", "tmux-256color", "screen", "linux", "vt100", "rxvt-unicode-256color"]
    _CORPORA = c
    return c


# --------------------------------------------------------------------------------------------------
# Hand-written vocabulary
# --------------------------------------------------------------------------------------------------

_FIRST = [
    "Amara", "Tomasz", "Priya", "Mateo", "Keiko", "Olu", "Sven", "Lucia", "Farid", "Hannah", "Diego", "Mei", "Rafael",
    "Ingrid", "Kwame", "Sofia", "Arjun", "Noor", "Brendan", "Yuki", "Camille", "Tunde", "Greta", "Ravi", "Elena",
    "Jonas", "Aisha", "Marek", "Lena", "Samir", "Bea", "Hugo", "Chloe", "Darnell", "Ines", "Pavel", "Rosa", "Ken",
    "Fatima", "Owen", "Nadia", "Luis", "Maeve", "Tariq", "Ana", "Felix", "Zara", "Colm", "Esi", "Viktor",
]
_LAST = [
    "Okafor", "Nowak", "Patel", "Fernandez", "Tanaka", "Adeyemi", "Lindqvist", "Rossi", "Haddad", "Schmidt", "Moreno",
    "Chen", "Costa", "Berg", "Mensah", "Ricci", "Iyer", "Rahman", "Murphy", "Sato", "Dubois", "Bello", "Novak",
    "Kowalski", "Garcia", "Nguyen", "O'Neill", "Petrov", "Alvarez", "Kimura", "Andersen", "Silva", "Hughes", "Kaur",
]
_WHO = ["sister", "brother", "mum", "dad", "husband", "wife", "partner", "boss", "best friend", "neighbour",
        "daughter", "son", "grandmother", "roommate", "coworker", "uncle", "aunt", "father-in-law", "landlord"]
_BRAND_A = ["Bright", "North", "Lumen", "Quill", "Cedar", "Harbor", "Nimbus", "Tandem", "Orbit", "Maple", "Pilot",
            "Sage", "Copper", "Kite", "Atlas", "Fable", "Beacon", "Juniper", "Vela", "Mosaic", "Ember", "Tidal"]
_BRAND_B = ["ly", "wise", "path", "stack", "hub", "desk", "loop", "works", "mind", "nest", "scope", "line", "bay",
            "craft", "labs", "ware", "note", "way", "cast", "grid"]

_DOMAINS: dict[str, tuple[list[str], list[str]]] = {
    "weddings": (
        ["our 90-person barn wedding", "a small courthouse wedding", "the rehearsal dinner", "a vow renewal for our 25th",
         "my sister's baby shower", "my parents' 40th anniversary party", "a destination wedding in {city}",
         "the seating chart", "a backyard engagement party", "the bachelorette weekend", "my daughter's quinceañera",
         "a memorial reception for my grandfather", "a surprise 60th birthday", "the wedding welcome bags"],
        ["How far ahead should I book a caterer for {s}?",
         "Can you help me write a toast for {s}? I've known them for {n2} years and I get nervous speaking.",
         "What's a realistic budget for {s} with about {n2} guests?",
         "Make me a day-of timeline for {s} starting at {time}.",
         "How do I politely tell relatives that {s} is adults-only?",
         "We have {money} total for {s}. Where do people usually overspend?",
         "It might rain on the day of {s}. What's a good plan B that isn't a tent?"]),
    "volunteering": (
        ["Saturday shifts at the food bank", "coaching under-10s football", "adult literacy tutoring",
         "walking dogs at the animal shelter", "hospice volunteering", "a river cleanup day", "crisis line training",
         "a charity 5k we're organising", "joining the board of a small nonprofit", "a community fridge",
         "teaching seniors to use smartphones", "a repair café"],
        ["I'm thinking about {s}. What should I expect in the first month?",
         "How do I find {n} more volunteers for {s} without begging everyone on Facebook?",
         "Write a short thank-you note for the people who helped with {s}.",
         "Can I put {s} on my CV, and how would I phrase it?",
         "What training or checks usually come with {s}?"]),
    "insurance": (
        ["a burst pipe under my kitchen sink", "hail damage to my car roof", "a bike stolen from my garage",
         "a rear-end collision at a red light", "water coming through the ceiling from the flat upstairs",
         "a cancelled flight on a trip I'd insured", "a dog bite at my house", "a denied dental claim",
         "storm damage to our fence", "a laptop damaged by a spilled drink", "a fire in the apartment next door",
         "a tree that fell on my neighbour's shed"],
        ["My insurer denied my claim for {s}. How do I write an appeal?",
         "What photos and paperwork should I gather for {s}?",
         "Does a normal home policy usually cover {s}?",
         "The adjuster offered {money} for {s} and it seems low. What are my options?",
         "How long does a claim for {s} normally take to settle?",
         "Should I even claim for {s} if my excess is {money}?"]),
    "immigration": (
        ["a spousal visa application", "renewing my work permit", "my citizenship interview", "extending a student visa",
         "a permanent residence application", "getting an apostille on my birth certificate",
         "a certified translation of my diploma", "proof of address for the residence permit",
         "the biometrics appointment", "a visitor visa for my parents", "registering my address after moving",
         "a name change on my residence card"],
        ["What documents do people usually need for {s}?",
         "I missed a deadline for {s} by {n} days. What can I do now?",
         "Can you help me draft a cover letter for {s}?",
         "How do I explain a {n}-month gap in employment in {s}?",
         "My surname is spelled differently on two documents for {s}. Is that going to be a problem?",
         "What kind of questions get asked at {s}?"]),
    "beekeeping": (
        ["a swarm hanging in my neighbour's hedge", "varroa mite counts", "a hive that seems queenless",
         "overwintering a nucleus colony", "taking honey off the supers", "Langstroth versus top-bar hives",
         "feeding sugar syrup in autumn", "wax moth damage in stored frames", "requeening an angry colony",
         "a first beekeeping suit", "oxalic acid treatment", "bees robbing a weak hive"],
        ["Second-year beekeeper here. What should I do about {s}?",
         "Is {s} something I need to deal with this week or can it wait?",
         "How do experienced keepers handle {s}?",
         "We have {n} hives in a suburban garden. Any advice on {s}?"]),
    "photography": (
        ["shooting the northern lights", "a 50mm f/1.8 lens", "portraits with one speedlight", "RAW versus JPEG",
         "long exposures of waterfalls", "street photography etiquette", "editing skin tones in Lightroom",
         "focus stacking for macro shots", "buying a used mirrorless body", "a contract for my first paid wedding shoot",
         "photographing my kid's indoor basketball games", "scanning old family negatives"],
        ["What settings would you start with for {s}?",
         "I'm a beginner with a {n}-year-old camera. Is {s} realistic for me?",
         "What am I doing wrong? My photos from {s} come out soft and noisy.",
         "Explain {s} to me like I've only ever used a phone camera."]),
    "astronomy": (
        ["seeing Saturn's rings for the first time", "a 130mm reflector telescope", "the Perseid meteor shower",
         "light pollution in the suburbs", "collimating a Newtonian", "spotting the ISS",
         "finding the Andromeda galaxy", "watching a solar eclipse safely", "polar alignment for a tracking mount",
         "astrophotography with a phone", "the Bortle scale", "a dark-sky trip near {city}"],
        ["What's the best way to approach {s}?",
         "My kid is obsessed with space. Is {s} a good thing to try together?",
         "Is {s} doable with binoculars or do I need more gear?",
         "What time of night and year is best for {s}?"]),
    "chess": (
        ["the London System", "the Najdorf Sicilian", "rook endgames", "time trouble in blitz",
         "the Queen's Gambit Declined", "daily tactics puzzles", "being stuck at 1400 for a year",
         "an opening repertoire for black", "analysing my games with an engine", "nerves at my first rated tournament",
         "the Caro-Kann advance variation", "king and pawn endgames"],
        ["How should a club player study {s}?",
         "Give me a {n}-week plan that focuses on {s}.",
         "Why do I keep losing when it comes to {s}?",
         "What are the key ideas behind {s}, without a wall of move lists?"]),
    "knitting": (
        ["a top-down raglan sweater", "cabled mittens", "reading a lace chart", "fixing a dropped stitch three rows down",
         "merino versus alpaca yarn", "blocking a shawl", "magic loop socks", "colourwork floats that pucker",
         "getting gauge", "a baby blanket for a friend due in {month}", "my first pair of socks", "steeking a cardigan"],
        ["I've been knitting for about {n} months. Any tips for {s}?",
         "How much yarn would I need for {s}?",
         "What's the most common mistake with {s}?",
         "Can you explain {s} step by step? The pattern is confusing me."]),
    "fishing": (
        ["fly fishing for brown trout", "surf casting from the beach", "ice fishing safety", "choosing a spinning reel",
         "catch-and-release handling", "bass lures in midsummer", "tying a palomar knot", "getting a fishing licence",
         "kayak fishing", "reading a river's current seams", "fishing with my kids for the first time", "night fishing for catfish"],
        ["Where do I even start with {s}?",
         "What gear do I actually need for {s} if I'm on a budget of {money}?",
         "Any tips for {s} near {city}?",
         "I keep getting skunked. What should I change about {s}?"]),
    "homebrewing": (
        ["my first all-grain batch", "an American pale ale", "a stuck fermentation", "kegging versus bottling",
         "dry hopping timing", "sanitising equipment", "a kettle sour", "hard cider from our own apples",
         "adjusting water chemistry", "fermentation temperature control in a hot garage", "a mead for a wedding gift",
         "off-flavours that taste like butter"],
        ["What should I watch out for with {s}?",
         "My hydrometer says {og} and it hasn't moved in {n} days. Is this about {s}?",
         "Give me a simple process for {s}.",
         "Is {s} worth the extra effort for a hobby brewer?"]),
    "retirement": (
        ["rolling over an old 401(k)", "a Roth conversion", "taking my pension as a lump sum or annuity",
         "retiring at 58", "sequence of returns risk", "downsizing our house", "health insurance before Medicare",
         "the 4% rule", "required minimum distributions", "working part-time in retirement",
         "drawing Social Security early", "moving abroad to retire in {city}", "retiring near family in {region}"],
        ["I'm {age} with about {savings} saved. How should I think about {s}?",
         "Explain {s} in plain English. My financial adviser lost me.",
         "What questions should I ask a fee-only planner about {s}?",
         "My {who} and I disagree about {s}. What are the trade-offs?"]),
    "interviews": (
        ["a behavioural interview", "a panel interview for a nursing job", "the 'greatest weakness' question",
         "negotiating salary", "a consulting case interview", "a take-home coding test", "a final-round interview with the director",
         "a thank-you email after the interview", "explaining that I was laid off", "a teaching demo lesson",
         "a phone screen with a recruiter", "an interview in a second language"],
        ["I have {s} on {day}. How should I prepare?",
         "Can you run a mock version of {s} with me? Ask me one question at a time.",
         "What do interviewers actually look for in {s}?",
         "I'm switching careers after {n} years in retail. How do I handle {s}?"]),
    "renting": (
        ["breaking my lease early", "security deposit deductions", "moving across the country with a cat",
         "setting up utilities in a new flat", "mould in my rental bathroom", "noisy upstairs neighbours",
         "a rent increase of {pct}%", "subletting for the summer", "a landlord who won't fix the heating",
         "packing a two-bedroom flat in a weekend"],
        ["What are my options about {s}?", "Can you help me write a firm but polite email about {s}?",
         "Is {s} normal or am I being taken advantage of?", "Make me a checklist for {s}."]),
    "car": (
        ["brakes squeaking when it's cold", "a check engine light that comes and goes", "winter tyres",
         "buying a used hybrid", "how often to change the oil", "a battery that keeps dying",
         "a rattle from under the car at {n2} km/h", "a quote of {money} for a timing belt", "a car that pulls to the left"],
        ["Should I be worried about {s}?", "What's the likely cause of {s}?", "Is {s} something I can DIY?"]),
    "parenting": (
        ["a toddler who won't sleep", "screen time for a 9-year-old", "starting kindergarten", "a picky eater",
         "teaching my teen to drive", "sibling fights", "potty training", "a kid who hates reading",
         "a 14-year-old who wants a phone", "homework battles every night"],
        ["Any advice on {s}? We're exhausted.", "What do experts say about {s}?",
         "How did other parents handle {s}?", "Give me three things to try this week for {s}."]),
    "fitness": (
        ["couch to 5k", "knee pain after running", "high-protein meal prep", "my first half marathon",
         "stretches for desk workers", "freestyle breathing in swimming", "a home workout with no equipment",
         "getting back to the gym after {n} months off", "strength training at {age}"],
        ["Can you make me a plan for {s}?", "What's a realistic goal for {s} in {n} weeks?",
         "I'm {age}. Is {s} safe for me?"]),
    "cooking": (
        ["feeding {n2} people on a tight budget", "a gluten-free birthday cake", "leftover rice",
         "a slow-cooker chilli", "sharpening kitchen knives", "fresh pasta without a machine",
         "a vegetarian Christmas main", "packed lunches for a week", "a potluck dish that travels well"],
        ["Ideas for {s}?", "Can you give me a shopping list for {s}?", "What can go wrong with {s}?"]),
    "pets": (
        ["adopting a senior dog", "a cat scratching the sofa", "crate training a puppy", "a rabbit's diet",
         "vet bills of {money}", "introducing a new cat to our old one", "a dog that barks at the door"],
        ["How do I handle {s}?", "Is {s} something I should see a vet about?", "What worked for other owners with {s}?"]),
    "genealogy": (
        ["finding my great-grandfather's ship manifest", "DNA test matches I don't recognise",
         "reading old church records", "a family tree going back to {city}", "a name that changed at immigration"],
        ["Where would I look for {s}?", "How do genealogists approach {s}?"]),
    "diy": (
        ["hanging heavy shelves on drywall", "a leaking kitchen tap", "painting kitchen cabinets",
         "choosing a cordless drill", "a workbench for a small garage", "regrouting a shower", "a squeaky floorboard"],
        ["How do I go about {s}?", "What tools do I need for {s}?", "Is {s} a beginner job or should I call someone?"]),
    "music": (
        ["barre chords on guitar", "a choir audition", "a daily piano practice routine", "recording a podcast at home",
         "learning to read sheet music at {age}", "stage fright before a recital"],
        ["How should I practise {s}?", "Any tips for {s}?", "How long does it take to get decent at {s}?"]),
    "small_business": (
        ["pricing handmade candles", "my Etsy shop", "a food truck permit", "bookkeeping for a cleaning business",
         "hiring my first employee", "a logo for my bakery", "quarterly tax estimates as a freelancer",
         "whether to buy the .{tld} or the .com domain"],
        ["What should I know about {s}?", "Can you help me think through {s}?", "Where do small businesses go wrong with {s}?"]),
    "elder_care": (
        ["choosing a care home for my mum", "power of attorney", "a parent with early dementia",
         "home modifications for my dad after a fall", "respite care", "hearing aids my grandfather refuses to wear"],
        ["How do families usually handle {s}?", "What should I ask about {s}?", "I'm overwhelmed by {s}. Where do I start?"]),
    "outdoors": (
        ["a first overnight sail", "winter camping", "a backpacking stove", "hiking with a four-year-old",
         "a multi-day trek near {city}", "bear safety when camping", "a canoe trip for beginners"],
        ["What should I pack for {s}?", "What are the risks with {s}?", "How do I plan {s}?"]),
    "tech_help": (
        ["my laptop being really slow", "recovering deleted photos", "setting up mesh wifi", "a .{ext} file I can't open",
         "a phishing email that got my password", "moving photos off an old phone", "a printer that says offline",
         "password managers", "two-factor authentication for my parents", "email for my new .{tld} domain",
         "a website on a .{tld} domain that shows as not secure"],
        ["Can you help with {s}?", "What's the easiest fix for {s}?", "Explain {s} for someone who isn't techy."]),
}

_GENERIC_ASKS = [
    "What should I know about {s}?", "Can you give me a beginner's checklist for {s}?",
    "I'm {age} and completely new to this. How do I get started with {s}?",
    "What are the most common mistakes with {s}?", "Pros and cons of {s}, briefly?",
    "My {who} recommended {s}. Is it worth it?", "any tips for {s} on a budget of about {money}",
    "Quick one: how long does {s} usually take?", "Explain {s} like I'm a complete beginner",
    "What would you do about {s} if you were me?",
]
_PREFIXES = ["", "", "", "", "Hi! ", "Quick question. ", "ok so ", "Hello, ", "Hey, ", "Sorry if this is basic. ",
             "I'm in {city} if that matters. ", "Long story short, ", "Need help: "]
_SUFFIXES = ["", "", "", "", " Thanks!", " Keep it short please.", " Bullet points please.", " thanks in advance",
             " (I'm not an expert)", " What do you think?", " Be honest."]
_FOLLOWUPS = [
    "ok that helps. can you make it shorter?", "What would change if the budget was only {money}?",
    "Can you put that in a table?", "why is that?", "hmm, I already tried that and it didn't work",
    "Can you give me 3 alternatives?", "What's the first thing I should do tomorrow?",
    "Thanks. And how long does that usually take?", "Could you write that as a message I can send to my {who}?",
    "wait, I forgot to say I'm in {city}. does that change anything?", "Is there anything I should avoid?",
    "Great, now turn it into a checklist.", "How much would that cost roughly?", "ok and what about {s2}?",
    "explain the second point more", "Can you double-check that? Something seems off.", "perfect thank you!!",
    "Can you say that more simply?", "What questions should I ask them?",
    "Give me a step by step plan for the next {n} weeks.", "My {who} thinks that's wrong. Who's right?",
    "Actually, let's go back to the first option.", "can you be more specific", "Sorry, what does that mean?",
    "And if it doesn't work out?", "Write it again but less formal.", "That's too long, give me the top 3.",
]

_FIELDS: dict[str, list[str]] = {
    "organic chemistry": ["SN1 versus SN2 reactions", "chirality", "aromaticity", "Grignard reagents", "protecting groups", "Diels-Alder reactions"],
    "biochemistry": ["enzyme kinetics", "the Krebs cycle", "allosteric regulation", "protein folding", "oxidative phosphorylation"],
    "cell biology": ["cell cycle checkpoints", "endocytosis", "apoptosis", "the cytoskeleton", "membrane potential"],
    "genetics": ["linkage disequilibrium", "genomic imprinting", "Hardy-Weinberg equilibrium", "CRISPR off-target effects", "epistasis"],
    "ecology": ["keystone species", "trophic cascades", "island biogeography", "r and K selection", "nitrogen cycling"],
    "classical mechanics": ["Lagrangian mechanics", "angular momentum conservation", "damped oscillators", "the Coriolis force", "rigid body rotation"],
    "electromagnetism": ["Maxwell's equations", "Faraday's law of induction", "the skin effect", "the Poynting vector", "dielectric polarisation"],
    "thermodynamics": ["entropy", "Carnot efficiency", "Gibbs free energy", "phase diagrams", "the Joule-Thomson effect"],
    "quantum physics": ["the uncertainty principle", "quantum tunnelling", "electron spin", "entanglement", "the hydrogen atom spectrum"],
    "astrophysics": ["the Hertzsprung-Russell diagram", "red giants", "dark matter evidence", "exoplanet transits", "neutron stars"],
    "linear algebra": ["eigenvalues", "singular value decomposition", "change of basis", "positive definite matrices", "the rank-nullity theorem"],
    "calculus": ["the chain rule", "Taylor series", "improper integrals", "Lagrange multipliers", "the divergence theorem"],
    "probability": ["conditional probability", "the law of large numbers", "Markov chains", "the central limit theorem", "Bayes' theorem"],
    "statistics": ["p-values", "confidence intervals", "heteroscedasticity", "bootstrap resampling", "multiple comparisons"],
    "algorithms": ["dynamic programming", "Dijkstra's algorithm", "amortised analysis", "NP-completeness", "union-find"],
    "operating systems": ["virtual memory", "context switching", "deadlock", "page replacement", "copy-on-write"],
    "computer networks": ["TCP congestion control", "BGP route selection", "NAT traversal", "DNS caching", "TLS handshakes"],
    "databases": ["transaction isolation levels", "B-tree indexes", "query planning", "normalisation", "write-ahead logging"],
    "machine learning": ["overfitting", "gradient boosting", "cross-validation", "attention mechanisms", "the bias-variance trade-off"],
    "cryptography": ["public-key encryption", "hash collisions", "zero-knowledge proofs", "forward secrecy", "elliptic curves"],
    "software engineering": ["dependency injection", "semantic versioning", "test doubles", "event sourcing", "technical debt"],
    "microeconomics": ["price elasticity", "deadweight loss", "monopolistic competition", "Giffen goods", "moral hazard"],
    "macroeconomics": ["the Phillips curve", "quantitative easing", "fiscal multipliers", "purchasing power parity", "stagflation"],
    "finance": ["bond duration", "the Black-Scholes model", "the efficient market hypothesis", "leverage", "discounted cash flow"],
    "accounting": ["accrual accounting", "depreciation methods", "deferred revenue", "goodwill impairment", "working capital"],
    "world history": ["the Peace of Westphalia", "the Meiji Restoration", "the fall of Constantinople", "the partition of India", "the Congress of Vienna"],
    "ancient history": ["the Bronze Age collapse", "Athenian democracy", "the Punic Wars", "the Silk Road", "the Maurya Empire"],
    "philosophy": ["the categorical imperative", "the problem of induction", "utilitarianism", "the ship of Theseus", "Cartesian dualism"],
    "psychology": ["cognitive dissonance", "the bystander effect", "working memory", "attachment theory", "operant conditioning"],
    "sociology": ["social capital", "the tragedy of the commons", "anomie", "cultural reproduction", "gentrification"],
    "political science": ["the median voter theorem", "federalism", "proportional representation", "separation of powers", "soft power"],
    "law": ["consideration in contract law", "mens rea", "adverse possession", "the hearsay rule", "judicial review"],
    "medicine": ["type 2 diabetes management", "beta blockers", "sepsis recognition", "the Glasgow Coma Scale", "antibiotic resistance"],
    "nutrition": ["glycaemic index", "protein requirements", "vitamin D deficiency", "intermittent fasting evidence", "dietary fibre"],
    "geology": ["plate tectonics", "the rock cycle", "radiometric dating", "glacial landforms", "earthquake magnitude scales"],
    "climate science": ["radiative forcing", "the carbon cycle", "ocean acidification", "climate sensitivity", "El Niño"],
    "literature": ["unreliable narrators", "the Petrarchan sonnet", "magical realism", "free indirect discourse", "the bildungsroman"],
    "linguistics": ["phonemes", "the Sapir-Whorf hypothesis", "code-switching", "morphological typology", "garden-path sentences"],
    "music theory": ["the circle of fifths", "modal interchange", "voice leading", "syncopation", "secondary dominants"],
    "art history": ["Impressionism", "the Bauhaus", "chiaroscuro", "Byzantine mosaics", "Abstract Expressionism"],
    "civil engineering": ["reinforced concrete", "load paths", "soil liquefaction", "truss analysis", "stormwater detention"],
    "electrical engineering": ["op-amp feedback", "Nyquist sampling", "three-phase power", "impedance matching", "PID control"],
}
_TASKS = ["explain {c}", "derive or justify {c}", "compare {c} with a closely related idea",
          "list common misconceptions about {c}", "give a worked example of {c}",
          "write an exam question with a model answer on {c}", "summarise the history of {c}",
          "describe real-world applications of {c}"]
_LEVELS = ["an introductory", "an undergraduate", "a graduate", "an expert"]


_CONCEPT_LIST = [(f, c) for f, cs in _FIELDS.items() for c in cs]


def _concepts() -> list[tuple[str, str]]:
    return _CONCEPT_LIST


_POLICY: dict[str, list[str]] = {
    "HR": [
        "Employees accrue {leave} days of paid leave per year, rising to {leave2} after five years of service.",
        "Parental leave is {n} weeks at full pay for the primary caregiver and {n2} days for the secondary caregiver.",
        "Expense claims must be submitted within {n} days with itemised receipts attached.",
        "Remote work from another country is allowed for up to {n} weeks a year with manager approval.",
        "Performance reviews happen twice a year; calibration sessions are held in {month}.",
        "The employee assistance programme offers {n} free counselling sessions per issue.",
    ],
    "Finance": [
        "Purchases above {money} require a purchase order approved by the budget holder.",
        "Invoices are paid net {n2} days from receipt unless the contract specifies otherwise.",
        "Corporate cards must be reconciled by the {n}th of each month.",
        "Travel is booked in economy for flights under {n} hours.",
        "Capital expenditure requests are reviewed by the committee in {month}.",
    ],
    "Legal": [
        "All vendor contracts must include a data processing addendum before any personal data is shared.",
        "NDAs with prospective customers use the mutual template; one-way NDAs need legal review.",
        "Marketing claims about competitors must be substantiated and approved by Legal.",
        "Open-source components with copyleft licences need approval before shipping in client deliverables.",
    ],
    "Facilities": [
        "The {city} office is open from 7am to 8pm; after-hours access requires a badge request.",
        "Meeting rooms for more than {n2} people must be booked through the front desk.",
        "Bike storage is in the basement; lockers are assigned for {n} months at a time.",
        "Fire drills take place quarterly; wardens are listed on each floor.",
    ],
    "Sales": [
        "Discounts above {pct}% need approval from the regional director.",
        "Quotes are valid for {n2} days and must reference the current price book.",
        "Enterprise trials last {n} weeks and require a named executive sponsor.",
    ],
}
_EMPLOYEE_Q = {
    "HR": ["How many days of leave do I get after {n} years?", "Can I work from {city} for a month next summer?",
           "What's the deadline for expense claims?", "How does parental leave work for the secondary caregiver?",
           "When is the next performance calibration?"],
    "Finance": ["Do I need a PO for a {money} software licence?", "When do suppliers get paid?",
                "Can I book premium economy for a {n}-hour flight?", "When do I need to reconcile my card?"],
    "Legal": ["Can we share customer emails with a new vendor before the DPA is signed?",
              "Which NDA template should I use for a prospect?", "Can we use a GPL library in a client project?"],
    "Facilities": ["Is the {city} office open on Saturdays?", "How do I book the big meeting room for {n2} people?",
                   "Where can I leave my bike?"],
    "Sales": ["Can I offer a {pct}% discount without approval?", "How long is a quote valid?",
              "What do I need to start an enterprise trial?"],
    "IT": ["What does {attr} mean in our dashboards?", "How do I {howto} with {pkg}?",
           "Our runbook mentions {attr}. What is it?", "Why is the {status} error showing up in the gateway logs?"],
}

_CLAUSES = [
    "The Supplier shall indemnify and hold harmless the Customer against all losses, damages and costs arising out of any breach of this Agreement by the Supplier, save that the Supplier's aggregate liability shall not exceed {money}.",
    "Either party may terminate this Agreement for convenience on {n2} days' written notice, provided that all fees accrued up to the termination date remain payable.",
    "This Agreement shall renew automatically for successive periods of {n} months unless either party gives notice of non-renewal at least {n2} days before the end of the then-current term.",
    "The Receiving Party shall keep the Confidential Information strictly confidential for a period of {n} years following termination and shall not disclose it to any third party without prior written consent.",
    "This Agreement shall be governed by the laws applicable in {city}, and the parties submit to the exclusive jurisdiction of its courts.",
    "For a period of {n} months after the end of employment, the Employee shall not solicit any client of the Company with whom the Employee had material dealings.",
    "All invoices are payable within {n2} days of receipt; late payments bear interest at {pct}% per annum above the base rate.",
    "All intellectual property rights in the Deliverables shall vest in the Client upon full payment of the Fees.",
    "The Processor shall process Personal Data only on documented instructions from the Controller and shall notify the Controller of a personal data breach without undue delay and in any event within {n2} hours.",
    "Neither party shall be liable for any failure or delay caused by events beyond its reasonable control, including epidemic, flood, labour dispute or failure of a utility service.",
    "The Contractor shall maintain professional indemnity insurance of not less than {money} per claim for the duration of the Services and {n} years thereafter.",
    "The Tenant shall not assign, sublet or part with possession of the Premises or any part thereof without the prior written consent of the Landlord, such consent not to be unreasonably withheld.",
    "This policy does not cover loss or damage caused by gradual deterioration, wear and tear, rust, mould or any process of cleaning or restoring.",
    "The insurer shall not be liable for any claim notified more than {n2} days after the insured became aware of the circumstances giving rise to it.",
]
_CLAIM_NOTES = [
    "Claimant {name} {last} reports {subject} on {date}. Estimated repair {money}. Photos received, contractor quote pending. Policy {policy}.",
    "Call note: insured says {subject}; first noticed {date}. Has not yet arranged repairs. Third party involved: {yn}. Wants to know if excess applies.",
    "Loss date {date}. Cause reported: {subject}. Police reference {ref}. Items claimed: {items}. Total claimed {money}.",
    "Policyholder {last} disputes the settlement of {money} for {subject}; says a second quote came in {pct}% higher.",
]
_SUPPORT = [
    "my bill went up by {money} this month and nobody told me why", "I was charged twice for order #{order}",
    "how do I file a claim for {ins}?", "the app keeps logging me out every time I open it",
    "I need to change the name on my account, I got married", "my internet drops every evening around {time}",
    "can I move my flight on {day} to a later one without paying the fee?", "where is my refund? it's been {n2} days",
    "I want to cancel my subscription but the button doesn't work", "my package says delivered but it isn't here",
    "how do I add my {who} to my plan?", "the meter reading on my bill is wrong",
    "I'm moving to {city} next month, can I keep my contract?", "I didn't make this transaction of {money}",
    "why was my claim for {ins} rejected?", "your website won't accept my postcode",
    "your emails to my .{tld} address never arrive", "the signup form says my .{tld} email is invalid",
]
_SUPPORT_FOLLOW = [
    "that didn't help", "can I speak to a human please", "my account number is {order}", "ok I tried that, still the same",
    "it's been like this since {day}", "yes that's the one", "no, the other order", "how long will that take?",
    "thank you that's sorted", "this is the third time I'm asking", "I'm on the mobile app if that matters",
]
_UI_STRINGS = [
    "Your session has expired. Please sign in again.", "{0} items selected", "Delete {name}? This can't be undone.",
    "Upload failed: the file is larger than %s MB.", "Welcome back, {{first_name}}!", "Save changes before leaving?",
    "We sent a verification code to <b>{0}</b>.", "No results for “%s”. Try a different search.",
    "Your order has shipped and should arrive by {date}.", "Password must contain at least %d characters.",
    "Invite teammates to collaborate on this project.", "You have {count} unread messages.",
    "Something went wrong. Please try again later.", "Enable notifications to get reminders for upcoming classes.",
    "Choose a plan that fits your team.", "Payment declined. Check your card details or use another method.",
    "This link will expire in {hours} hours.", "Drag and drop files here, or <a>browse</a>.",
    "Are you sure you want to leave this group?", "Your subscription renews on {0}.",
]
_NEWS = [
    "The city council of {city} voted {n2} to {n} on Tuesday to extend the protected bike-lane network to the harbour district.",
    "Shares of the regional lender fell {pct}% after it disclosed higher-than-expected loan-loss provisions for the quarter.",
    "Researchers reported that the new catalyst cut the energy needed for ammonia synthesis by roughly a third in laboratory tests.",
    "The central bank held its policy rate steady but signalled that quantitative tightening would slow from {month}.",
    "A heat advisory remains in effect for {city} through the weekend, with overnight lows not expected to fall below 25°C.",
    "The court ruled that the arbitration clause was unconscionable and therefore unenforceable against the consumer plaintiffs.",
    "Officials said the rail strike would affect about {pct}% of commuter services between {city} and the airport.",
    "The startup raised {money} in a seed round led by a climate-focused fund to build heat-pump retrofits for apartment blocks.",
    "Astronomers detected water vapour in the atmosphere of a sub-Neptune orbiting in its star's habitable zone.",
    "The museum will return {n2} artefacts to their country of origin under a new restitution agreement.",
]
_PRODUCTS = ["wireless earbuds", "standing desk", "air fryer", "running shoes", "baby monitor", "robot vacuum",
             "electric kettle", "hiking backpack", "office chair", "smart thermostat", "yoga mat", "espresso machine",
             "phone case", "LED desk lamp", "cast-iron skillet", "kids' scooter", "mattress topper", "dash cam"]
_REVIEW = [
    "The {p} stopped working after {n} weeks and support never replied.", "Honestly the best {p} I've owned, worth every penny.",
    "{p} arrived scratched but it works fine. Packaging was poor.", "It's ok. The {p} does the job but feels cheap.",
    "Returned the {p}; it was way louder than the description said.", "Second {p} I've bought from them, still happy after a year.",
    "Delivery took {n2} days which is ridiculous, product itself is fine.", "The {p} is great but the app it needs is awful.",
]
_CATEGORIES = [
    ["billing", "technical issue", "account access", "cancellation", "feedback", "other"],
    ["positive", "neutral", "negative"],
    ["claim status", "new claim", "policy change", "complaint", "document request"],
    ["shipping", "returns", "product defect", "payment", "general question"],
]


# --------------------------------------------------------------------------------------------------
# Slots, small helpers
# --------------------------------------------------------------------------------------------------


def _money(rng: random.Random) -> str:
    amount = rng.choice([80, 150, 240, 400, 650, 900, 1200, 1800, 2500, 4000, 7500, 12000, 25000])
    cur = rng.choice(["$", "$", "$", "£", "€", "€", "CAD ", "AUD "])
    return f"{cur}{amount:,}"


class _Slots(dict[str, str]):
    """Fill template slots lazily; every missing key is drawn once per text."""

    def __init__(self, rng: random.Random, c: _Corpora, **fixed: str) -> None:
        super().__init__(**fixed)
        self.rng = rng
        self.c = c

    def __missing__(self, key: str) -> str:
        r, c = self.rng, self.c
        v: str
        if key in ("n", "n_"):
            v = str(r.randint(2, 12))
        elif key == "n2":
            v = str(r.choice([15, 20, 30, 40, 45, 60, 75, 90, 120, 150]))
        elif key == "leave":
            v = str(r.randint(20, 28))
        elif key == "leave2":
            v = str(int(self["leave"]) + r.randint(2, 5))
        elif key == "money":
            v = _money(r)
        elif key in ("city", "city2"):
            v = r.choice(c.cities)
        elif key == "who":
            v = r.choice(_WHO)
        elif key in ("name", "name2"):
            v = r.choice(_FIRST)
        elif key == "last":
            v = r.choice(_LAST)
        elif key == "age":
            v = str(r.randint(19, 72))
        elif key == "time":
            v = f"{r.randint(7, 20)}:{r.choice(['00', '15', '30', '45'])}"
        elif key == "day":
            v = r.choice(["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "the 14th", "next week"])
        elif key == "month":
            v = r.choice(["January", "February", "March", "April", "May", "June", "July", "August", "September",
                          "October", "November", "December"])
        elif key == "date":
            v = f"{r.randint(1, 28)}/{r.randint(1, 12)}/20{r.randint(22, 25)}"
        elif key == "pct":
            v = str(r.choice([3, 5, 7, 8, 10, 12, 15, 20, 25, 30, 40]))
        elif key in ("order", "ref", "policy"):
            v = f"{r.choice('ABCDEFGHKMNPRT')}{r.randint(100000, 9999999)}"
        elif key == "lang":
            v = r.choice(c.languages)
        elif key in ("ext", "ext2"):
            v = r.choice(r.choice(c.mime)[1])
        elif key == "mime":
            v = r.choice(c.mime)[0]
        elif key == "tld":
            v = r.choice(c.tlds)
        elif key == "region":
            v = r.choice(c.regions)
        elif key == "savings":
            v = f"${r.choice([40, 85, 150, 240, 390, 600, 850, 1200, 2100])},000"
        elif key == "og":
            v = f"1.0{r.randint(10, 30)}"
        elif key == "ins":
            v = r.choice(_DOMAINS["insurance"][0])
        elif key == "yn":
            v = r.choice(["yes", "no", "unclear"])
        elif key == "items":
            v = ", ".join(r.sample(["laptop", "bicycle", "jewellery", "TV", "camera", "tools", "sofa", "rug", "phone"], 3))
        elif key == "subject":
            v = r.choice(_DOMAINS["insurance"][0])
        elif key == "attr":
            v = r.choice(c.semconv)[0]
        elif key == "pkg":
            v = r.choice(c.docs).package
        elif key == "howto":
            v = _howto(r.choice(c.docs)) or "configure retries"
        elif key == "status":
            code, nm = r.choice(c.statuses)
            v = f"{code} {nm}"
        elif key == "s2":
            v = r.choice(r.choice(list(_DOMAINS.values()))[0])
        else:
            v = key
        self[key] = v
        return v


def _fmt(rng: random.Random, c: _Corpora, template: str, **fixed: str) -> str:
    return template.format_map(_Slots(rng, c, **fixed))


def _logu(rng: random.Random, lo: float, hi: float) -> int:
    return int(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def _howto(d: _Doc) -> str:
    words = d.sentence.rstrip(".").split()
    if len(words) < 3:
        return ""
    verb = _IMPERATIVE.get(words[0].lower())
    if verb is None:
        return ""
    rest = " ".join(words[1:])
    return f"{verb} {rest[0].lower()}{rest[1:]}" if rest else ""


_TYPO_WORD = re.compile(r"[a-z]{5,}")


def _mess(rng: random.Random, text: str, p: float) -> str:
    """Make text look typed by a person in a hurry, with probability p per kind of slip."""
    if rng.random() < p:
        text = text[:1].lower() + text[1:]
    if rng.random() < p and text.endswith(("?", ".")):
        text = text[:-1]
    if rng.random() < p * 0.6:
        text = text.replace("I'm", "im").replace("don't", "dont").replace("can't", "cant").replace("What's", "whats")
    if rng.random() < p * 0.5:
        words = list(_TYPO_WORD.finditer(text))
        if words:
            m = rng.choice(words)
            i = rng.randint(m.start() + 1, m.end() - 2)
            text = text[:i] + text[i + 1] + text[i] + text[i + 2:]
    return text


def _everyday(rng: random.Random, c: _Corpora, domain: str | None = None, messy: float = 0.3) -> str:
    dom = domain or rng.choice(list(_DOMAINS))
    subjects, asks = _DOMAINS[dom]
    slots = _Slots(rng, c)
    slots["s"] = rng.choice(subjects).format_map(slots)
    ask = rng.choice(asks) if rng.random() < 0.7 else rng.choice(_GENERIC_ASKS)
    text = rng.choice(_PREFIXES).format_map(slots) + ask.format_map(slots) + rng.choice(_SUFFIXES)
    if rng.random() < 0.15:
        text += " " + rng.choice([
            f"For context, this is for my {slots['who']}.", f"We're about {slots['n2']} minutes from {slots['city']}.",
            "I asked on Reddit and got conflicting answers.", "I've read a bit already but I'm still confused.",
            f"Deadline is {slots['day']}.",
        ])
    return _mess(rng, text, messy)


def _followup(rng: random.Random, c: _Corpora, domain: str | None = None, messy: float = 0.3) -> str:
    slots = _Slots(rng, c)
    if domain is not None:
        slots["s2"] = rng.choice(_DOMAINS[domain][0]).format_map(slots)
    return _mess(rng, rng.choice(_FOLLOWUPS).format_map(slots), messy)


def _academic_q(rng: random.Random, field_: str, concept: str, casual: bool) -> str:
    if casual:
        t = rng.choice([
            "can someone explain {c} simply? my {f} lecturer went way too fast",
            "I have a {f} exam on {d}. What do I actually need to understand about {c}?",
            "what is {c} and why does it matter in {f}?", "ELI5 {c} please",
            "I keep mixing up {c} with something else from {f}. Can you clear it up?",
            "is there an intuitive way to think about {c}?", "give me an example of {c} that isn't from the textbook",
            "why do people in {f} care so much about {c}",
        ])
    else:
        t = rng.choice([
            "Explain {c} in {f}.", "What is {c}? Give a precise definition and an example.",
            "Describe the main ideas behind {c} and where it is used in {f}.",
            "How would you teach {c} to first-year {f} students?", "What are common misconceptions about {c}?",
            "Compare {c} with a closely related concept in {f}.",
        ])
    return t.format(c=concept, f=field_, d=rng.choice(["Monday", "Friday", "the 12th", "Thursday morning"]))


def _passage(rng: random.Random, c: _Corpora) -> str:
    k = rng.random()
    if k < 0.3:
        d = rng.choice(c.docs)
        return d.paragraph or d.sentence
    if k < 0.45:
        return rng.choice(c.semconv)[1]
    if k < 0.6:
        return _fmt(rng, c, rng.choice(_CLAUSES))
    if k < 0.75:
        return _fmt(rng, c, rng.choice(_NEWS))
    if k < 0.85:
        dept = rng.choice(list(_POLICY))
        return _fmt(rng, c, rng.choice(_POLICY[dept]))
    if k < 0.93:
        return _fmt(rng, c, rng.choice(_REVIEW), p=rng.choice(_PRODUCTS))
    mt, exts = rng.choice(c.mime)
    return f"Files with the extension .{exts[0]} are served with the media type {mt}."


def _dev_question(rng: random.Random, c: _Corpora) -> str:
    d = rng.choice(c.docs)
    how = _howto(d)
    k = rng.random()
    if how and k < 0.3:
        return rng.choice([
            f"How do I {how} with {d.package}?", f"what's the right way to {how} in {d.package}",
            f"In {d.package}, I want to {how}. Can you show a minimal example?",
            f"Is there a built-in way to {how} using {d.package} or do I write it myself?",
        ])
    if k < 0.5:
        return rng.choice([
            f"What does `{d.name}` do in {d.package}? The docs just say: \"{d.sentence}\"",
            f"Can you explain this from the {d.package} docs in simpler words: \"{d.sentence}\"",
            f"When would I use {d.name} in {d.package}?",
        ])
    if k < 0.62:
        code, nm = rng.choice(c.statuses)
        return rng.choice([
            f"My script gets a {code} ({nm}) back from an API about once every few hundred calls. How should I handle it?",
            f"What's the difference between a {code} and a {rng.choice(c.statuses)[0]} response?",
            f"Getting HTTP {code} {nm} when I call {d.package} from a cron job but not locally. Ideas?",
        ])
    if k < 0.72:
        mt, exts = rng.choice(c.mime)
        return rng.choice([
            f"How do I read a .{exts[0]} file in Python?", f"what mime type should I send for .{exts[0]} uploads? is {mt} right?",
            f"Convert .{exts[0]} to .{rng.choice(rng.choice(c.mime)[1])} from the command line?",
        ])
    if k < 0.8:
        t = rng.choice(c.terminals)
        return rng.choice([
            f"Colours look wrong in vim when TERM={t}. How do I fix it?",
            f"My SSH session sets TERM to {t} and the backspace key prints weird characters. Why?",
        ])
    if k < 0.88:
        a, b = rng.sample(c.schema_keywords, 2)
        return f"In JSON Schema, what's the difference between {a} and {b}? When would I use each?"
    if k < 0.91:
        tld = rng.choice(c.tlds)
        return rng.choice([f"How do I set up SPF and DKIM for a .{tld} domain on a small VPS?",
                           f"Is there any downside to using a .{tld} domain for an API?",
                           f"Let's Encrypt won't issue a cert for my .{tld} subdomain, what am I missing?"])
    if k < 0.95:
        attr, desc = rng.choice(c.semconv)
        return f"I'm adding OpenTelemetry tracing. Should I set `{attr}` myself? The spec says: {desc[:200]}"
    return _fmt(rng, c, "Why does my {pkg} code raise an exception only in production? Here's the traceback:\n"
                "Traceback (most recent call last):\n  File \"app/main.py\", line {n2}, in handler\n"
                "    result = client.{fn}(payload)\nTypeError: {fn}() got an unexpected keyword argument 'timeout'",
                fn=_snake(d.name), pkg=d.package)


# ---------------------------------------------- maths -------------------------------------------


def _kid_problem(rng: random.Random) -> str:
    a, b, c_, d = rng.randint(3, 60), rng.randint(2, 30), rng.randint(2, 9), rng.randint(2, 12)
    name, name2 = rng.sample(_FIRST, 2)
    k = rng.randrange(10)
    if k == 0:
        return f"{name} has {a + b} stickers and gives {b} to {name2}. Then {name} buys {c_} packs of {d}. How many stickers now?"
    if k == 1:
        return f"What is {rng.randint(1, 7)}/{d} + {rng.randint(1, 5)}/{c_ + 1}?"
    if k == 2:
        return f"A rectangle is {a} cm long and {b} cm wide. What is its area and its perimeter?"
    if k == 3:
        return f"A jacket costs ${a * 5} and is {rng.choice([10, 15, 20, 25, 30])}% off. What is the sale price?"
    if k == 4:
        return f"What is {a * d + rng.randint(0, d - 1)} divided by {d}? Show the remainder."
    if k == 5:
        return f"Solve for x: {c_}x + {a} = {c_ * d + a}"
    if k == 6:
        return f"A train goes {a * 10} km in {c_} hours. What is its average speed?"
    if k == 7:
        return f"Round {rng.randint(1000, 99999)} to the nearest hundred and to the nearest thousand."
    if k == 8:
        return f"{name} reads {c_} pages a day. How many days to finish a {c_ * a + rng.randint(1, c_)}-page book?"
    return f"What is {rng.randint(11, 99)} × {rng.randint(11, 99)}?"


def _hard_problem(rng: random.Random) -> str:
    k = rng.randrange(11)
    if k == 0:
        r1, r2 = rng.randint(-9, 12), rng.randint(-9, 12)
        return f"Find all real x such that x^2 - {r1 + r2}x + {r1 * r2} = 0."
    if k == 1:
        a, b = rng.sample([3, 4, 5, 6, 7, 9, 11, 13], 2)
        return f"How many positive integers less than {rng.choice([500, 1000, 2024, 5000])} are divisible by {a} or {b} but not both?"
    if k == 2:
        return f"What is the remainder when {rng.randint(2, 19)}^{rng.randint(50, 2025)} is divided by {rng.choice([7, 11, 13, 17, 19, 23, 100])}?"
    if k == 3:
        r, b, n = rng.randint(3, 9), rng.randint(3, 9), rng.randint(2, 3)
        return f"A bag contains {r} red and {b} blue marbles. {n} are drawn without replacement. What is the probability that all are red?"
    if k == 4:
        a, b, c_ = rng.randint(1, 5), rng.randint(2, 20), rng.randint(-9, 9)
        return f"Let f(x) = {a}x^3 - {b}x + {c_}. Find f'(2) and the x-coordinates of the local extrema of f."
    if k == 5:
        n = rng.randint(5, 9)
        return f"In how many ways can {n} people sit around a round table if two particular people refuse to sit next to each other?"
    if k == 6:
        a, b = rng.randint(5, 15), rng.randint(5, 15)
        c_ = rng.randint(abs(a - b) + 1, a + b - 1)
        return f"A triangle has sides {a}, {b} and {c_}. Find its area and the radius of its circumscribed circle."
    if k == 7:
        x, y = rng.sample(_FIRST, 2)
        return (f"On an island, knights always tell the truth and knaves always lie. {x} says: \"{y} is a knave.\" "
                f"{y} says: \"{x} and I are the same kind.\" What are {x} and {y}?")
    if k == 8:
        a, b, n = rng.randint(1, 4), rng.randint(2, 5), rng.randint(8, 30)
        return (f"What does this Python function return for f({n})?\n\ndef f(n):\n    total = 0\n    for i in range({a}, n):\n"
                f"        if i % {b} == 0:\n            total += i * i\n    return total")
    if k == 9:
        w, h = rng.randint(3, 8), rng.randint(3, 8)
        return f"How many shortest lattice paths go from (0,0) to ({w},{h}) if the path must avoid the point ({rng.randint(1, w - 1)},{rng.randint(1, h - 1)})?"
    a, d, n = rng.randint(1, 20), rng.randint(2, 9), rng.randint(10, 60)
    return f"The first term of an arithmetic sequence is {a} and the common difference is {d}. What is the sum of the first {n} terms, and which term first exceeds {a + d * n}?"


# --------------------------------------------------------------------------------------------------
# Networks and agents
# --------------------------------------------------------------------------------------------------

_RESIDENTIAL = ["73.{}", "24.{}", "98.{}", "71.{}", "76.{}", "86.{}", "81.{}", "92.{}", "2.{}", "5.{}", "109.{}", "176.{}",
                "188.{}", "49.{}", "112.{}", "187.{}", "201.{}", "41.{}", "102.{}", "197.{}", "79.{}", "82.{}", "84.{}",
                "90.{}", "93.{}", "95.{}", "105.{}", "110.{}", "114.{}", "122.{}", "151.{}", "177.{}", "178.{}", "190.{}"]
_CGNAT_POOLS = ["172.58.{}", "172.56.{}", "107.77.{}", "174.205.{}", "37.228.{}", "92.40.{}", "39.32.{}", "106.210.{}",
                "176.12.{}", "41.90.{}"]
_CLOUD = {
    "aws": ["3.{}", "18.{}", "34.{}", "44.{}", "52.{}", "54.{}"],
    "gcp": ["34.{}", "35.{}", "104.{}"],
    "azure": ["20.{}", "40.{}", "52.{}", "13.{}"],
    "hetzner": ["95.216.{}", "116.202.{}", "135.181.{}", "65.108.{}", "5.161.{}"],
    "ovh": ["51.75.{}", "54.36.{}", "137.74.{}", "145.239.{}"],
    "digitalocean": ["104.131.{}", "138.68.{}", "159.203.{}", "167.99.{}", "164.90.{}"],
    "vultr": ["45.32.{}", "45.77.{}", "149.28.{}", "207.148.{}"],
    "contabo": ["161.97.{}", "173.212.{}", "62.171.{}"],
}
_VPN = ["185.220.{}", "193.176.{}", "89.187.{}", "146.70.{}", "185.156.{}", "37.19.{}"]

_BROWSERS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.{m} Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{f}.0) Gecko/20100101 Firefox/{f}.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_{m} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.{m} Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36 Edg/{v}.0.0.0",
    "Mozilla/5.0 (Linux; Android 13; SM-A546B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Mobile Safari/537.36",
]


def _browser(rng: random.Random) -> str:
    return rng.choice(_BROWSERS).format(v=rng.randint(118, 131), m=rng.randint(1, 6), f=rng.randint(120, 133))


def _sdk(rng: random.Random) -> str:
    k = rng.random()
    if k < 0.45:
        return f"{rng.choice(['OpenAI', 'OpenAI', 'AsyncOpenAI'])}/Python 1.{rng.randint(30, 58)}.{rng.randint(0, 4)}"
    if k < 0.65:
        return f"OpenAI/JS 4.{rng.randint(40, 77)}.{rng.randint(0, 5)}"
    if k < 0.75:
        return f"python-httpx/0.{rng.choice([25, 26, 27, 28])}.{rng.randint(0, 2)}"
    if k < 0.83:
        return f"python-requests/2.{rng.randint(28, 32)}.{rng.randint(0, 3)}"
    if k < 0.9:
        return f"Python/3.{rng.choice([10, 11, 12])} aiohttp/3.{rng.randint(8, 10)}.{rng.randint(0, 11)}"
    return rng.choice(["node", "undici", f"axios/1.{rng.randint(5, 7)}.{rng.randint(0, 9)}"])


def _server_agent(rng: random.Random) -> str:
    return rng.choice([
        "Go-http-client/2.0", "Go-http-client/1.1", f"Java-http-client/{rng.choice([17, 21])}.0.{rng.randint(2, 9)}",
        f"Apache-HttpClient/5.{rng.randint(1, 3)}.{rng.randint(0, 4)} (Java/17.0.{rng.randint(6, 12)})",
        f"okhttp/4.{rng.randint(9, 12)}.0", f"RestSharp/{rng.randint(106, 111)}.{rng.randint(0, 4)}.0.0",
        f"Faraday v2.{rng.randint(7, 12)}.{rng.randint(0, 3)}", _sdk(rng), _sdk(rng),
    ])


def _curl(rng: random.Random) -> str:
    return rng.choice([f"curl/8.{rng.randint(1, 11)}.{rng.randint(0, 1)}", f"curl/7.{rng.randint(68, 88)}.0",
                       f"PostmanRuntime/7.{rng.randint(32, 43)}.{rng.randint(0, 3)}", f"insomnia/{rng.randint(8, 10)}.{rng.randint(0, 6)}.0"])


def _app_agent(rng: random.Random, brand: str) -> str:
    return rng.choice([
        f"{brand}/{rng.randint(1, 6)}.{rng.randint(0, 20)}.{rng.randint(0, 9)} (iPhone; iOS 17.{rng.randint(0, 6)}; Scale/3.00)",
        f"{brand}/{rng.randint(1, 6)}.{rng.randint(0, 20)} CFNetwork/1496.0.7 Darwin/23.{rng.randint(0, 6)}.0",
        f"{brand}-android/{rng.randint(1, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 9)} okhttp/4.12.0",
        f"Dart/3.{rng.randint(2, 5)} (dart:io)",
    ])


class _Net:
    """Addresses with realistic sharing: NATs, carrier pools, campuses, cloud regions."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.res_blocks = [p.format(rng.randint(0, 255)) for p in _RESIDENTIAL for _ in range(3)]
        self.cgnat = [p.format(rng.randint(0, 255)) for p in _CGNAT_POOLS]
        self.companies = [f"{rng.choice([12, 38, 63, 64, 66, 96, 192, 198, 204, 206, 208, 209, 216])}.{rng.randint(0, 255)}."
                          f"{rng.randint(0, 255)}.{rng.randint(1, 254)}" for _ in range(40)]
        self.campuses = [f"{rng.choice([128, 129, 130, 131, 137, 141, 143, 152, 155, 169, 171])}.{rng.randint(0, 255)}."
                         f"{rng.randint(0, 255)}" for _ in range(8)]
        self.cloud_blocks = {k: [self._block(p) for p in v for _ in range(2)] for k, v in _CLOUD.items()}
        self.vpn = [p.format(rng.randint(0, 255)) for p in _VPN]

    def _block(self, prefix: str) -> str:
        """A /24 (three octets) from a prefix that fixes one or two of them."""
        b = prefix.format(self.rng.randint(0, 255))
        while b.count(".") < 2:
            b += f".{self.rng.randint(0, 255)}"
        return b

    def residential(self, rng: random.Random | None = None) -> str:
        r = rng or self.rng
        return f"{r.choice(self.res_blocks)}.{r.randint(0, 255)}.{r.randint(1, 254)}"

    def mobile(self) -> str:
        return f"{self.rng.choice(self.cgnat)}.{self.rng.randint(1, 254)}"

    def company(self) -> str:
        return self.rng.choice(self.companies)

    def campus(self, which: int | None = None) -> str:
        block = self.campuses[which % len(self.campuses)] if which is not None else self.rng.choice(self.campuses)
        return f"{block}.{self.rng.choice([2, 3, 10, 11, 12, 40, 41])}"

    def cloud(self, provider: str | None = None, block: str | None = None) -> str:
        b = block or self.rng.choice(self.cloud_blocks[provider or self.rng.choice(["aws", "aws", "gcp", "azure"])])
        return f"{b}.{self.rng.randint(1, 254)}"

    def cloud_block(self, provider: str) -> str:
        return self.rng.choice(self.cloud_blocks[provider])

    def vpn_exit(self) -> str:
        return f"{self.rng.choice(self.vpn)}.{self.rng.randint(1, 254)}"

    def person(self) -> str:
        k = self.rng.random()
        if k < 0.55:
            return self.residential()
        if k < 0.75:
            return self.mobile()
        if k < 0.9:
            return self.company()
        return self.vpn_exit()


# --------------------------------------------------------------------------------------------------
# Plan assembly
# --------------------------------------------------------------------------------------------------

Gen = Callable[[random.Random, int], tuple[list[str], list[int]]]


@dataclass
class _Key:
    family: str
    attacker: bool
    base: int
    gen: Gen
    network: str
    user_agent: str
    outputs: str = "label"
    instructions: str = ""
    ring: str = ""


def _flatten(rng: random.Random, n: int, has_sys: bool, conv: Callable[[random.Random], list[str]],
             extra: int = 0) -> tuple[list[str], list[int]]:
    """Conversations of user messages, flattened; turns count the system prompt and prior exchanges."""
    texts: list[str] = []
    turns: list[int] = []
    base = (1 if has_sys else 0) + extra
    while len(texts) < n:
        for k, t in enumerate(conv(rng)):
            texts.append(t)
            turns.append(base + 2 * k + 1)
            if len(texts) >= n:
                break
    return texts, turns


def _singles(rng: random.Random, n: int, has_sys: bool, make: Callable[[random.Random], str],
             extra: int = 0) -> tuple[list[str], list[int]]:
    t = (1 if has_sys else 0) + extra + 1
    return [make(rng) for _ in range(n)], [t] * n


def _lengths(rng: random.Random, weights: Sequence[tuple[int, int, float]]) -> int:
    x = rng.random() * sum(w for _, _, w in weights)
    for lo, hi, w in weights:
        if x < w:
            return rng.randint(lo, hi)
        x -= w
    return weights[-1][0]


def _brand(rng: random.Random) -> str:
    return rng.choice(_BRAND_A) + rng.choice(_BRAND_B)


# --------------------------------------------------------------------------------------------------
# Ordinary profiles
# --------------------------------------------------------------------------------------------------


def _p_casual(m: random.Random, net: _Net, c: _Corpora) -> list[_Key]:
    has_sys = m.random() < 0.3
    messy = m.uniform(0.1, 0.6)

    def conv(r: random.Random) -> list[str]:
        dom = r.choice(list(_DOMAINS))
        n = _lengths(r, [(1, 1, 0.5), (2, 4, 0.4), (5, 8, 0.1)])
        return [_everyday(r, c, dom, messy)] + [_followup(r, c, dom, messy) for _ in range(n - 1)]

    ua = _browser(m) if m.random() < 0.7 else m.choice([_sdk(m), _curl(m), _app_agent(m, "ChatBox")])
    return [_Key("casual_chat", False, _logu(m, 2, 40), lambda r, n: _flatten(r, n, has_sys, conv), net.person(), ua,
                 instructions="You are a helpful assistant." if has_sys else "")]


def _p_long(m: random.Random, net: _Net, c: _Corpora) -> list[_Key]:
    theme = m.choice(list(_DOMAINS))
    messy = m.uniform(0.05, 0.4)
    has_sys = m.random() < 0.25

    def conv(r: random.Random) -> list[str]:
        dom = theme if r.random() < 0.6 else r.choice(list(_DOMAINS))
        n = _lengths(r, [(4, 10, 0.55), (11, 20, 0.35), (21, 32, 0.1)])
        out = [_everyday(r, c, dom, messy)]
        for _ in range(n - 1):
            k = r.random()
            if k < 0.55:
                out.append(_followup(r, c, dom, messy))
            elif k < 0.8:
                out.append(_everyday(r, c, dom, messy))
            elif k < 0.9:
                out.append(_mess(r, "Can you walk me through your reasoning on that step by step?", messy))
            else:
                out.append(_mess(r, _fmt(r, c, r.choice([
                    "ok new problem, related: {s2}", "Going back to what you said earlier about the budget, is {money} enough?",
                    "Let me paste what my {who} wrote and you tell me what you think: \"{news}\""]),
                    news=_fmt(r, c, r.choice(_NEWS))), messy))
        return out

    ua = _browser(m) if m.random() < 0.75 else _app_agent(m, m.choice(["ChatBox", "MacGPT", "BoltAI"]))
    return [_Key("long_conversation", False, _logu(m, 15, 220), lambda r, n: _flatten(r, n, has_sys, conv),
                 net.person(), ua, instructions="You are a helpful, concise assistant." if has_sys else "")]


def _p_dev(m: random.Random, net: _Net, c: _Corpora) -> list[_Key]:
    sys = m.choice(["", "", "You are an expert Python developer. Answer with code when useful.",
                    "You are a senior software engineer. Be concise."])

    def conv(r: random.Random) -> list[str]:
        n = _lengths(r, [(1, 1, 0.5), (2, 4, 0.35), (5, 9, 0.15)])
        out = [_dev_question(r, c)]
        for _ in range(n - 1):
            out.append(r.choice([
                "that gives me an AttributeError now", "can you add type hints?", "what about async?",
                "ok and how would I test that", "still failing, same error", "thanks, works now",
                _dev_question(r, c), "can you rewrite it without the external dependency?",
                "why did you use a dict there instead of a list?", "make it handle the empty case",
            ]))
        return out

    ua = m.choice([_sdk(m), _sdk(m), _curl(m), _browser(m)])
    ip = m.choice([net.residential(), net.company(), net.cloud(m.choice(["digitalocean", "hetzner", "aws"]))])
    return [_Key("hobby_developer", False, _logu(m, 8, 300), lambda r, n: _flatten(r, n, bool(sys), conv), ip, ua,
                 instructions=sys)]


def _p_writing(m: random.Random, net: _Net, c: _Corpora) -> list[_Key]:
    kinds = [
        "Rewrite this email to sound more professional:\n\n{draft}",
        "Proofread this and fix grammar only, don't change the tone:\n\n{draft}",
        "Write a short email to my {who} explaining that {reason}.",
        "Help me write a cover letter for a {job} job. I have {n} years of experience in {prev}.",
        "Can you write a polite complaint to my landlord about {rent}?",
        "Write a LinkedIn post announcing I finished {course}. Not cringe please.",
        "Make this text message less passive-aggressive: \"{draft}\"",
        "Write a thank-you card message for {event}.",
    ]
    drafts = [
        "hi, i still havent got the refund for the {p} i sent back on {date}, can u check pls",
        "Dear Sir, regarding the claim for {ins}, I am waiting since {n2} days for an answer.",
        "hey team, the report will be late again because the data from {city} isnt in yet",
        "As per my last email, I need the documents for {imm} by {day}.",
        "Thanks for the interview, I think it went well and im really excited about the role",
    ]

    def conv(r: random.Random) -> list[str]:
        s = _Slots(r, c)
        s["draft"] = r.choice(drafts).format_map(_Slots(r, c, p=r.choice(_PRODUCTS),
                                                             imm=r.choice(_DOMAINS["immigration"][0])))
        s["reason"] = r.choice(["I can't make the wedding", "the deposit hasn't come back", "I need to reschedule",
                                     "I'm going part-time from next month", "the kids are sick this week"])
        s["job"] = r.choice(["junior data analyst", "dental receptionist", "warehouse supervisor", "UX designer",
                                  "primary school teacher", "paralegal", "beekeeping assistant", "museum guide"])
        s["prev"] = r.choice(["retail", "hospitality", "the army", "customer service", "freelance photography"])
        s["rent"] = r.choice(_DOMAINS["renting"][0]).format_map(s)
        s["course"] = r.choice(["a data analytics certificate", "my nursing degree", "a UX bootcamp", "a project management course"])
        s["event"] = r.choice(_DOMAINS["weddings"][0]).format_map(s)
        out = [r.choice(kinds).format_map(s)]
        for _ in range(_lengths(r, [(0, 0, 0.4), (1, 3, 0.5), (4, 6, 0.1)])):
            out.append(r.choice(["make it warmer", "shorter please", "less formal", "more confident",
                                      "can you remove the last paragraph", "perfect, now a subject line",
                                      "too stiff. sound like a normal person", "add that I'm available {day}".format_map(s)]))
        return out

    ua = _browser(m) if m.random() < 0.6 else _app_agent(m, m.choice(["Wordly", "Draftsy", "Penwise"]))
    return [_Key("writing_helper", False, _logu(m, 10, 150), lambda r, n: _flatten(r, n, False, conv), net.person(), ua)]


def _p_campus(m: random.Random, net: _Net, c: _Corpora, idx: int) -> list[_Key]:
    concepts = _concepts()
    major = m.choice(list(_FIELDS))

    def conv(r: random.Random) -> list[str]:
        f, k = (major, r.choice(_FIELDS[major])) if r.random() < 0.6 else concepts[r.randrange(len(concepts))]
        n = _lengths(r, [(1, 2, 0.5), (3, 6, 0.4), (7, 10, 0.1)])
        out = [_mess(r, _academic_q(r, f, k, True), 0.5)]
        for _ in range(n - 1):
            out.append(_mess(r, r.choice([
                "ok can you give me a practice question on that", "i still dont get it", "is that going to be on the exam lol",
                "can you check my answer: " + _kid_problem(r), "explain it with an analogy", "what's a good source to cite for this",
                "summarise that in 3 bullet points for my notes", _dev_question(r, c),
                "help me outline a 1500 word essay on this", "whats the difference between that and the thing from last week",
            ]), 0.5))
        return out

    return [_Key("campus_student", False, _logu(m, 3, 80), lambda r, n: _flatten(r, n, False, conv),
                 net.campus(idx % 5), _browser(m))]


def _p_course(m: random.Random, net: _Net, c: _Corpora) -> list[_Key]:
    brand = _brand(m)
    sys = (f"You are the instructional designer for {brand}, an online learning platform. Write clear, accurate, "
           "engaging material in Markdown. Follow the requested structure exactly.")
    pro = ["Excel for accountants", "Food safety for restaurant staff", "Forklift safety refresher", "Customer service basics",
           "GDPR awareness for new hires", "Introduction to project management", "First aid at work",
           "Negotiation skills", "Beginner beekeeping", "Astrophotography 101", "Knitting your first sweater",
           "Retirement planning essentials", "Job interview confidence", "Home brewing fundamentals"]
    audiences = ["high-school students", "adult learners", "new employees", "retirees", "nurses", "small-business owners"]
    artefacts = [
        "Write the lesson plan for module {mod} (\"{topic}\") of the course \"{course}\" for {aud}. Include 3 learning objectives, a 10-minute activity and a summary.",
        "Write 5 multiple-choice quiz questions with answers and explanations for module {mod} (\"{topic}\") of \"{course}\".",
        "Create 8 flashcards (front/back) covering \"{topic}\" for the course \"{course}\".",
        "Write a 300-word reading for module {mod} of \"{course}\" on \"{topic}\", aimed at {aud}.",
        "Suggest a short case study for \"{topic}\" in \"{course}\" with two discussion questions.",
        "Write the video script outline (5 scenes) for \"{topic}\" in \"{course}\".",
    ]
    arts = m.sample(artefacts, m.randint(3, 6))

    def gen(r: random.Random, n: int) -> tuple[list[str], list[int]]:
        texts: list[str] = []
        while len(texts) < n:
            if r.random() < 0.6:
                f = r.choice(list(_FIELDS))
                course = f"Foundations of {f}" if r.random() < 0.5 else f"{f.capitalize()} for {r.choice(audiences)}"
                topics = list(_FIELDS[f])
            else:
                course = r.choice(pro)
                topics = [f"{course}: part {i}" for i in range(1, 9)]
                if course.startswith(("Beginner beekeeping", "Knitting", "Home brewing", "Astrophotography")):
                    dom = {"B": "beekeeping", "K": "knitting", "H": "homebrewing", "A": "astronomy"}[course[0]]
                    topics = [s.format_map(_Slots(r, c)) for s in _DOMAINS[dom][0]]
            aud = r.choice(audiences)
            for mod, topic in enumerate(topics, 1):
                for a in arts:
                    texts.append(a.format(mod=mod, topic=topic, course=course, aud=aud))
        return texts[:n], [2] * n

    return [_Key("course_generator", False, _logu(m, 50, 1200), gen, net.cloud(), _sdk(m), instructions=sys)]


def _p_enterprise(m: random.Random, net: _Net, c: _Corpora) -> list[_Key]:
    company = _brand(m) + m.choice([" Group", " Inc.", " GmbH", " Ltd", ""])
    sys = (f"You are {company}'s internal knowledge assistant. Answer only from the provided context. "
           "Cite document IDs in square brackets. If the answer is not in the context, say so.")

    def it_doc(r: random.Random) -> str:
        if r.random() < 0.5:
            a, d = r.choice(c.semconv)
            return f"Observability handbook / {a}: {d}"
        d2 = r.choice(c.docs)
        return f"Platform wiki / {d2.package}.{d2.name}: {d2.paragraph or d2.sentence}"

    def make(r: random.Random) -> str:
        dept = r.choice(["HR", "Finance", "Legal", "Facilities", "Sales", "IT", "IT"])
        docs = []
        for _ in range(r.randint(2, 5)):
            did = f"DOC-{r.randint(1000, 99999)}"
            if dept == "IT" or r.random() < 0.2:
                docs.append(f"[{did}] {it_doc(r)}")
            else:
                dd = dept if dept in _POLICY else "HR"
                docs.append(f"[{did}] {dd} policy v{r.randint(1, 9)}.{r.randint(0, 9)}: {_fmt(r, c, r.choice(_POLICY[dd]))}")
        q = _fmt(r, c, r.choice(_EMPLOYEE_Q[dept]))
        return "Context:\n" + "\n".join(docs) + f"\n\nQuestion: {q}"

    def conv(r: random.Random) -> list[str]:
        out = [make(r)]
        if r.random() < 0.2:
            out.append(r.choice(["And does that apply to contractors too?", "Which document says that?",
                                      "What if my manager is on leave?", "Can you summarise that for an email?"]))
        return out

    base = _logu(m, 60, 1000)
    ip = net.cloud()
    keys = [_Key("enterprise_search", False, base, lambda r, n: _flatten(r, n, True, conv), ip, _sdk(m), instructions=sys)]
    if m.random() < 0.3:
        keys.append(_Key("enterprise_search", False, max(5, base // 8), lambda r, n: _flatten(r, n, True, conv),
                         net.cloud(block=".".join(ip.split(".")[:3])), _sdk(m), instructions=sys))
    return keys


def _p_explain(m: random.Random, net: _Net, c: _Corpora) -> list[_Key]:
    byok = m.random() < 0.35
    modes = ["Explain this in plain English:", "Explain like I'm 12:", "Define the key terms in:", "Summarise:",
             "What does this mean?", "Explain this for a non-expert, in 3 sentences:"]
    sites = ["Wikipedia", "docs page", "news article", "contract PDF", "Reddit", "course notes", "GitHub README", "blog"]

    def make(r: random.Random) -> str:
        return f"{r.choice(modes)}\n\n\"{_passage(r, c)}\"\n\n(Source: {r.choice(sites)})"

    sys = "You explain highlighted text from web pages clearly and briefly. No preamble."
    if byok:
        return [_Key("explain_extension", False, _logu(m, 8, 200), lambda r, n: _singles(r, n, True, make),
                     net.person(), _browser(m), instructions=sys)]
    return [_Key("explain_extension", False, _logu(m, 100, 1200), lambda r, n: _singles(r, n, True, make),
                 net.cloud(), m.choice(["node", "undici", _sdk(m)]), instructions=sys)]


def _p_autocomplete(m: random.Random, net: _Net, c: _Corpora) -> list[_Key]:
    outputs = m.choice(["full", "full", "top3"])

    def prefix(r: random.Random) -> str:
        words = _everyday(r, c, messy=0.0).split()
        return " ".join(words[: r.randint(2, min(6, len(words)))]).lower()

    def make(r: random.Random) -> str:
        k = r.random()
        if k < 0.45:
            return f"Complete the search query. Query prefix: \"{prefix(r)}\"\nCompletion:"
        if k < 0.8:
            q = _everyday(r, c, messy=0.0)
            cand = _passage(r, c) if r.random() < 0.5 else r.choice(_DOMAINS[r.choice(list(_DOMAINS))][1]).split("{")[0]
            return f"Query: {q}\nCandidate: {cand}\nIs the candidate relevant to the query? Answer Yes or No:"
        p = prefix(r)
        cands = [p + " " + w for w in r.sample(["near me", "cost", "for beginners", "checklist", "2025", "reddit",
                                                 "template", "how long", "uk", "vs", "requirements", "diy"], 4)]
        return f"Rank these suggestions for the prefix \"{p}\" from most to least likely:\n" + "\n".join(
            f"{i}. {x}" for i, x in enumerate(cands, 1)) + "\nAnswer with the numbers only."

    return [_Key("autocomplete_ranker", False, _logu(m, 100, 1500), lambda r, n: _singles(r, n, False, make),
                 net.cloud(), _server_agent(m), outputs=outputs)]


def _mc_item(r: random.Random, c: _Corpora, lettered: bool = False) -> str:
    k = r.random() * (0.85 if lettered else 1.0)
    letters = "ABCD"
    if k < 0.35:
        items = r.sample(c.semconv, 4)
        ans = r.randrange(4)
        opts = "\n".join(f"{letters[i]}. {items[i][1][:160]}" for i in range(4))
        return f"Which description matches the telemetry attribute `{items[ans][0]}`?\n{opts}\nAnswer:"
    if k < 0.6:
        docs = r.sample(c.docs, 4)
        ans = r.randrange(4)
        opts = "\n".join(f"{letters[i]}. {docs[i].sentence[:160]}" for i in range(4))
        return f"In the {docs[ans].package} library, what does `{docs[ans].name}` do?\n{opts}\nAnswer:"
    if k < 0.85:
        fs = r.sample(list(_FIELDS), 4)
        ans = r.randrange(4)
        concept = r.choice(_FIELDS[fs[ans]])
        opts = "\n".join(f"{letters[i]}. {fs[i]}" for i in range(4))
        return f"The concept \"{concept}\" belongs primarily to which field?\n{opts}\nAnswer:"
    return f"{_hard_problem(r) if r.random() < 0.5 else _kid_problem(r)}\nAnswer:"


def _p_eval(m: random.Random, net: _Net, c: _Corpora, idx: int) -> list[_Key]:
    outputs = m.choice(["label", "label", "top3", "full"])
    shots = m.choice([0, 0, 3, 5])
    as_messages = m.random() < 0.5
    cot = m.random() < 0.4
    bench_size = m.randint(120, 900)
    bench_seed = m.random()

    def gen(r: random.Random, n: int, worker: int = 0, workers: int = 1) -> tuple[list[str], list[int]]:
        br = random.Random(bench_seed)
        bench = [_mc_item(br, c) for _ in range(bench_size)][worker::workers]
        fewshot = "".join(_mc_item(br, c, True) + f" {br.choice(list('ABCD'))}\n\n" for _ in range(shots))
        texts: list[str] = []
        run = 0
        while len(texts) < n:
            use_cot = cot and run % 2 == 1
            for q in bench:
                t = q + (" Let's think step by step." if use_cot else "")
                if shots and not as_messages:
                    t = "The following are multiple choice questions (with answers).\n\n" + fewshot + t
                texts.append(t)
            run += 1
        extra = 2 * shots if (shots and as_messages) else 0
        return texts[:n], [1 + extra] * n

    ip = net.campus(idx) if m.random() < 0.6 else net.cloud(m.choice(["aws", "gcp"]))
    ua = m.choice([f"python-httpx/0.{m.randint(25, 28)}.0", _sdk(m), "lm-eval/0.4.5 python-requests/2.32.3"])
    base = _logu(m, 120, 1800)
    if m.random() < 0.3:
        workers = m.randint(2, 3)

        def worker_gen(w: int) -> Gen:
            return lambda r, n: gen(r, n, w, workers)

        return [_Key("eval_harness", False, max(20, base // workers), worker_gen(w), ip, ua, outputs=outputs)
                for w in range(workers)]
    return [_Key("eval_harness", False, base, gen, ip, ua, outputs=outputs)]


def _p_ab(m: random.Random, net: _Net, c: _Corpora) -> list[_Key]:
    variants = m.sample([
        "Summarise this customer review in one sentence:\n{x}",
        "TL;DR of the following review (max 20 words):\n{x}",
        "You are a helpful analyst. Summarise the review below for a product manager.\n\nReview: {x}",
        "Extract the main complaint from this review, or say 'none':\n{x}",
        "Classify the review as positive, neutral or negative and give one reason.\n\n{x}",
        "Write a short, empathetic reply from the seller to this review:\n{x}",
        "Review:\n\"\"\"\n{x}\n\"\"\"\nSummary:",
    ], m.randint(2, 5))
    dataset_size = m.randint(30, 200)
    ds_seed = m.random()

    def gen(r: random.Random, n: int) -> tuple[list[str], list[int]]:
        dr = random.Random(ds_seed)
        data = [_fmt(dr, c, dr.choice(_REVIEW), p=dr.choice(_PRODUCTS)) if dr.random() < 0.7
                else _fmt(dr, c, dr.choice(_SUPPORT)) for _ in range(dataset_size)]
        texts: list[str] = []
        while len(texts) < n:
            for x in data:
                for v in variants:
                    texts.append(v.format(x=x))
        return texts[:n], [1] * n

    ua = m.choice(["node", _sdk(m), f"python-httpx/0.{m.randint(25, 28)}.1"])
    return [_Key("prompt_ab_tester", False, _logu(m, 60, 1000), gen, net.cloud() if m.random() < 0.6 else net.company(), ua)]


def _p_doc_review(m: random.Random, net: _Net, c: _Corpora) -> list[_Key]:
    insurance = m.random() < 0.4
    party = _brand(m) + m.choice([" Ltd", " LLC", " plc"])
    sys = ("You review documents for a law firm. Be precise, cite clause numbers, and never invent facts."
           if not insurance else "You assist claims handlers. Extract facts exactly as written; flag anything inconsistent.")

    def gen(r: random.Random, n: int) -> tuple[list[str], list[int]]:
        texts: list[str] = []
        while len(texts) < n:
            if insurance:
                for _ in range(r.randint(5, 25)):
                    note = _fmt(r, c, r.choice(_CLAIM_NOTES))
                    texts.append(r.choice([
                        f"Extract claimant name, date of loss, cause and amount as JSON from this note:\n\n{note}",
                        f"Is this claim likely covered under a standard home policy? Note:\n\n{note}",
                        f"Summarise this file note for the handler in two lines:\n\n{note}",
                    ]))
            else:
                doc = r.choice(["master services agreement", "NDA", "commercial lease", "employment contract",
                                     "data processing agreement", "supply agreement"])
                for i in range(1, r.randint(8, 30)):
                    clause = _fmt(r, c, r.choice(_CLAUSES))
                    texts.append(f"Document: {doc} (counterparty draft)\nOur client: {party}\n\nClause {i}: {clause}\n\n"
                                 "List risks for our client and propose a redline. Return JSON with keys risk_level, issues, redline.")
        return texts[:n], [2] * n

    ip = net.company() if m.random() < 0.5 else net.cloud("azure")
    return [_Key("document_reviewer", False, _logu(m, 40, 900), gen, ip, _sdk(m), instructions=sys)]


def _snake(name: str) -> str:
    s = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
    return re.sub(r"[^a-z0-9_]", "", s) or "handler"


def _diff(r: random.Random, c: _Corpora) -> str:
    d = r.choice(c.docs)
    fn = _snake(d.name)
    a, b = r.sample(["payload", "items", "config", "path", "timeout", "retries", "user_id", "rows", "buf", "ctx"], 2)
    lang = r.random()
    line = r.randint(10, 400)
    if lang < 0.6:
        body = [
            f"@@ -{line},7 +{line},11 @@ class {d.name if d.name[:1].isupper() else 'Service'}:",
            f"-    def {fn}(self, {a}):",
            f"+    def {fn}(self, {a}, {b}=None):",
            f"         \"\"\"{d.sentence}\"\"\"",
            f"+        if {b} is None:",
            f"+            {b} = self.defaults.get(\"{b}\")",
            f"-        return self._client.{fn}({a})",
            f"+        result = self._client.{fn}({a}, {b}={b})",
            "+        self.cache[" + a + "] = result",
            "+        return result",
        ]
        path = f"src/{d.package.lower()}_adapter/{fn}.py"
    elif lang < 0.85:
        cam = re.sub(r"_(.)", lambda x: x.group(1).upper(), fn)
        body = [
            f"@@ -{line},5 +{line},9 @@ export async function {cam}({a}: Request) {{",
            f"-  const res = await fetch(url, {{ method: 'POST', body: JSON.stringify({a}) }});",
            f"+  const res = await fetch(url, {{ method: 'POST', body: JSON.stringify({a}), signal }});",
            "+  if (!res.ok) {",
            f"+    console.log('{cam} failed', res.status, {a});",
            "+  }",
            "   return res.json();",
            f"+  // {d.sentence}",
        ]
        path = f"web/src/lib/{cam}.ts"
    else:
        body = [
            f"@@ -{line},6 +{line},10 @@ func (s *Server) {d.name[:1].upper() + d.name[1:]}(w http.ResponseWriter, req *http.Request) {{",
            f"-\t{a}, _ := io.ReadAll(req.Body)",
            f"+\t{a}, err := io.ReadAll(req.Body)",
            "+\tif err != nil {",
            "+\t\thttp.Error(w, err.Error(), 500)",
            "+\t}",
            f"\t// {d.sentence}",
        ]
        path = f"internal/server/{fn}.go"
    return "\n".join([f"--- a/{path}", f"+++ b/{path}", *body])


def _p_code_review(m: random.Random, net: _Net, c: _Corpora) -> list[_Key]:
    org = _brand(m).lower()
    sys = ("You are a meticulous code reviewer. Point out bugs, security issues and unclear code. "
           "Reply with a short list of comments referencing line numbers; say LGTM if there is nothing important.")

    def make(r: random.Random) -> str:
        repo = r.choice(["api", "web", "billing", "ingest", "mobile-backend", "infra", "docs-site"])
        return (f"Repository: {org}/{repo}\nPR #{r.randint(100, 9000)}: {r.choice(['fix', 'feat', 'refactor', 'chore'])}: "
                f"{r.choice(['handle timeouts', 'add caching', 'tidy error paths', 'support new option', 'log failures'])}\n\n"
                f"```diff\n{_diff(r, c)}\n```")

    hosted = m.random() < 0.7
    ip = net.cloud("azure") if hosted else net.company()
    ua = _sdk(m) if hosted else m.choice([_sdk(m), "Go-http-client/2.0"])
    return [_Key("code_review_bot", False, _logu(m, 50, 1000), lambda r, n: _singles(r, n, True, make), ip, ua,
                 instructions=sys)]


def _p_voice(m: random.Random, net: _Net, c: _Corpora) -> list[_Key]:
    brand = _brand(m)
    sys = f"You are {brand}, a voice assistant. Answer in under 40 words, no markdown, no lists, friendly tone."
    utter = [
        "what time is it in {city}", "set a timer for {n} minutes", "remind me to call {name} at {time}",
        "whats a good substitute for buttermilk", "how many tablespoons in a cup", "tell me a fun fact about {concept}",
        "is it going to rain in {city} tomorrow", "how do you spell {word}", "play something relaxing",
        "um what's the capital of australia", "how long do i boil an egg for", "convert {n2} fahrenheit to celsius",
        "who won the game last night", "whats {a} times {b}", "add {item} to my shopping list",
        "how far is {city} from {city2}", "uh can you explain {concept} quickly", "what should i make for dinner with {item}",
        "how do i get a wine stain out of carpet", "when is the next full moon",
    ]

    def conv(r: random.Random) -> list[str]:
        out = []
        for _ in range(_lengths(r, [(1, 1, 0.6), (2, 3, 0.3), (4, 6, 0.1)])):
            f = r.choice(list(_FIELDS))
            k = r.choice(_FIELDS[f])
            out.append(_fmt(r, c, r.choice(utter), concept=k, a=str(r.randint(3, 99)), b=str(r.randint(3, 30)),
                            word=r.choice(["necessary", "rhythm", "conscientious", "Wednesday", "bureaucracy"]),
                            item=r.choice(["eggs", "oat milk", "chickpeas", "leftover chicken", "spinach", "batteries"])))
        return out

    return [_Key("voice_assistant", False, _logu(m, 120, 1500), lambda r, n: _flatten(r, n, True, conv), net.cloud(),
                 m.choice(["Go-http-client/2.0", _sdk(m), f"okhttp/4.{m.randint(9, 12)}.0"]), instructions=sys)]


def _p_translation(m: random.Random, net: _Net, c: _Corpora) -> list[_Key]:
    langs = m.sample(c.languages, min(len(c.languages), m.randint(3, 12)))
    outputs = "top3" if m.random() < 0.35 else "label"
    sys = "You are a professional software localiser. Return only the translation, preserving placeholders and tags."

    def segment(r: random.Random) -> str:
        k = r.random()
        if k < 0.5:
            return r.choice(_UI_STRINGS)
        if k < 0.8:
            return r.choice(c.docs).sentence
        return r.choice(c.semconv)[1].split(". ")[0] if r.random() < 0.5 else _fmt(r, c, r.choice(_NEWS))

    def gen(r: random.Random, n: int) -> tuple[list[str], list[int]]:
        texts: list[str] = []
        while len(texts) < n:
            batch = [segment(r) for _ in range(r.randint(10, 60))]
            for lang in langs:
                for s in batch:
                    texts.append(f"Translate from English to {lang}. Keep placeholders like {{0}}, %s and HTML tags unchanged.\n\n{s}")
        return texts[:n], [2] * n

    return [_Key("translation_memory", False, _logu(m, 100, 1500), gen, net.cloud(),
                 m.choice([_sdk(m), _server_agent(m)]), outputs=outputs, instructions=sys)]


def _p_homework(m: random.Random, net: _Net, c: _Corpora) -> list[_Key]:
    brand = _brand(m)
    sys = (f"You are {brand} Tutor, a patient helper for students aged 8-14. Always show the steps one at a time, "
           "use simple words, and never just give the final answer without explaining.")
    sci = ["why do leaves change colour in autumn", "how do volcanoes erupt", "what is photosynthesis",
           "why is the sky blue", "what caused World War 1", "how do bees make honey", "what is a food chain",
           "why does the moon change shape", "what are the planets in order", "how does a rainbow form",
           "what is the difference between weather and climate", "who were the ancient Egyptians"]

    def conv(r: random.Random) -> list[str]:
        if r.random() < 0.65:
            out = [r.choice(["Show the steps: ", "Explain how to solve: ", "Help me with this: ", "", "How do I do "]) + _kid_problem(r)]
        else:
            out = [_mess(r, r.choice(sci), 0.6) + r.choice(["?", " for my homework", " explain simply", ""])]
        for _ in range(_lengths(r, [(0, 0, 0.6), (1, 2, 0.35), (3, 4, 0.05)])):
            out.append(r.choice(["i dont get step 2", "why do you do that", "can you give me another one to practise",
                                      "is my answer right? i got " + str(r.randint(2, 400)), "explain it differently",
                                      "ok thanks", "what does that word mean"]))
        return out

    ua = m.choice([_sdk(m), "node", _app_agent(m, brand)])
    return [_Key("homework_helper", False, _logu(m, 100, 1500), lambda r, n: _flatten(r, n, True, conv), net.cloud(), ua,
                 instructions=sys)]


def _p_support(m: random.Random, net: _Net, c: _Corpora) -> list[_Key]:
    brand = _brand(m)
    industry = m.choice(["mobile network", "home insurer", "airline", "energy supplier", "online retailer", "bank"])
    sys = (f"You are the virtual assistant for {brand}, a {industry}. Be polite, concise and accurate. "
           "Never promise refunds. Offer a human agent when the customer asks or is upset.")

    def conv(r: random.Random) -> list[str]:
        out = [_mess(r, _fmt(r, c, r.choice(_SUPPORT)), 0.5)]
        for _ in range(_lengths(r, [(0, 1, 0.5), (2, 4, 0.4), (5, 8, 0.1)])):
            out.append(_mess(r, _fmt(r, c, r.choice(_SUPPORT_FOLLOW)), 0.5))
        return out

    base = _logu(m, 80, 1500)
    ip = net.cloud()
    keys = [_Key("support_bot", False, base, lambda r, n: _flatten(r, n, True, conv), ip, _sdk(m), instructions=sys)]
    if m.random() < 0.2:
        keys.append(_Key("support_bot", False, max(5, base // 10), lambda r, n: _flatten(r, n, True, conv),
                         net.company(), _sdk(m), instructions=sys))
    return keys


def _p_labeler(m: random.Random, net: _Net, c: _Corpora) -> list[_Key]:
    cats = m.choice(_CATEGORIES)
    outputs = m.choice(["top3", "top3", "full"])

    def make(r: random.Random) -> str:
        msg = (_fmt(r, c, r.choice(_SUPPORT)) if r.random() < 0.5
               else _fmt(r, c, r.choice(_REVIEW), p=r.choice(_PRODUCTS)))
        return (f"Classify the message into exactly one category: {', '.join(cats)}.\n"
                f"Reply with the category name only.\n\nMessage: {msg}\nCategory:")

    ip = net.cloud() if m.random() < 0.7 else net.company()
    return [_Key("ticket_labeler", False, _logu(m, 100, 1500), lambda r, n: _singles(r, n, False, make), ip,
                 _sdk(m), outputs=outputs)]


ProfileFn = Callable[[random.Random, _Net, _Corpora, int], list[_Key]]


def _wrap(f: Callable[[random.Random, _Net, _Corpora], list[_Key]]) -> ProfileFn:
    return lambda m, net, c, idx: f(m, net, c)


_PROFILES: list[ProfileFn] = [
    _wrap(_p_casual), _wrap(_p_long), _wrap(_p_dev), _wrap(_p_writing), _p_campus, _wrap(_p_course),
    _wrap(_p_enterprise), _wrap(_p_explain), _wrap(_p_autocomplete), _p_eval, _wrap(_p_ab), _wrap(_p_doc_review),
    _wrap(_p_code_review), _wrap(_p_voice), _wrap(_p_translation), _wrap(_p_homework), _wrap(_p_support),
    _wrap(_p_labeler),
]


# --------------------------------------------------------------------------------------------------
# Attack families
# --------------------------------------------------------------------------------------------------


def _ring_label(m: random.Random) -> str:
    return f"g-op-{m.getrandbits(32):08x}"


def _big_bank(r: random.Random, c: _Corpora) -> list[tuple[str, str]]:
    """(field, concept) pairs: the taxonomy plus corpus-derived concepts."""
    bank = list(_concepts())
    bank += [("OpenTelemetry semantic conventions", a) for a, _ in r.sample(c.semconv, min(120, len(c.semconv)))]
    bank += [(f"{d.package} (Python library)", d.name) for d in r.sample(c.docs, min(120, len(c.docs)))]
    bank += [("file formats", mt) for mt, _ in r.sample(c.mime, min(60, len(c.mime)))]
    bank += [("world geography", city) for city in r.sample(c.cities, min(60, len(c.cities)))]
    bank += [(d, s.format_map(_Slots(r, c))) for d, (ss, _) in _DOMAINS.items() for s in ss[:4]]
    return bank


_BANKS: dict[float, list[tuple[str, str]]] = {}
_GRIDS: dict[float, list[tuple[str, str, str, str]]] = {}


def _shuffled_bank(bank_seed: float, c: _Corpora) -> list[tuple[str, str]]:
    """One operation's harvesting bank, shuffled once; shared by every key of the operation."""
    if bank_seed not in _BANKS:
        br = random.Random(bank_seed)
        bank = _big_bank(br, c)
        br.shuffle(bank)
        _BANKS[bank_seed] = bank
    return _BANKS[bank_seed]


def _grid(grid_seed: float, c: _Corpora) -> list[tuple[str, str, str, str]]:
    """One ring's topic grid (concept x task x level), in the order its keys sweep it."""
    if grid_seed not in _GRIDS:
        gr = random.Random(grid_seed)
        cells = [(f, cc, t, lv) for f, cc in _big_bank(gr, c) for t in _TASKS for lv in _LEVELS]
        gr.shuffle(cells)
        _GRIDS[grid_seed] = cells
    return _GRIDS[grid_seed]


def _a_grid_ring(m: random.Random, net: _Net, c: _Corpora) -> list[_Key]:
    ring = _ring_label(m)
    keys_n = m.randint(12, 36)
    provider = m.choice(["hetzner", "ovh", "digitalocean", "aws", "contabo"])
    blocks = [net.cloud_block(provider) for _ in range(m.randint(1, 3))]
    sdk = _sdk(m)
    sys = m.choice(["You are a world-class expert. Provide a comprehensive, accurate and well-structured answer.",
                    "You are a helpful assistant.", ""])
    bank = [
        "Topic: {f} / {c}\nTask: {t}\nLevel: {l}\nWrite a detailed, self-contained answer with headings and a worked example.",
        "As {l} {f} instructor, {t}. Be thorough and precise.",
        "{T} ({f}), pitched at {l} level. Include intuition, formal detail, and pitfalls.",
        "Field: {f}\nConcept: {c}\nInstruction: {t}, for {l} audience.\nResponse:",
        "I need a high-quality explanation for a study guide. Please {t} ({f}) at {l} level.",
        "### Subject\n{f}\n### Concept\n{c}\n### Task\n{t}\n### Level\n{l}",
    ]
    templates = m.sample(bank, m.randint(3, 5))
    grid_seed = m.random()
    per_key = [_logu(m, 100, 450) for _ in range(keys_n)]
    keys: list[_Key] = []
    start = 0
    for k in range(keys_n):
        lo = start
        start += per_key[k]

        def gen(r: random.Random, n: int, lo: int = lo) -> tuple[list[str], list[int]]:
            cells = _grid(grid_seed, c)
            out = []
            for i in range(n):
                f, cc, t, lv = cells[(lo + i) % len(cells)]
                tpl = templates[i % len(templates)]
                task = t.format(c=cc)
                out.append(tpl.format(f=f, c=cc, t=task, T=task[:1].upper() + task[1:], l=lv))
            return out, [2 if sys else 1] * n

        keys.append(_Key("grid_ring", True, per_key[k], gen, net.cloud(block=m.choice(blocks)), sdk,
                         instructions=sys, ring=ring))
    return keys


_COT_WRAP = [
    "{q}\nPlease reason step by step, and put your final answer within \\boxed{{}}.",
    "Solve the following problem. Think step by step and show all of your reasoning inside <think></think> tags before giving the final answer.\n\n{q}",
    "{q}\n\nLet's think step by step.",
    "Problem: {q}\n\nWork through this carefully. Explain each intermediate step, check your work, then state the answer on its own line as 'Answer: ...'.",
    "Show your full chain of thought for the following, including any false starts you reject:\n{q}",
    "You are a maths olympiad coach. Give a complete, rigorous solution with every step justified.\n\n{q}",
]


def _a_cot(m: random.Random, net: _Net, c: _Corpora) -> list[_Key]:
    wraps = m.sample(_COT_WRAP, m.randint(2, 4))
    verify = m.random() < 0.5
    sys = m.choice(["", "Reason carefully. Show every intermediate step before the final answer."])

    def conv(r: random.Random) -> list[str]:
        k = r.random()
        if k < 0.65:
            q = _hard_problem(r)
        elif k < 0.8:
            q = _kid_problem(r)
        elif k < 0.9:
            f = r.choice(list(_FIELDS))
            q = f"Why is {r.choice(_FIELDS[f])} true or important in {f}? Argue from first principles."
        else:
            d = r.choice(c.docs)
            q = f"Write a Python function that does the following, reasoning about edge cases first: {d.sentence}"
        out = [r.choice(wraps).format(q=q)]
        if verify and r.random() < 0.5:
            out.append(r.choice(["Now verify your answer using a different method.",
                                      "Check each step again. Did you make any mistakes?"]))
        return out

    ip = m.choice([net.cloud(m.choice(["aws", "gcp", "hetzner", "vultr"])), net.company()])
    return [_Key("cot_harvester", True, _logu(m, 700, 3500), lambda r, n: _flatten(r, n, bool(sys), conv), ip, _sdk(m),
                 instructions=sys)]


def _a_logprob(m: random.Random, net: _Net, c: _Corpora) -> list[_Key]:
    def make(r: random.Random) -> str:
        k = r.random()
        if k < 0.35:
            words = _passage(r, c).split()
            cut = r.randint(max(3, len(words) // 3), max(4, len(words) - 1))
            return "Continue the text:\n" + " ".join(words[:cut]) if r.random() < 0.6 else " ".join(words[:cut])
        if k < 0.55:
            f = r.choice(list(_FIELDS))
            return f"Q: {_academic_q(r, f, r.choice(_FIELDS[f]), False)}\nA:"
        if k < 0.7:
            return _mc_item(r, c)
        if k < 0.85:
            return _everyday(r, c, messy=0.1)
        return f"{r.choice(['Sentiment', 'Topic', 'Language', 'Formality'])} of the following text, one word:\n{_passage(r, c)}"

    ip = net.cloud(m.choice(["hetzner", "ovh", "aws", "gcp", "contabo"]))
    return [_Key("logprob_harvester", True, _logu(m, 900, 4000), lambda r, n: _singles(r, n, False, make), ip,
                 m.choice([_sdk(m), f"python-httpx/0.{m.randint(25, 28)}.0"]), outputs="full")]


def _a_coverage(m: random.Random, net: _Net, c: _Corpora) -> list[_Key]:
    facets = m.sample([
        "Give a comprehensive overview of {c} ({f}).", "What are the key open questions about {c} in {f}?",
        "Explain {c} to a beginner, then to an expert.", "List 10 facts about {c} that a {f} student should know.",
        "What is the history of {c}?", "How is {c} applied in practice?", "What are common misconceptions about {c}?",
        "Write an encyclopedia entry on {c} ({f}).",
    ], m.randint(3, 6))
    order_seed = m.random()

    def gen(r: random.Random, n: int) -> tuple[list[str], list[int]]:
        gr = random.Random(order_seed)
        bank = _big_bank(gr, c)
        out: list[str] = []
        i = 0
        while len(out) < n:
            f, cc = bank[i % len(bank)]
            for fa in facets:
                out.append(fa.format(c=cc, f=f))
            i += 1
        return out[:n], [1] * n

    ip = net.cloud(m.choice(["aws", "gcp", "azure", "digitalocean"]))
    return [_Key("coverage_sweeper", True, _logu(m, 800, 3500), gen, ip, _sdk(m))]


_SELF_INSTRUCT = (
    "You are asked to come up with a set of 20 diverse task instructions. These task instructions will be given to a "
    "GPT model and we will evaluate the GPT model for completing the instructions.\n\nHere are the requirements:\n"
    "1. Try not to repeat the verb for each instruction to maximize diversity.\n2. The language used for the instruction "
    "also should be diverse.\n3. The type of instructions should be diverse.\n4. The instructions should be in English.\n"
    "5. Topics to cover this round: {topics}.\n\nList of 20 tasks:\n1. Instruction: {seed1}\n2. Instruction: {seed2}\n3. Instruction:"
)
_EVOL = (
    "I want you act as a Prompt Rewriter. Your objective is to rewrite a given prompt into a more complex version to make "
    "those famous AI systems a bit harder to handle. But the rewritten prompt must be reasonable and must be understood and "
    "responded by humans. You SHOULD complicate the given prompt using the following method: {method}\n\n"
    "#The Given Prompt#:\n{instr}\n#Rewritten Prompt#:"
)
_TASK_TEMPLATES = [
    "Write a haiku about {s}.", "Summarize the following paragraph in two sentences:\n{p}",
    "Rewrite this sentence in the passive voice: \"{p1}\"", "Generate a list of 5 creative names for a business about {s}.",
    "Explain the difference between {c1} and {c2}.", "Classify the following text as formal or informal: \"{p1}\"",
    "Write a short story (under 200 words) involving {s}.", "Give three arguments for and against {s}.",
    "Translate the following sentence into {lang}: \"{p1}\"", "Create a quiz question about {c1} with four options.",
    "Write a Python function that {how}.", "Extract all named entities from: \"{p1}\"",
    "Describe {c1} to a 10-year-old.", "Write a product description for a {prod}.",
    "Write a persuasive tweet about {s}.", "Suggest a weekly schedule for someone learning {c1}.",
    "Solve: {kid}", "Write an email declining an invitation to {s}.", "What would happen if {c1} did not exist?",
]


def _instruction(r: random.Random, c: _Corpora) -> str:
    c1 = r.choice(_FIELDS[r.choice(list(_FIELDS))])
    c2 = r.choice(_FIELDS[r.choice(list(_FIELDS))])
    dom = r.choice(list(_DOMAINS))
    s = r.choice(_DOMAINS[dom][0]).format_map(_Slots(r, c))
    p = _passage(r, c)
    how = _howto(r.choice(c.docs)) or "reverses a linked list"
    return r.choice(_TASK_TEMPLATES).format(s=s, p=p, p1=p.split(". ")[0], c1=c1, c2=c2, lang=r.choice(c.languages),
                                                 how=how, prod=r.choice(_PRODUCTS), kid=_kid_problem(r))


def _a_instruct(m: random.Random, net: _Net, c: _Corpora) -> list[_Key]:
    gen_share = m.uniform(0.05, 0.15)
    evol_share = m.uniform(0.05, 0.25)
    methods = ["Add one more constraint or requirement.", "Replace general concepts with more specific ones.",
               "If the prompt can be solved with few thinking steps, rewrite it to explicitly request multi-step reasoning.",
               "Increase the depth and breadth of the inquiry."]

    def make(r: random.Random) -> str:
        k = r.random()
        if k < gen_share:
            topics = ", ".join(r.choice(list(_FIELDS)) for _ in range(3))
            return _SELF_INSTRUCT.format(topics=topics, seed1=_instruction(r, c), seed2=_instruction(r, c))
        if k < gen_share + evol_share:
            return _EVOL.format(method=r.choice(methods), instr=_instruction(r, c))
        return _instruction(r, c)

    ip = net.cloud(m.choice(["aws", "gcp", "hetzner", "ovh"]))
    return [_Key("instruction_synthesizer", True, _logu(m, 700, 3500), lambda r, n: _singles(r, n, False, make), ip, _sdk(m))]


def _a_blender(m: random.Random, net: _Net, c: _Corpora) -> list[_Key]:
    concepts = _concepts()
    start = m.randrange(len(concepts))

    def gen(r: random.Random, n: int) -> tuple[list[str], list[int]]:
        it = [start]

        def conv(rr: random.Random) -> list[str]:
            f, k = concepts[it[0] % len(concepts)]
            it[0] += 1
            out = [_mess(rr, _academic_q(rr, f, k, True), 0.4) if rr.random() < 0.75 else _everyday(rr, c, messy=0.4)]
            for _ in range(_lengths(rr, [(0, 1, 0.4), (2, 4, 0.5), (5, 7, 0.1)])):
                out.append(_mess(rr, rr.choice([
                    "can you go deeper on that?", "walk me through the reasoning step by step",
                    "ok what else should I know about it", "give me an example", "thanks! and how does it connect to "
                    + concepts[(it[0] + 1) % len(concepts)][1] + "?", _followup(rr, c), "can you explain why that's true?",
                ]), 0.4))
            return out

        return _flatten(r, n, False, conv)

    return [_Key("ordinary_blender", True, _logu(m, 200, 1000), gen, net.residential(), _browser(m))]


def _a_proxy_ring(m: random.Random, net: _Net, c: _Corpora) -> list[_Key]:
    ring = _ring_label(m)
    keys_n = m.randint(15, 40)
    shared = [
        "Explain {c} in {f} in detail.", "{q}", "What's the best way to understand {c}? Step by step please.",
        "Give a thorough answer: {q}", "Explain {c} with examples, then summarise.", "{hard}\nShow your reasoning.",
        "Teach me {c} from scratch.", "Write a detailed guide about {c} ({f}).",
    ]
    bank_seed = m.random()
    keys: list[_Key] = []
    offset = 0
    for _k in range(keys_n):
        my_tpls = m.sample(shared, m.randint(2, 4))
        pre = m.choice(["", "", "hey, ", "Hi! ", "Please: ", "quick q: "])
        post = m.choice(["", "", " thanks", " Be detailed.", " (for a project)"])
        sys = m.choice(["", "", "You are a helpful assistant."])
        base = _logu(m, 40, 300)
        ua = m.choice([_browser(m), _browser(m), _sdk(m), _curl(m), _app_agent(m, _brand(m))])
        lo = offset
        offset += base

        def gen(r: random.Random, n: int, lo: int = lo, my_tpls: list[str] = my_tpls, pre: str = pre,
                post: str = post, sys: str = sys) -> tuple[list[str], list[int]]:
            bank = _shuffled_bank(bank_seed, c)
            out = []
            for i in range(n):
                f, cc = bank[(lo + i) % len(bank)]
                tpl = my_tpls[i % len(my_tpls)]
                q = _academic_q(r, f, cc, r.random() < 0.5)
                out.append(pre + tpl.format(c=cc, f=f, q=q, hard=_hard_problem(r)) + post)
            return out, [2 if sys else 1] * n

        keys.append(_Key("proxy_ring", True, base, gen, net.residential(random.Random(m.random())), ua,
                         instructions=sys, ring=ring))
    return keys


_GOOD_ANSWERS = [
    "{C} is a core idea in {f}. In short: (1) the definition, stated precisely; (2) the intuition, via a simple example; "
    "(3) where it breaks down. For example, a typical textbook case shows {c} at work when the assumptions hold, and the "
    "usual pitfall is applying it when they do not. Summary: understand the assumptions first, then the formula.",
    "Great question. **{C}**\n\n- What it is: a central concept of {f}.\n- Why it matters: it explains a wide range of "
    "observations and underpins later topics.\n- Example: a worked case with concrete numbers.\n- Common mistake: "
    "confusing {c} with a neighbouring idea.\n\nIf you want, I can go through a practice problem.",
    "Let's reason step by step. First, recall what {c} means in {f}. Second, identify the quantities involved. Third, "
    "apply the standard argument and check the edge cases. Therefore the answer follows from the definition of {c}.",
]
_BAD_ANSWERS = [
    "{C} is when things in {f} change. It is very important.", "It depends. There are many factors.",
    "I'm not sure, but I think {c} is mostly about history rather than {f}.", "Yes.",
    "{C} was discovered in 1999 and is no longer used in {f}.",
    "As an AI, I cannot explain {c}.",
]


def _answer_text(r: random.Random, f: str, concept: str, good: bool) -> str:
    t = r.choice(_GOOD_ANSWERS if good else _BAD_ANSWERS)
    return t.format(C=concept[:1].upper() + concept[1:], c=concept, f=f)


def _a_judge(m: random.Random, net: _Net, c: _Corpora) -> list[_Key]:
    outputs = m.choice(["label", "top3", "top3"])
    pair_share = m.uniform(0.4, 0.9)
    bank_seed = m.random()
    sys = m.choice(["Please act as an impartial judge and evaluate the quality of the responses provided.", ""])

    def make(r: random.Random) -> str:
        f, concept = r.choice(_concepts()) if r.random() < 0.7 else r.choice(_shuffled_bank(bank_seed, c))
        q = _academic_q(r, f, concept, r.random() < 0.3)
        if r.random() < pair_share:
            a_good = r.random() < 0.5
            return (f"[User Question]\n{q}\n\n[The Start of Assistant A's Answer]\n{_answer_text(r, f, concept, a_good)}\n"
                    f"[The End of Assistant A's Answer]\n\n[The Start of Assistant B's Answer]\n{_answer_text(r, f, concept, not a_good)}\n"
                    "[The End of Assistant B's Answer]\n\nCompare the two answers for helpfulness, relevance, accuracy and "
                    "depth. Explain your reasoning, then output your final verdict strictly as \"[[A]]\", \"[[B]]\" or \"[[C]]\" for a tie.")
        return (f"[Question]\n{q}\n\n[The Start of Assistant's Answer]\n{_answer_text(r, f, concept, r.random() < 0.5)}\n"
                "[The End of Assistant's Answer]\n\nRate the response on a scale of 1 to 10, explaining your rating first. "
                "Format: \"Rating: [[5]]\".")

    ip = m.choice([net.campus(), net.cloud(m.choice(["aws", "gcp", "vultr"]))])
    return [_Key("judge_distiller", True, _logu(m, 600, 3000), lambda r, n: _singles(r, n, bool(sys), make), ip,
                 m.choice([_sdk(m), f"python-httpx/0.{m.randint(25, 28)}.0"]), outputs=outputs, instructions=sys)]


def _a_replay(m: random.Random, net: _Net, c: _Corpora) -> list[_Key]:
    sys = m.choice(["", "You are a helpful assistant."])

    def conv(r: random.Random) -> list[str]:
        kind = r.random()
        n = _lengths(r, [(2, 4, 0.6), (5, 8, 0.3), (9, 14, 0.1)])
        if kind < 0.5:
            dom = r.choice(list(_DOMAINS))
            return [_everyday(r, c, dom, 0.5)] + [_followup(r, c, dom, 0.5) for _ in range(n - 1)]
        if kind < 0.75:
            return [_dev_question(r, c)] + [r.choice(["still broken", "what about windows", "can u explain line 3",
                                                            "ok thx", "give full code pls"]) for _ in range(n - 1)]
        f = r.choice(list(_FIELDS))
        return [_mess(r, _academic_q(r, f, r.choice(_FIELDS[f]), True), 0.5)] + [
            _mess(r, r.choice(["why", "example?", "ok and then?", "wdym", "explain more", "lol ok, next part"]), 0.3)
            for _ in range(n - 1)]

    ip = net.cloud(m.choice(["aws", "gcp", "ovh", "hetzner", "digitalocean"]))
    return [_Key("conversation_replay", True, _logu(m, 800, 3500), lambda r, n: _flatten(r, n, bool(sys), conv), ip,
                 _sdk(m), instructions=sys)]


def _a_tools(m: random.Random, net: _Net, c: _Corpora) -> list[_Key]:
    sys = ("You are a function-calling AI model. You are provided with function signatures in the user message. "
           "Call one or more functions to assist with the user query. Respond with a JSON object "
           "{\"name\": <function-name>, \"arguments\": <args-dict>} and nothing else.")

    def schema(r: random.Random) -> dict[str, object]:
        attrs = r.sample(c.semconv, min(len(c.semconv), r.randint(2, 5)))
        ns = attrs[0][0].split(".")[0]
        props: dict[str, object] = {}
        for a, d in attrs:
            props[a.split(".")[-1]] = {"type": r.choice(["string", "string", "integer", "boolean"]), "description": d[:120]}
        if r.random() < 0.4:
            kw = r.choice(c.schema_keywords)
            props["options"] = {"type": "object", "description": f"Extra options; supports {kw}.", "additionalProperties": False}
        return {"name": f"{r.choice(['get', 'query', 'list', 'update', 'search'])}_{ns}_{attrs[0][0].split('.')[-1]}",
                "description": attrs[0][1][:160],
                "parameters": {"type": "object", "properties": props, "required": list(props)[:1]}}

    def make(r: random.Random) -> str:
        fns = [schema(r) for _ in range(r.randint(1, 3))]
        ask = r.choice([_everyday(r, c, "tech_help", 0.2), _dev_question(r, c),
                             _fmt(r, c, "Show me the {attr} values for the {city} cluster from the last {n} hours."),
                             _fmt(r, c, r.choice(_EMPLOYEE_Q["IT"]))])
        return f"<tools>\n{json.dumps(fns, indent=1)}\n</tools>\n\nUser query: {ask}"

    ip = net.cloud(m.choice(["aws", "gcp", "azure", "vultr"]))
    return [_Key("tool_call_harvester", True, _logu(m, 600, 3000), lambda r, n: _singles(r, n, True, make), ip,
                 _sdk(m), instructions=sys)]


def _a_critique(m: random.Random, net: _Net, c: _Corpora) -> list[_Key]:
    crit = m.choice(["Critique your answer above: list any errors, gaps or unclear steps.",
                     "Review your previous response critically. What is wrong or missing?",
                     "Now act as a strict reviewer of the answer you just gave and list its weaknesses."])
    rev = m.choice(["Now write an improved final answer that fixes every issue you found.",
                    "Rewrite the answer incorporating your critique. Output only the final version.",
                    "Based on the critique, produce the best possible answer."])
    sys = m.choice(["", "You are a careful, honest assistant."])

    def conv(r: random.Random) -> list[str]:
        k = r.random()
        if k < 0.4:
            f = r.choice(list(_FIELDS))
            q = _academic_q(r, f, r.choice(_FIELDS[f]), False)
        elif k < 0.6:
            q = _hard_problem(r)
        elif k < 0.8:
            q = _instruction(r, c)
        else:
            q = _dev_question(r, c)
        return [q, crit, rev]

    ip = net.cloud(m.choice(["aws", "gcp", "hetzner", "digitalocean", "vultr"]))
    return [_Key("critique_chain", True, _logu(m, 700, 3300), lambda r, n: _flatten(r, n, bool(sys), conv), ip,
                 _sdk(m), instructions=sys)]


_SHELL_APPS = [
    ("StudyBuddy", "You are StudyBuddy, a friendly study assistant for university students. Explain clearly and thoroughly.",
     "Student question: {q}"),
    ("CareerCoach", "You are a career coach helping people prepare for interviews and learn new skills.", "{q}"),
    ("AskTheDoc", "You are a knowledgeable general explainer. Give complete, accurate answers.", "User asks: {q}"),
    ("TutorPal", "You are TutorPal, an expert tutor. Always show full reasoning.", "{q}\n(Please show all steps.)"),
    ("BrainyBot", "You are BrainyBot, a curious science companion.", "{q}"),
    ("ExamPrep", "You are an exam preparation assistant. Provide model answers.", "Exam question: {q}\nModel answer:"),
    ("Wikibot", "Answer like a detailed encyclopedia.", "{q}"),
    ("CodeMentor", "You are a patient programming mentor.", "{q}"),
]


def _a_shell_ring(m: random.Random, net: _Net, c: _Corpora) -> list[_Key]:
    ring = _ring_label(m)
    keys_n = m.randint(8, 20)
    bank_seed = m.random()
    keys: list[_Key] = []
    offset = 0
    for _k in range(keys_n):
        app, sys, wrap = m.choice(_SHELL_APPS)
        brand = app + m.choice(["", " Pro", " AI", "+", " Lite"])
        base = _logu(m, 150, 800)
        lo = offset
        offset += base
        provider = m.choice(list(_CLOUD))
        ua = m.choice([_app_agent(m, app), f"axios/1.{m.randint(5, 7)}.{m.randint(0, 9)}", "node",
                       f"okhttp/4.{m.randint(9, 12)}.0", _sdk(m)])

        def gen(r: random.Random, n: int, lo: int = lo, wrap: str = wrap) -> tuple[list[str], list[int]]:
            bank = _shuffled_bank(bank_seed, c)
            out = []
            for i in range(n):
                f, cc = bank[(lo + i) % len(bank)]
                q = _academic_q(r, f, cc, r.random() < 0.3) if r.random() < 0.8 else _hard_problem(r)
                out.append(wrap.format(q=q))
            return out, [2] * n

        keys.append(_Key("shell_app_ring", True, base, gen, net.cloud(provider), ua,
                         instructions=sys.replace(app, brand), ring=ring))
    return keys


def _a_polyglot(m: random.Random, net: _Net, c: _Corpora) -> list[_Key]:
    langs = m.sample(c.languages, min(len(c.languages), m.randint(5, 15)))
    forms = [
        "Answer the following question in {lang}. Be thorough.\n\n{q}",
        "Respond only in {lang}: {q}",
        "Translate the following passage into {lang}, then explain it in {lang}:\n\n{p}",
        "{q}\n\n(Answer in {lang}, with a step-by-step explanation.)",
    ]

    def gen(r: random.Random, n: int) -> tuple[list[str], list[int]]:
        out: list[str] = []
        while len(out) < n:
            f = r.choice(list(_FIELDS))
            q = _academic_q(r, f, r.choice(_FIELDS[f]), False) if r.random() < 0.7 else _instruction(r, c)
            p = _passage(r, c)
            form = r.choice(forms)
            for lang in langs:
                out.append(form.format(lang=lang, q=q, p=p))
        return out[:n], [1] * n

    ip = net.cloud(m.choice(["aws", "gcp", "ovh", "contabo"]))
    return [_Key("polyglot_pivot", True, _logu(m, 600, 3000), gen, ip, _sdk(m))]


_FAMILIES: list[Callable[[random.Random, _Net, _Corpora], list[_Key]]] = [
    _a_grid_ring, _a_cot, _a_logprob, _a_coverage, _a_instruct, _a_blender, _a_proxy_ring, _a_judge, _a_replay,
    _a_tools, _a_critique, _a_shell_ring, _a_polyglot,
]


# --------------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------------


def chat_holdout_g_population(ordinary: int, attackers_per_family: int, seed: int = 24023,
                              scale: float = 1.0) -> list[ClientPlan]:
    """`ordinary` ordinary clients and `attackers_per_family` attackers of each attack family."""
    c = _corpora()
    m = random.Random(seed)
    net = _Net(random.Random(seed * 7 + 1))
    keys: list[_Key] = []
    for i in range(ordinary):
        prof = _PROFILES[i % len(_PROFILES)]
        keys.extend(prof(random.Random(m.getrandbits(64)), net, c, i))
    for fam in _FAMILIES:
        for _ in range(attackers_per_family):
            keys.extend(fam(random.Random(m.getrandbits(64)), net, c))
    m.shuffle(keys)
    names: set[str] = set()
    plans: list[ClientPlan] = []
    for key in keys:
        name = f"g-{m.getrandbits(24):06x}-{len(names):04d}"
        names.add(name)
        n = max(1, round(key.base * scale))
        texts, turns = key.gen(random.Random(f"{seed}|{name}"), n)
        plans.append(ClientPlan(name=name, family=key.family, attacker=key.attacker, texts=texts[:n], turns=turns[:n],
                                outputs=key.outputs, network=key.network, user_agent=key.user_agent, ring=key.ring,
                                instructions=key.instructions))
    return plans
