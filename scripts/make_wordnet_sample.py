"""Build the shipped WordNet samples from Debian's wordnet-base package.

- Supersenses (heldout, teacher-train): each WordNet 3.0 synset's gloss is labeled with its
  lexicographer file (noun.animal, verb.motion, ...), the 45 "supersenses". Stratified by label.
- Definitions (definitions.jsonl.gz), for the generative task "define a word in one sentence":
  common single words (tagged at least once in WordNet's semantic concordance), each with its most
  frequent sense's definition (the gloss without its example sentences) as the gold answer.
- Noun topics (noun-topics.tsv.gz): every single-word noun with the supersense of its most
  frequent sense (noun.animal, noun.food, ...) and how often the semantic concordance tags it as a
  noun (rare words say what a prompt is about, common ones little), for the topics of chat
  prompts (shared.fingerprint.prompt_topics).

Seeded, so re-running the script on the same package gives the same files. Run: `make data` (needs
`apt-get install wordnet-base`; `--wordnet-dir` for an unpacked copy elsewhere).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import random
import shutil
from collections import defaultdict
from pathlib import Path

# The lexicographer file names by number, as WordNet's lexnames(5WN) manual page lists them;
# Debian's package ships the data files but not the lexnames file itself.
LEXNAMES = [
    "adj.all", "adj.pert", "adv.all", "noun.Tops", "noun.act", "noun.animal", "noun.artifact",
    "noun.attribute", "noun.body", "noun.cognition", "noun.communication", "noun.event",
    "noun.feeling", "noun.food", "noun.group", "noun.location", "noun.motive", "noun.object",
    "noun.person", "noun.phenomenon", "noun.plant", "noun.possession", "noun.process",
    "noun.quantity", "noun.relation", "noun.shape", "noun.state", "noun.substance", "noun.time",
    "verb.body", "verb.change", "verb.cognition", "verb.communication", "verb.competition",
    "verb.consumption", "verb.contact", "verb.creation", "verb.emotion", "verb.motion",
    "verb.perception", "verb.possession", "verb.social", "verb.stative", "verb.weather", "adj.ppl",
]


def read_synsets(wordnet_dir: Path):
    for pos in ("noun", "verb", "adj", "adv"):
        with open(wordnet_dir / f"data.{pos}", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("  "):  # the license header
                    continue
                head, _, gloss = line.partition(" | ")
                fields = head.split()
                offset, lex_filenum, ss_type = fields[0], int(fields[1]), fields[2]
                text = gloss.strip()
                if text:
                    yield {"id": f"{ss_type}{offset}", "text": text, "label": LEXNAMES[lex_filenum]}


POS_NAMES = {"noun": "noun", "verb": "verb", "adj": "adjective"}
DEFINITION_SIZES = {"noun": 5000, "verb": 1500, "adj": 1500}


def first_sense_definitions(wordnet_dir: Path, pos: str) -> list[dict]:
    """Common single-word lemmas of one part of speech with their most frequent sense's definition."""
    glosses: dict[str, tuple[str, str]] = {}
    with open(wordnet_dir / f"data.{pos}", encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("  "):
                continue
            head, _, gloss = line.partition(" | ")
            fields = head.split()
            definition = gloss.strip().split('; "')[0].strip().rstrip(";").strip()
            glosses[fields[0]] = (definition, LEXNAMES[int(fields[1])])
    rows = []
    with open(wordnet_dir / f"index.{pos}", encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("  "):
                continue
            fields = line.split()
            lemma, pointers = fields[0], int(fields[3])
            tagged = int(fields[5 + pointers])
            offsets = fields[6 + pointers:]
            if tagged < 1 or not lemma.isalpha() or not lemma.islower() or len(lemma) < 3:
                continue
            definition, label = glosses[offsets[0]]  # senses are listed most frequent first
            if len(definition.split()) >= 3:
                rows.append({"id": f"{pos}-{lemma}", "lemma": lemma, "pos": POS_NAMES[pos], "gloss": definition,
                             "label": label})
    return rows


def write_definitions(wordnet_dir: Path, out: Path, seed: int) -> None:
    rng = random.Random(seed)
    rows = []
    for pos, size in DEFINITION_SIZES.items():
        candidates = first_sense_definitions(wordnet_dir, pos)
        rows += rng.sample(candidates, min(size, len(candidates)))
        print(f"definitions: {min(size, len(candidates))} of {len(candidates)} common {POS_NAMES[pos]}s")
    rows.sort(key=lambda r: hashlib.sha256(r["id"].encode()).hexdigest())
    body = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8")
    (out / "definitions.jsonl.gz").write_bytes(gzip.compress(body, compresslevel=9, mtime=0))


def write_noun_topics(wordnet_dir: Path, out: Path) -> None:
    """lemma<TAB>supersense<TAB>count for every single-word noun: its most frequent sense's
    lexicographer file, and its noun senses' tags in the semantic concordance (cntlist.rev)."""
    counts: dict[str, int] = defaultdict(int)
    with open(wordnet_dir / "cntlist.rev", encoding="utf-8", errors="replace") as f:
        for line in f:
            key, _, count = line.split()
            lemma, _, sense = key.partition("%")
            if sense.startswith("1:"):
                counts[lemma] += int(count)
    lexnames: dict[str, str] = {}
    with open(wordnet_dir / "data.noun", encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.startswith("  "):
                fields = line.split(maxsplit=2)
                lexnames[fields[0]] = LEXNAMES[int(fields[1])]
    rows = []
    with open(wordnet_dir / "index.noun", encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("  "):
                continue
            fields = line.split()
            lemma, pointers = fields[0], int(fields[3])
            if lemma.isalpha() and lemma.islower() and len(lemma) >= 3:
                topic = lexnames[fields[6 + pointers]].removeprefix("noun.")
                rows.append(f"{lemma}\t{topic}\t{counts.get(lemma, 0)}\n")
    (out / "noun-topics.tsv.gz").write_bytes(gzip.compress("".join(rows).encode(), compresslevel=9, mtime=0))
    print(f"noun topics: {len(rows)} nouns")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--wordnet-dir", type=Path, default=Path("/usr/share/wordnet"))
    parser.add_argument("--out", type=Path, default=Path("data/wordnet"))
    parser.add_argument("--size", type=int, default=24000)
    parser.add_argument("--teacher-fraction", type=float, default=0.4)
    parser.add_argument("--seed", type=int, default=20250129)
    parser.add_argument("--only", choices=["supersenses", "definitions", "topics"], help="build one sample, not both")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.only in (None, "topics"):
        write_noun_topics(args.wordnet_dir, args.out)
    if args.only in (None, "definitions"):
        write_definitions(args.wordnet_dir, args.out, args.seed)
    if args.only in ("definitions", "topics"):
        return

    by_label: dict[str, list[dict]] = defaultdict(list)
    total = 0
    for row in read_synsets(args.wordnet_dir):
        by_label[row["label"]].append(row)
        total += 1
    rng = random.Random(args.seed)
    sample: list[dict] = []
    for label in sorted(by_label):
        rows = by_label[label]
        take = max(1, round(args.size * len(rows) / total))
        sample.extend(rng.sample(rows, min(take, len(rows))))
    # Order by a hash of the id so that the file is shuffled but stable.
    sample.sort(key=lambda r: hashlib.sha256(r["id"].encode()).hexdigest())

    args.out.mkdir(parents=True, exist_ok=True)
    # Two disjoint parts: one trains the teacher's head; the other is what distillation jobs send
    # the teacher, and its gold labels serve only to evaluate teacher and students.
    cut = int(len(sample) * args.teacher_fraction)
    for name, rows in (("teacher-train", sample[:cut]), ("heldout", sample[cut:])):
        body = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8")
        # mtime=0 keeps the gzip bytes identical across runs.
        (args.out / f"{name}.jsonl.gz").write_bytes(gzip.compress(body, compresslevel=9, mtime=0))
    copyright_file = Path("/usr/share/doc/wordnet-base/copyright")
    if copyright_file.exists():
        shutil.copy(copyright_file, args.out / "LICENSE")
    print(f"{len(sample)} of {total} synsets, {len(by_label)} labels: {cut} teacher-train, "
          f"{len(sample) - cut} heldout -> {args.out}")


if __name__ == "__main__":
    main()
