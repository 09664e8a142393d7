"""The third validation harness of the detector's chat tests: chat traffic written apart from the
tuning harness (`cli/chat_simulator.py`, WordNet), from the first validation harness
(`cli/chat_holdout.py`, the standard library's docstrings) and from the second
(`cli/chat_holdout_b.py`, license texts and installed packages' descriptions), and never tuned
against. Other corpora, other phrasings, other products and people, other attacks, another seed.

Its corpora are read at run time from what every fresh Debian machine has:
- the POD of Perl's core modules (`/usr/share/perl/5.36*`, or whichever `5.*` directory is there):
  the prose paragraphs of the `=head` sections (NAME, SYNOPSIS, authors, copyright, licence and
  "see also" sections, verbatim blocks, `=begin`/`=end` regions and POD commands left out,
  formatting codes resolved), one subject per module, modules with too little prose pooled into
  their top-level namespace; each subject's terms are its `=item` names, `C<...>` codes and
  sub-headings;
- the Debian changelogs (`/usr/share/doc/*/changelog.Debian.gz`): the bullet entries (a
  sub-bullet carries its parent's short heading), one subject per source package; its terms are
  the binary packages' names and the entries' file names, identifiers, acronyms and CVE ids.
The everyday words of the writing assistant and of passers-by are the harness's own few.

Ordinary profiles (the number of prompts at scale 1.0; the products' system prompts are sent as
such, and a conversation's requests carry its earlier turns):
- fleet-admin: a system administrator talking about the changes of one or two packages of their
  fleet (restarts, risk, rollbacks, pins), in conversations with follow-ups; now and then asking
  to be walked through the reasoning; from the company's NAT or from home, mostly a browser or a
  command-line chat tool (10 to 300);
- perl-porter: a maintainer of legacy Perl code asking about one module's documentation with
  code-ish questions (context, failure values, fork safety, mocking, porting to Python), half of
  them through an editor plugin with its system prompt (10 to 250);
- release-digest: a product turning a few changelog entries of one package at a time into
  user-facing release notes for its appliance, through a long template and a system prompt,
  single-turn (60 to 900);
- entry-labeler: a vulnerability-tracking product labelling the changelog entries of the packages
  of its customers' images (bugfix, security, feature, packaging) with top-3 logprobs, half with a
  system prompt (100 to 1,200);
- writing-desk: a writing-assistant product's backend: its end users' e-mails, messages, posts
  and cards, then revisions ("shorter", "more formal"), with its system prompt (100 to 1,500);
- perl-classroom: an online course quizzing learners on one Perl module with its system prompt:
  questions drawn from the documentation, learners' answers, most asking to explain the answer
  (60 to 800);
- bulk-pipeline: an internal batch job over three to six packages' changelogs (JSON extraction,
  translation) or modules' documentation (Markdown conversion, search queries), one template, a
  quarter with top-3 logprobs (2,000 to 3,000);
- passer-by: a handful of everyday questions (cooking, travel, trivia, now and then a package or
  a Perl module), mostly from a mobile carrier's CGNAT (3 to 25, at any scale).
Products sit behind their company's NAT (one to four products a company); people on their own
residential /24; the mobile carrier's subscribers share a few dozen addresses of one /16.

Attacks (600 prompts a key at scale 1.0, never under 64; a hydra60 key sends a fifteenth of that,
at least 12, and a proxy-ring key ten at scale 1.0, at least 5):
- rationale-miner: a question about every subject of both corpora in turn (why a module is
  designed so, which edge case a caller sees, what problem a change solved, its impact on a
  server), asking for the rationale in varied words (appended to the message), or in a system
  prompt, or as a "think first, then answer" layout (each key mostly one of the three ways);
- instruction-filler: one instruction template a key (a Markdown-sectioned task, [INST] tags,
  an Alpaca-style triple, chat-template tags) filled with a term of every subject in turn; odd
  keys ask for the top-20 logprobs;
- logprob-sweeper: plain prompts over every subject (a passage as is, "continue" a passage's
  first half, "what is" a subject or a term, a summary), top-20 logprobs;
- slow-mixer: a fleet-admin (even keys) or perl-porter (odd keys) conversation, from a home
  address and a browser, with natural questions about every subject in turn in about a third of
  its turns;
- hydra60: 60 keys from one hosting provider's /16 and one HTTP client, a few dozen prompts each,
  rotating six templates (summarise a subject, rewrite a passage, a question-answer pair from a
  passage, a term's use, explain a change, a multiple-choice question) over random subjects;
- proxy-ring: 50 keys of natural questions about anything, from the /24s of a residential proxy
  pool (the same first octets as real people), browsers, phones, SDKs or no user agent;
- paraphrase-launderer: paraphrases, restyles and restatements of passages (changelog entries in
  groups) of every subject in turn, two or three instructions a key.
The single-key attackers other than the mixers sit on cloud or university machines.
"""

from __future__ import annotations

import glob
import gzip
import math
import os
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from cli.simulator import ClientPlan, assembled

ORDINARY = ("fleet-admin", "perl-porter", "release-digest", "entry-labeler", "writing-desk", "perl-classroom",
            "bulk-pipeline", "passer-by")
ATTACKS = ("rationale-miner", "instruction-filler", "logprob-sweeper", "slow-mixer", "hydra60", "proxy-ring",
           "paraphrase-launderer")

# Corpora.
PERL_ROOTS = ("/usr/share/perl/5.36*", "/usr/share/perl/5.*", "/usr/share/perl/*")
CHANGELOGS = "/usr/share/doc/*/changelog.Debian.gz"
SKIPPED_SECTIONS = ("NAME", "SYNOPSIS", "AUTHOR", "COPYRIGHT", "LICEN", "SEE ALSO", "VERSION", "MAINTAINER",
                    "ACKNOWLEDG", "THANKS", "CREDITS", "CONTRIBUTOR", "SUPPORT", "REPORTING BUGS")
