"""Build the shipped WordNet supersense sample from Debian's wordnet-base package.

Each WordNet 3.0 synset's gloss is labeled with its lexicographer file (noun.animal, verb.motion,
...), the 45 "supersenses". The sample is stratified by label and seeded, so re-running the script
on the same package gives the same file. Run: `make data` (needs `apt-get install wordnet-base`).
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--wordnet-dir", type=Path, default=Path("/usr/share/wordnet"))
    parser.add_argument("--out", type=Path, default=Path("data/wordnet"))
    parser.add_argument("--size", type=int, default=24000)
    parser.add_argument("--teacher-fraction", type=float, default=0.4)
    parser.add_argument("--seed", type=int, default=20250129)
    args = parser.parse_args()

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