_MULTI_CODE = tuple(re.compile(rf"([A-Z])<{{{n}}}\s+(.+?)\s+>{{{n}}}", re.S) for n in (4, 3, 2))
_CODE = re.compile(r"([A-Z])<([^<>]*)>")
_ESCAPES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "sol": "/", "verbar": "|", "apos": "'", "nbsp": " "}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_ENTRY_TERM = re.compile(r"\bCVE-\d{4}-\d{4,}\b|(?<![\w/.-])(?:[\w-]+/)+[\w.+-]*\w|\b[a-z][a-z0-9]*_[a-z0-9_]+\b"
                         r"|\b[A-Z][A-Z0-9]{2,}(?:-[A-Z0-9]+)?\b|\b[\w-]+\.(?:conf|service|socket|py|pl|sh|h|c|so|"
                         r"cfg|json|xml|ini|rules|install|postinst|preinst|prerm|postrm|symbols)\b")
_TERM_NOISE = frozenset({"THE", "AND", "FOR", "NOT", "NEW", "BTS", "DFSG", "NMU", "UNRELEASED"})
MIN_PASSAGES = 6


@dataclass(frozen=True)
class Subject:
    name: str  # a module (or a top-level namespace) or a source package
    kind: str  # "perl" | "deb"
    passages: tuple[str, ...]  # the POD's prose paragraphs, or the changelog's bullet entries
    terms: tuple[str, ...]
    blurb: str = ""  # perl: what NAME says the module is


def _codes(text: str, terms: list[str] | None = None) -> str:
    """POD text with its formatting codes resolved (C<x> to x, L<text|target> to text, E<gt> to >,
    X<> and Z<> dropped); the contents of C<> codes go to `terms`."""

    def one(match: re.Match[str]) -> str:
        code, body = match.group(1), match.group(2)
        if code in "XZ":
            return ""
        if code == "E":
            if body.isdigit():
                return chr(int(body))
            return _ESCAPES.get(body, body)
        if code == "L":
            if "|" in body:
                return body.split("|", 1)[0]
            page, _, section = body.partition("/")
            section, page = section.strip('"'), page.strip('"')
            return f'"{section}" in {page}' if section and page else section or page
        if code == "C" and terms is not None and 1 < len(body) <= 40 and "\n" not in body:
            terms.append(body)
        return body

    for pattern in _MULTI_CODE:
        text = pattern.sub(one, text)
    for _ in range(6):
        resolved = _CODE.sub(one, text)
        if resolved == text:
            break
        text = resolved
    return text


def _prose(paragraph: str, longest: int = 700) -> str:
    """A paragraph's text if it reads as prose (cut at a sentence boundary when long), else ""."""
    text = " ".join(paragraph.split())
    if len(text) > longest:
        kept = ""
        for sentence in _SENTENCE_END.split(text):
            if len(kept) + len(sentence) + 1 > longest:
                break
            kept = f"{kept} {sentence}".strip()
        text = kept
    letters = sum(c.isalpha() or c == " " for c in text)
    if (len(text) < 40 or len(text.split()) < 7 or letters < 0.78 * len(text) or not text[0].isalnum()
            or text[-1] not in ".!?:)" or "http" in text or re.search(r"\w@[\w-]+\.\w", text)):
        return ""
    return text


def _parse_pod(text: str) -> tuple[str, list[str], list[str]]:
    """A file's POD: the NAME line's description, the prose paragraphs of its =head sections,
    and its terms (=item names, C<> codes, sub-headings)."""
    blurb = ""
    passages: list[str] = []
    terms: list[str] = []
    in_pod = False
    region = ""  # inside =begin ... =end
    section = ""  # the current =head1 title
    heading = False  # a =head seen
    for block in re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n")):
        block = block.lstrip("\n")
        if re.match(r"=[a-zA-Z]", block):
            command, _, rest = block.partition(" ")
            command = command.split("\n")[0]
            rest = " ".join(rest.split())
            if command == "=cut":
                in_pod = False
                continue
            in_pod = True
            if command == "=begin":
                region = rest.split(" ")[0] or "?"
            elif command == "=end":
                region = ""
            elif command == "=head1":
                section, heading = _codes(rest).upper(), True
            elif command.startswith("=head"):
                heading = True
                title = _codes(rest)
                if 3 <= len(title) <= 60:
                    terms.append(title)
            elif command == "=item" and not region:
                item = _codes(rest).lstrip("*0123456789. ").strip()
                if 2 <= len(item) <= 48:
                    terms.append(item)
            continue
        if not in_pod or region or not heading or block[:1] in (" ", "\t"):
            continue
        if section == "NAME" and not blurb:
            blurb = " ".join(_codes(block).split()).partition(" - ")[2]
        if any(skipped in section for skipped in SKIPPED_SECTIONS):
            continue
        found: list[str] = []
        passage = _prose(_codes(block, found))
        if passage:
            passages.append(passage)
            terms += found
    return blurb, passages, terms


@cache
def perl_docs() -> dict[str, Subject]:
    """The POD of Perl's core modules, by module (modules with little prose pooled into their
    top-level namespace); empty where Perl's library is not installed."""
    roots: list[str] = []
    for pattern in PERL_ROOTS:
        roots = sorted({os.path.realpath(p) for p in glob.glob(pattern) if os.path.isdir(p)})
        if roots:
            break
    modules: dict[str, tuple[str, list[str], list[str]]] = {}
    seen: set[str] = set()
    for root in roots[-1:]:  # the newest version's directory
        found = glob.glob(f"{root}/**/*.pm", recursive=True) + glob.glob(f"{root}/**/*.pod", recursive=True)
        for path in sorted(found):
            real = os.path.realpath(path)
            if real in seen:
                continue
            seen.add(real)
            module = os.path.relpath(path, root).rsplit(".", 1)[0].replace(os.sep, "::")
            try:
                with open(real, encoding="utf-8", errors="replace") as f:
                    blurb, passages, terms = _parse_pod(f.read())
            except OSError:
                continue
            old = modules.get(module, ("", [], []))
            modules[module] = (old[0] or blurb, old[1] + passages, old[2] + terms)
    groups: dict[str, tuple[str, list[str], list[str]]] = {}
    for module in sorted(modules):
        blurb, passages, terms = modules[module]
        key = module if len(set(passages)) >= MIN_PASSAGES else module.split("::")[0]
        old = groups.get(key, ("", [], []))
        groups[key] = (old[0] or (blurb if key == module else ""), old[1] + passages, old[2] + terms)
    out = {}
    for key, (blurb, passages, terms) in groups.items():
        unique = tuple(dict.fromkeys(passages))
        if len(unique) >= MIN_PASSAGES - 2:
            kept = tuple(dict.fromkeys(t for t in terms if ";" not in t and len(t) <= 40))
            out[key] = Subject(key, "perl", unique, kept or (key,), blurb)
    return out


def _entries(text: str) -> list[str]:
    """The bullet entries of a Debian changelog: each `*` entry (its wrapped lines joined), and each
    sub-bullet under it, prefixed by the entry when that is a short heading ("debian/control:")."""
    out: list[str] = []
    entry: list[str] = []
    sub: list[str] = []

    def flush_sub() -> None:
        if sub:
            parent = " ".join(entry)
            prefix = parent + " " if parent.endswith(":") and len(parent) <= 40 else ""
            out.append(prefix + " ".join(sub))
            sub.clear()

    def flush() -> None:
        flush_sub()
        if entry and not (" ".join(entry).endswith(":") and len(" ".join(entry)) <= 40):
            out.append(" ".join(entry))
        entry.clear()

    for line in text.splitlines():
        stripped = line.strip()
        indent = len(line) - len(line.lstrip(" "))
        if stripped.startswith("* ") and 1 <= indent <= 4:
            flush()
            entry.append(stripped[2:])
        elif entry and stripped[:2] in ("- ", "+ ", "o ") and indent >= 4:
            flush_sub()
            sub.append(stripped[2:])
        elif entry and stripped and indent >= 4 and not stripped.startswith("--"):
            (sub or entry).append(stripped)
        else:
            flush()
    flush()
    kept = []
    for item in out:
        item = " ".join(item.split())
        letters = sum(c.isalpha() or c == " " for c in item)
        if 20 <= len(item) <= 400 and len(item.split()) >= 4 and letters >= 0.6 * len(item):
            kept.append(item)
    return kept


@cache
def changelogs() -> dict[str, Subject]:
    """The Debian changelogs' bullet entries, by source package; empty where there are none."""
    entries: dict[str, list[str]] = {}
    binaries: dict[str, list[str]] = {}
    seen: set[str] = set()
    for path in sorted(glob.glob(CHANGELOGS)):
        real = os.path.realpath(path)
        binary = os.path.basename(os.path.dirname(path))
        try:
            with gzip.open(real, "rt", encoding="utf-8", errors="replace") as f:
                text = f.read() if real not in seen else f.readline()
        except (OSError, EOFError):
            continue
        match = re.match(r"\s*([a-z0-9][a-z0-9+.-]+) \(", text)
        if not match:
            continue
        source = match.group(1)
        binaries.setdefault(source, []).append(binary)
        if real not in seen:
            seen.add(real)
            entries.setdefault(source, []).extend(_entries(text))
    out = {}
    for source in sorted(entries):
        unique = tuple(dict.fromkeys(entries[source]))
        if len(unique) < MIN_PASSAGES - 2:
            continue
        terms = [t for e in unique for t in _ENTRY_TERM.findall(e) if t not in _TERM_NOISE and len(t) <= 48]
        out[source] = Subject(source, "deb", unique, tuple(dict.fromkeys([*binaries[source], *terms])))
    return out


@cache
def subjects() -> dict[str, Subject]:
    """Every subject of both corpora, keyed "perl:<module>" or "deb:<package>"."""
    found = {f"{s.kind}:{s.name}": s for corpus in (perl_docs(), changelogs()) for s in corpus.values()}
    if not found:
        raise RuntimeError("chat_holdout_c needs Perl's core modules (/usr/share/perl/5.*) or Debian changelogs "
                           "(/usr/share/doc/*/changelog.Debian.gz); neither was found")
    return found


@cache
def _of_kind(kind: str, least: int = MIN_PASSAGES) -> list[Subject]:
    """The subjects of one corpus with at least `least` passages (the other corpus's, or any
    subject, where it has none)."""
    every = [subjects()[key] for key in sorted(subjects())]
    for pool in ([s for s in every if s.kind == kind and len(s.passages) >= least],
                 [s for s in every if s.kind == kind], [s for s in every if len(s.passages) >= least], every):
        if pool:
            return pool
    return every


def _term(rng: random.Random, subject: Subject) -> str:
    return rng.choice(subject.terms) if subject.terms else subject.name


def _head(text: str, words: int = 9) -> str:
    return " ".join(text.split()[:words]).rstrip(",.;:")


# Everyday material, the harness's own.
BROWSERS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 "
    "Edg/124.0.2478.80",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 "
    "Safari/605.1.15",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36",
)
PHONES = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 "
    "Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.6422.113 Mobile "
    "Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; SM-A536B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.179 Mobile "
    "Safari/537.36",
    "Pocketchat/3.8.1 (iPhone; iOS 17.4.1; Scale/3.00)",
    "Pocketchat/3.8.0 (Android 14; okhttp/4.12.0)",
)
RESIDENTIAL = (68, 71, 76, 82, 87, 94, 151, 188)  # people's first octets (the proxy pool's too)
COMPANY = (62, 80, 84, 145, 193, 212, 217)  # companies' NATs
CLOUD = (3, 13, 18, 20, 34, 35, 40, 52, 54, 104, 146, 161)  # cloud machines
UNIVERSITY = (128, 129, 130, 131, 141)
CARRIER = "46.114"  # the mobile carrier's /16 (CGNAT egress)
HOSTING = ("95.216", "135.181", "65.108", "159.69", "167.235", "178.63", "116.202", "49.12")  # hydras' /16s
SDKS = ("OpenAI/Python 1.35.3", "OpenAI/Python 1.40.6", "OpenAI/JS 4.52.7", "python-httpx/0.27.0",
        "python-requests/2.31.0", "aiohttp/3.9.5", "litellm/1.41.3", "Go-http-client/2.0")

RECIPIENTS = ("my landlord", "the team", "my manager", "a customer who complained", "our neighbours",
              "my daughter's teacher", "the hotel", "a recruiter", "the plumber", "my book club", "a supplier",
              "our volunteers", "my bank", "the school office")
PURPOSES = ("reschedule Thursday's meeting", "ask for a refund", "thank them for their help last week",
            "apologise for a late delivery", "request two days off next month", "invite them to a barbecue on Saturday",
            "report a leaking tap", "decline their offer politely", "follow up on an unpaid invoice",
            "say I'm leaving the company", "ask for a reference letter", "confirm the booking for three nights",
            "ask about the parking permit", "cancel my subscription")
TONES = ("warm", "formal", "brief", "firm but polite", "friendly", "apologetic", "upbeat")
LINES = ("per my last email, the report is still missing", "sorry for late reply, was very busy with the move",
         "we would like to kindly remind you that payment was due", "i cant make it tomorrow can we do friday",
         "As discussed, please find attached the updated figures", "thanks a lot for everything you did for the event",
         "Not sure why nobody told me about this change earlier.", "hope your well, just checking in about the quote")
NOTES = ("meeting moved to 3pm, bring laptops, lunch provided",
         "rent paid, heater broken since monday, need someone asap",
         "project delayed 2 weeks, supplier issue, new date the 14th", "party saturday 6pm, bring a dish, kids welcome",
         "new opening hours from may: 8-6 weekdays, closed sundays", "lost keys, spare with neighbour, back on tuesday")
NEWS = ("I started a new job as a data analyst", "our bakery is opening a second shop", "I finished my first marathon",
        "our team shipped the new mobile app", "I passed my nursing exams", "we are hiring two junior developers")
OCCASIONS = ("for a retirement", "for a new baby", "to say get well soon", "for a 40th birthday", "for a wedding")
EVERYDAY = ("how long do I bake a potato at 200C", "good name for a tabby kitten?", "is it rude to bring wine to a bbq",
            "explain how interest rates affect mortgages", "what should I pack for 3 days in Lisbon in March",
            "give me a 20 minute workout with no equipment", "how do I get red wine out of a carpet",
            "why is the sky blue but sunsets are red", "ideas for a 7 year old's birthday party",
            "difference between a crocodile and an alligator", "cheap meal plan for a week for two",
            "how many cups is 500ml", "plot of Hamlet in three sentences", "is it worth learning to code at 45?",
            "stretches for lower back pain", "recommend a sci-fi book like The Martian",
            "how to keep basil alive indoors",
            "what time zone is Auckland in", "how do i tell my boss i'm burnt out", "fun facts about octopuses")
EVERYDAY_SUBJECT = ("my laptop says there's an update for {deb}, should I install it?", "what is {perl} in perl",
                    "my son's computer class mentions {perl}, what's that?", "is {deb} a virus? it's in my updates")
EVERYDAY_FOLLOW = ("thanks!", "shorter pls", "why?", "and for two people?", "ok another one", "lol nice", "in french?",
                   "wait really?")

# Ordinary people and products.
FLEET_ASKS = (
    "We rolled the latest {pkg} out to about forty Debian hosts last night. The changelog says \"{e}\" "
    "Do I need to restart anything?",
    "what does this {pkg} changelog line change in practice? {e}",
    "Would our security team care about this {pkg} entry? '{e}'",
    "unattended-upgrades pulled a new {pkg} overnight and since then we see {symptom}. One of the entries reads: "
    "{e} Could that be related?",
    "Our Ansible role pins {pkg} to the old version. The Debian changelog of the new one has \"{e}\" Safe to unpin?",
    "Explain this Debian packaging note for someone who runs servers but doesn't build packages: {e}",
    "{pkg} changelog: \"{e}\" Which files on the system would this have touched?",
    "Reviewing the {pkg} upgrade for our change advisory board. Entry: {e} Would you call the risk low, medium or "
    "high?",
    "Anything in this {pkg} note that affects images built on debian:bookworm-slim? {e}",
    "I'm on call and {pkg} just got updated. \"{e}\" -- anything I should watch in the logs?",
)
SYMPTOMS = ("a few cron jobs failing", "a debconf prompt hanging the upgrade", "slower SSH logins",
            "a failed systemd unit at boot", "higher memory use", "new warnings in the journal")
FLEET_FOLLOW = ("How would I check that on a running box?", "Is there a security tracker entry I should look at?",
                "ok, and if I roll back with apt?", "What's the command to hold the package?",
                "Same question for {pkg2}.",
                "makes sense, thanks", "Does it need a reboot?", "How do I see which version each host has?",
                "Write me two lines for the change ticket.", "Some hosts are still on bullseye, does this apply there?",
                "Can I try it in a container first? How?", "got it")
FLEET_STEPS = (" Walk me through how you'd verify it, step by step.",
               " Please reason it out, I have to justify the decision to my lead.",
               " Explain how you reach that conclusion.")
FLEET_SYSTEM = "You are a helpful assistant for Linux system administration. Answer concisely; use shell code blocks."
PERL_ASKS = (
    "In {mod}, what happens if I call {term} twice in the same process? The docs say: \"{p}\"",
    "I'm maintaining an old codebase that uses {mod}. The POD says \"{p}\" Can you turn that into a short code "
    "comment?",
    "What does {term} return on failure in {mod}? Do I check for undef or does it die?",
    "Is {term} from {mod} safe to use after fork()?",
    "The documentation of {mod} says: {p} Is that still accurate on Perl 5.36, and what's the modern idiom?",
    "How would I mock {term} ({mod}) in a Test::More test?",
    "Here's a paragraph from {mod}'s POD: \"{p}\" How would I do the same thing in Python?",
    "Why does {mod} behave like this? {p}",
    "quick perl q: {mod}, {term} -- scalar or list context?",
    "Code review question. A colleague used {term} from {mod}. The docs mention \"{p}\" Any gotchas I should flag?",
)
PERL_FOLLOW = ("Can you show that with use strict and use warnings on?", "What changes under taint mode?",
               "And on Windows with Strawberry Perl?", "Now I get \"Can't locate object method\". What did I miss?",
               "Is there a CPAN module that does this better?", "ok, write me a small .t file for it",
               "Which version of {mod} introduced {term}?", "perfect, ty",
               "How do I do the same with a filehandle instead of a filename?",
               "perlcritic complains about that. Alternative?")
PERL_STEPS = (" Explain your reasoning so I can paste it into the commit message.",
              " Go through it line by line please.")
PERL_SYSTEM = ("You are a coding assistant inside the user's editor. Answer concisely, prefer code over prose, and "
               "assume Perl 5.36 unless told otherwise.")
PRODUCTS = (("Tidewater Edge Gateway", "network appliance for small offices"),
            ("Larkspur Kiosk OS", "locked-down operating system for public kiosks"),
            ("Brightfield POS", "point-of-sale terminal image"), ("Quarry Runners", "hosted build-runner image"),
            ("Juniper Classroom", "laptop image for schools"), ("Meridian Homebox", "home network storage box"))
AUDIENCES = ("store managers", "school IT coordinators", "our customers' administrators", "non-technical home users",
             "developers using our runners")
DIGEST_SYSTEM = ("You write release notes for {product}, a {what}. Readers are {audience}. Be accurate: never invent "
                 "a change that is not in the entries, leave out entries that only concern Debian packaging, and keep "
                 "a calm, factual tone. Output Markdown.")
DIGEST = ("Component: {pkg}\nRelease: {release}\nAudience: {audience}\n\nChangelog entries since our last release:\n"
          "{bullets}\n\nWrite (1) a headline of at most 10 words, (2) a summary paragraph of at most 60 words and (3) "
          "a \"What this means for you\" list with one bullet per user-visible change. If nothing is user-visible, "
          "say so in one sentence.")
LABELER = ("Classify the Debian changelog entry into exactly one of: bugfix, security, feature, packaging.\n"
           "Entry: {}\nLabel:",
           "Entry: \"{}\"\nIs this a bugfix, a security fix, a feature or packaging work? One word.",
           "label (bugfix|security|feature|packaging) for: {}")
LABELER_SYSTEM = "You are a classifier. Output only the label, in lowercase, and nothing else."
DESK_ASKS = ("Draft an email to {who} to {why}. Keep it {tone}.",
             "Write a short text message to {who}: I need to {why}.",
             "Give me five subject lines for an email to {who}, I need to {why}.",
             "Fix the grammar and make it {tone}: \"{line}\"", "Turn these notes into a {tone} paragraph: {notes}",
             "Write a LinkedIn post saying {news}.", "Rewrite this so it sounds less passive-aggressive: \"{line}\"",
             "Help me write a card for {who} {occasion}.",
             "Write an email to the team saying we're upgrading {deb} on the servers on Tuesday night.")
DESK_FOLLOW = ("shorter", "more formal please", "add that I can do Monday instead", "sign it from Sam",
               "translate it into Spanish", "perfect, thank you", "less stiff", "make the opening friendlier",
               "remove the last sentence", "now a version for a text message")
DESK_SYSTEM = ("You are Quillmate, a writing assistant. Match the user's language, keep drafts ready to send, and "
               "do not add placeholders unless asked.")
CLASS_SYSTEM = ("You are a tutor in an online Perl course; this unit covers {mod}. Quiz the learner with one question "
                "at a time, check their answers, and always explain your answer.")
CLASS_ASKS = ("Give me a question about this part of {mod}: \"{p}\" When I reply, explain your answer.",
              "Quiz me on {term} from {mod}. Explain your answer when you mark mine.", "Next question please.",
              "Make a true/false statement from this passage and I'll answer: {p}",
              "Ask me something about {term}, multiple choice please.")
CLASS_ANSWERS = ("My answer: {term}. Is that right? Explain your answer.",
                 "I think it's false, because the docs say \"{head}\". Explain whether I'm right.", "B",
                 "I'm not sure. Can you explain the answer?", "It returns undef, I think. Please explain your answer.",
                 "I said true. Why is that wrong?", "c) -- explain your answer please", "Why though?")
CLASS_EXPLAIN = (" Explain your answer.", " Please explain your answer step by step.")
BULK = {"deb": ("Extract a JSON object with keys \"component\", \"change_type\" (fix, feature, security, packaging) "
                "and \"cves\" (a list) from this changelog entry. Entry: {}",
                "Translate this changelog entry into German for our internal knowledge base. Keep identifiers "
                "unchanged: {}"),
        "perl": ("Convert this documentation paragraph to GitHub-flavoured Markdown, keeping the wording; put code in "
                 "backticks:\n{}",
                 "Write three search queries an engineer might type that this paragraph answers, one per line:\n{}")}

# Attacks.
WHY_PERL = ("Here is part of the documentation of {subj}: \"{p}\" Why is the module designed this way, and what would "
            "break if it were not?",
            "Consider {subj}: {p} In which situations would this behaviour surprise a programmer, and how should they "
            "guard against it?",
            "From the {subj} documentation: \"{p}\" Predict what a caller of {term} observes in the edge case this "
            "implies.",
            "Evaluate whether this statement about {subj} holds on every platform Perl supports: {p}")
WHY_DEB = ("The Debian changelog of {subj} contains: \"{p}\" What problem was the maintainer solving, and what "
           "could go wrong without the change?",
           "Assess the impact of this {subj} change on a production server: {p}",
           "Why might a Debian developer have made this change to {subj}? \"{p}\"",
           "Would this {subj} entry justify a stable update, or only an upload to unstable? {p}")
RATIONALE = ("Before answering, write out your rationale in full.",
             "I want to see your thought process, not only the conclusion.",
             "Give your reasoning as numbered steps, then a one-line verdict.",
             "Explain why, stating each intermediate inference.",
             "Show the chain of reasoning that leads to your answer.",
             "Include a detailed rationale section.", "Think it over carefully first, write that thinking down, then "
             "answer.", "Make your reasoning explicit at every step.")
RATIONALE_SYSTEM = ("You are an expert analyst. For every question, first write a section headed 'Rationale' that sets "
                    "out each inference in order, then a section headed 'Answer'.",
                    "Always explain the reasoning behind your answer in detail before stating it. Never give a bare "
                    "answer.",
                    "You write worked explanations for a study guide: think the problem through explicitly, one "
                    "numbered step per inference, and end with 'Final answer:'.")
LAYOUTS = ("Respond in the following format.\n<thinking>\nyour step-by-step thinking\n</thinking>\n<answer>\nthe final "
           "answer\n</answer>\n\n{q}",
           "{q}\n\nFirst think, then answer. Use this layout:\nThoughts: ...\nAnswer: ...",
           "Task: {q}\nWrite your analysis first under 'Analysis:', then the conclusion under 'Conclusion:'.")
FILLER = ("### System:\nYou are a senior Unix engineer.\n### Task:\nWrite a thorough explanation of `{term}` as it "
          "relates to {subj}, including its purpose, typical usage and one pitfall.\n### Answer:",
          "[INST] Teach me about \"{term}\" in {subj}. Cover what it is, when to use it, and give an example. [/INST]",
          "Instruction: Describe {term} ({subj}).\nInput: (none)\nOutput:",
          "<|user|>\nWhat is {term} in the context of {subj}? Give a complete, self-contained answer.\n<|assistant|>")
PLAIN = ("{p}", "Continue: {half}", "What is {subj}?", "What does {term} mean in {subj}?", "Summarize: {p}")
HYDRA = ("Summarize what {subj} is about in five bullet points.", "Rewrite the following in your own words: {p}",
         "Generate a question-and-answer pair grounded in this text: {p}", "What is {term} used for in {subj}?",
         "Explain this change and why it matters: {p}",
         "Create a multiple-choice question (four options, mark the correct one) about {subj}.")
HYDRA_AGENTS = ("node-fetch/1.0 (+https://github.com/bitinn/node-fetch)", "undici", "Java-http-client/17.0.11",
                "reqwest/0.12.4", "okhttp/4.12.0", "Ruby")
NATURAL_PERL = ("what is {subj} used for in perl?", "How do I use {term} from {subj}?",
                "Is {subj} still the recommended way, or is there something newer?",
                "What does this mean? \"{p}\" (it's from the {subj} docs)",
                "When would I reach for {subj} instead of writing it myself?",
                "can someone explain {term} in {subj} simply",
                "{subj}: {p} -- is that still true?")
NATURAL_DEB = ("What is the {subj} package for?", "Why does the {subj} changelog say \"{p}\"?",
               "should i upgrade {subj} on my server? saw this: {p}",
               "Is it safe to remove {subj} from a minimal install?",
               "What does \"{p}\" mean in the {subj} changelog?", "what changed in {subj} lately")
PARAPHRASE = ("Paraphrase the passage below so that no sentence keeps its original wording.\n\n{p}",
              "Rewrite this in a conversational blog voice, with the same information: {p}",
              "Give three distinct paraphrases of the following text, numbered:\n{p}",
              "Restate this for a non-technical reader without losing any facts: {p}",
              "Reword the following so that it could not be matched to its source: {p}")
PARAPHRASE_DEB = "Rewrite these Debian changelog entries of {subj} as a short paragraph of plain prose:\n{p}"


def _count(rng: random.Random, low: int, high: int, scale: float) -> int:
    """Log-uniform between low and high, scaled, at least five."""
    return max(5, int(math.exp(rng.uniform(math.log(low), math.log(high))) * scale))


def _conversation(rng: random.Random, queries: int, opener: Callable[[], str], follow: Callable[[], str],
                  steps: tuple[str, ...], rate: float, longest: int, system: bool) -> tuple[list[str], list[int]]:
    """A person's prompts in conversations of an opener and follow-ups, now and then asking for the
    steps; the messages each request sends (with a system prompt: one more)."""
    texts: list[str] = []
    turns: list[int] = []
    while len(texts) < queries:
        for turn in range(rng.randint(1, longest)):
            text = opener() if turn == 0 else follow()
            if rng.random() < rate and "xplain" not in text:
                text += rng.choice(steps)
            texts.append(text)
            turns.append(2 * turn + 1 + int(system))
    return texts[:queries], turns[:queries]


class _Addresses:
    """Ordinary clients' addresses: products behind their company's NAT (one to four a company),
    people on their own residential /24, phones behind the carrier's CGNAT."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.nat = ""
        self.left = 0
        self.taken: set[str] = set()
        self.egress = [f"{CARRIER}.{rng.randint(0, 255)}.{rng.randint(2, 250)}" for _ in range(40)]

    def _block(self, firsts: tuple[int, ...]) -> str:
        while True:
            block = f"{self.rng.choice(firsts)}.{self.rng.randint(0, 255)}.{self.rng.randint(0, 255)}"
            if block not in self.taken:
                self.taken.add(block)
                return block

    def company(self, alone: bool = False) -> str:
        if self.left == 0 or alone:
            self.nat = f"{self._block(COMPANY)}.{self.rng.randint(2, 30)}"
            self.left = 1 if alone else self.rng.randint(1, 4)
        self.left -= 1
        return self.nat

    def person(self) -> str:
        return f"{self._block(RESIDENTIAL)}.{self.rng.randint(2, 250)}"

    def phone(self) -> str:
        return self.rng.choice(self.egress)


def _fleet(rng: random.Random, queries: int, own: list[Subject], other: Subject,
           system: bool) -> tuple[list[str], list[int]]:
    def opener() -> str:
        pkg = rng.choice(own)
        return rng.choice(FLEET_ASKS).format(pkg=pkg.name, e=rng.choice(pkg.passages), symptom=rng.choice(SYMPTOMS))

    return _conversation(rng, queries, opener, lambda: rng.choice(FLEET_FOLLOW).format(pkg2=other.name), FLEET_STEPS,
                         0.07, 5, system)


def _porter(rng: random.Random, queries: int, mod: Subject, system: bool) -> tuple[list[str], list[int]]:
    def opener() -> str:
        return rng.choice(PERL_ASKS).format(mod=mod.name, p=rng.choice(mod.passages), term=_term(rng, mod))

    def follow() -> str:
        return rng.choice(PERL_FOLLOW).format(mod=mod.name, term=_term(rng, mod))

    return _conversation(rng, queries, opener, follow, PERL_STEPS, 0.05, 4, system)


def _ordinary(i: int, kind: str, rng: random.Random, scale: float, addresses: _Addresses) -> ClientPlan:
    debs, perls = _of_kind("deb", 12), _of_kind("perl", 12)
    name = f"{kind}-{i:03d}"
    turns: list[int] = []
    outputs = "label"
    instructions = ""
    if kind == "fleet-admin":
        own = rng.sample(debs, min(len(debs), rng.randint(1, 2)))
        instructions = FLEET_SYSTEM if rng.random() < 0.3 else ""
        texts, turns = _fleet(rng, _count(rng, 10, 300, scale), own, rng.choice(debs), bool(instructions))
        agent = rng.choice([*BROWSERS, f"shell_gpt/1.4.{rng.randint(0, 4)}",
                            f"OpenAI/Python 1.{rng.randint(20, 50)}.0"])
        network = addresses.company() if rng.random() < 0.5 else addresses.person()
    elif kind == "perl-porter":
        instructions = PERL_SYSTEM if rng.random() < 0.5 else ""
        texts, turns = _porter(rng, _count(rng, 10, 250, scale), rng.choice(perls), bool(instructions))
        agent = (rng.choice([f"gptel/0.8.{rng.randint(0, 6)} (GNU Emacs 29.3)", "Python-urllib/3.11"]) if instructions
                 else rng.choice(BROWSERS))
        network = addresses.person() if rng.random() < 0.6 else addresses.company()
    elif kind == "release-digest":
        pkg = rng.choice(debs)
        product, what = rng.choice(PRODUCTS)
        audience = rng.choice(AUDIENCES)
        instructions = DIGEST_SYSTEM.format(product=product, what=what, audience=audience)
        texts = []
        for _ in range(_count(rng, 60, 900, scale)):
            picked = rng.sample(pkg.passages, min(len(pkg.passages), rng.randint(2, 7)))
            texts.append(DIGEST.format(pkg=pkg.name, audience=audience, bullets="\n".join(f"- {e}" for e in picked),
                                       release=f"{rng.randint(2023, 2025)}.{rng.randint(1, 12)}"))
        turns = [2] * len(texts)
        agent = f"{product.split()[0].lower()}-release-bot/{rng.randint(1, 3)}.{rng.randint(0, 9)}"
        network = addresses.company()
    elif kind == "entry-labeler":
        pool = [e for s in rng.sample(debs, min(len(debs), rng.randint(4, 15))) for e in s.passages]
        template = rng.choice(LABELER)
        texts = [template.format(rng.choice(pool)) for _ in range(_count(rng, 100, 1200, scale))]
        outputs = "top3"
        if rng.random() < 0.5:
            instructions, turns = LABELER_SYSTEM, [2] * len(texts)
        agent = rng.choice(["python-requests/2.31.0", f"vulnwatch-worker/2.{rng.randint(0, 9)}"])
        network = addresses.company()
    elif kind == "writing-desk":
        instructions = DESK_SYSTEM

        def draft() -> str:
            return rng.choice(DESK_ASKS).format(who=rng.choice(RECIPIENTS), why=rng.choice(PURPOSES),
                                                tone=rng.choice(TONES), line=rng.choice(LINES),
                                                notes=rng.choice(NOTES), news=rng.choice(NEWS),
                                                occasion=rng.choice(OCCASIONS), deb=rng.choice(debs).name)

        texts, turns = _conversation(rng, _count(rng, 100, 1500, scale), draft, lambda: rng.choice(DESK_FOLLOW),
                                     ("",), 0.0, 4, True)
        agent = f"quillmate-api/{rng.randint(2, 4)}.{rng.randint(0, 20)} (+node)"
        network = addresses.company()
    elif kind == "perl-classroom":
        mod = rng.choice(perls)
        instructions = CLASS_SYSTEM.format(mod=mod.name)

        def quiz() -> str:
            return rng.choice(CLASS_ASKS).format(mod=mod.name, p=rng.choice(mod.passages), term=_term(rng, mod))

        def answer() -> str:
            return rng.choice(CLASS_ANSWERS).format(term=_term(rng, mod), head=_head(rng.choice(mod.passages)))

        texts, turns = _conversation(rng, _count(rng, 60, 800, scale), quiz, answer, CLASS_EXPLAIN, 0.25, 6, True)
        agent = rng.choice(["OpenAI/JS 4.47.1", f"learnloop-backend/{rng.randint(1, 5)}.{rng.randint(0, 9)}"])
        network = addresses.company()
    elif kind == "bulk-pipeline":
        which = "deb" if rng.random() < 0.6 else "perl"
        pools = [s.passages for s in rng.sample(debs if which == "deb" else perls, rng.randint(3, 6))]
        template = rng.choice(BULK[which])
        texts = [template.format(rng.choice(pools[min(int(rng.expovariate(0.8)), len(pools) - 1)]))
                 for _ in range(_count(rng, 2000, 3000, scale))]
        outputs = "top3" if rng.random() < 0.25 else "label"
        agent = rng.choice(["python-requests/2.28.1", "Go-http-client/1.1",
                            f"batchd/{rng.randint(0, 3)}.{rng.randint(1, 9)}"])
        network = addresses.company()
    else:  # passer-by
        def everyday() -> str:
            if rng.random() < 0.15:
                return rng.choice(EVERYDAY_SUBJECT).format(deb=rng.choice(debs).name, perl=rng.choice(perls).name)
            return rng.choice(EVERYDAY)

        texts, turns = _conversation(rng, rng.randint(3, 25), everyday, lambda: rng.choice(EVERYDAY_FOLLOW),
                                     (" step by step please",), 0.05, 3, False)
        if rng.random() < 0.75:
            agent, network = rng.choice(PHONES), addresses.phone()
        else:
            agent, network = rng.choice(BROWSERS), addresses.person()
    return ClientPlan(name, kind, False, texts, outputs=outputs, user_agent=agent, turns=turns, network=network,
                      instructions=instructions)


def _natural(rng: random.Random, subject: Subject) -> str:
    """A natural question about a subject: what it is, or about one of its passages or terms."""
    frames = NATURAL_PERL if subject.kind == "perl" else NATURAL_DEB
    return rng.choice(frames).format(subj=subject.name, p=rng.choice(subject.passages), term=_term(rng, subject))


def _paraphrase(rng: random.Random, subject: Subject, template: str) -> str:
    if subject.kind == "deb" and rng.random() < 0.6:
        picked = rng.sample(subject.passages, min(len(subject.passages), rng.randint(2, 4)))
        return PARAPHRASE_DEB.format(subj=subject.name, p="\n".join(f"* {e}" for e in picked))
    return template.format(p=rng.choice(subject.passages))


def _cloud(rng: random.Random, firsts: tuple[int, ...] = CLOUD) -> str:
    return f"{rng.choice(firsts)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(2, 250)}"


def _attack(family: str, k: int, rng: random.Random, scale: float, addresses: _Addresses) -> list[ClientPlan]:
    queries = max(64, int(600 * scale))
    every = [subjects()[key] for key in sorted(subjects())]
    order = rng.sample(every, len(every))  # coverage: every subject in turn

    def subject(j: int) -> Subject:
        return order[j % len(order)]

    name = f"{family}-{k:02d}"
    if family == "rationale-miner":
        mode = k % 3  # 0: an appended ask, 1: a system prompt, 2: a think-first layout (each mostly)
        system = rng.choice(RATIONALE_SYSTEM)
        texts: list[str] = []
        turns: list[int] = []
        for j in range(queries):
            s = subject(j)
            question = rng.choice(WHY_PERL if s.kind == "perl" else WHY_DEB).format(
                subj=s.name, p=rng.choice(s.passages), term=_term(rng, s))
            way = mode if mode == 1 or rng.random() < 0.8 else 2 - mode
            texts.append(question + " " + rng.choice(RATIONALE) if way == 0 else
                         rng.choice(LAYOUTS).format(q=question) if way == 2 else question)
            turns.append(2 if mode == 1 else 1)
        return [ClientPlan(name, family, True, texts, turns=turns, instructions=system if mode == 1 else "",
                           network=_cloud(rng), user_agent=rng.choice(SDKS[:4]))]
    if family == "instruction-filler":
        template = FILLER[k % len(FILLER)]
        texts = [template.format(term=_term(rng, subject(j)), subj=subject(j).name) for j in range(queries)]
        return [ClientPlan(name, family, True, texts, outputs="full" if k % 2 else "label", network=_cloud(rng),
                           user_agent=rng.choice(SDKS))]
    if family == "logprob-sweeper":
        texts = []
        for j in range(queries):
            s = subject(j)
            p = rng.choice(s.passages)
            texts.append(rng.choice(PLAIN).format(p=p, half=" ".join(p.split()[:max(4, len(p.split()) // 2)]),
                                                  subj=s.name, term=_term(rng, s)))
        network = _cloud(rng, UNIVERSITY) if k % 2 else _cloud(rng)
        return [ClientPlan(name, family, True, texts, outputs="full", network=network,
                           user_agent=rng.choice(["", "python-httpx/0.27.0", "OpenAI/Python 1.37.1"]))]
    if family == "slow-mixer":
        share = rng.uniform(0.28, 0.38)
        debs, perls = _of_kind("deb", 12), _of_kind("perl", 12)
        if k % 2 == 0:
            texts, turns = _fleet(rng, queries, rng.sample(debs, min(2, len(debs))), rng.choice(debs), False)
        else:
            texts, turns = _porter(rng, queries, rng.choice(perls), False)
        cursor = 0
        for j in range(queries):
            if rng.random() < share:
                texts[j] = _natural(rng, subject(cursor))
                turns[j] = turns[j] if rng.random() < 0.5 else 1
                cursor += 1
        return [ClientPlan(name, family, True, texts, turns=turns, network=addresses.person(),
                           user_agent=rng.choice(BROWSERS))]
    if family == "paraphrase-launderer":
        templates = rng.sample(PARAPHRASE, rng.randint(2, 3))
        texts = [_paraphrase(rng, subject(j), rng.choice(templates)) for j in range(queries)]
        return [ClientPlan(name, family, True, texts, network=_cloud(rng), user_agent=rng.choice(SDKS))]
    plans = []
    if family == "hydra60":
        block = HOSTING[k % len(HOSTING)]
        agent = HYDRA_AGENTS[k % len(HYDRA_AGENTS)]
        offset = rng.randrange(len(HYDRA))
        for m in range(60):
            texts = []
            for j in range(max(12, queries // 15)):
                s = rng.choice(every)
                texts.append(HYDRA[(offset + m + j) % len(HYDRA)].format(subj=s.name, p=rng.choice(s.passages),
                                                                         term=_term(rng, s)))
            plans.append(ClientPlan(f"{name}-key{m:02d}", family, True, texts, ring=name, user_agent=agent,
                                    network=f"{block}.{rng.randint(0, 255)}.{rng.randint(2, 250)}"))
        return plans
    subnets = [f"{rng.choice(RESIDENTIAL)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}" for _ in range(36)]
    for m in range(50):  # proxy-ring
        texts = [_natural(rng, rng.choice(every)) for _ in range(max(5, int(10 * scale)))]
        agent = rng.choice(["", *BROWSERS, *PHONES, *SDKS[:3]])
        plans.append(ClientPlan(f"{name}-key{m:02d}", family, True, texts, ring=name, user_agent=agent,
                                network=f"{rng.choice(subnets)}.{rng.randint(2, 250)}"))
    return plans


def chat_holdout_c_population(ordinary: int, attackers_per_family: int, seed: int = 12011,
                              scale: float = 1.0) -> list[ClientPlan]:
    """`ordinary` ordinary clients (profiles in turn) and, per attack family, that many attackers
    (a ring counts as one; every key of it is an attacking client), shuffled."""
    rng = random.Random(seed)
    addresses = _Addresses(rng)
    return assembled(rng, ordinary, attackers_per_family, ORDINARY, ATTACKS,
                     lambda i, profile: _ordinary(i, profile, rng, scale, addresses),
                     lambda family, k: _attack(family, k, rng, scale, addresses))
