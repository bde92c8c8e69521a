#!/usr/bin/env python3
"""The MTSamples notes, tagged by a model, as an IOB2 corpus to self-train on.

Reads the notes (one per paragraph, as scripts/clinical-dev-sample.py reads
them) and `trainer predict`'s JSON lines for them (one note per file, in the
notes' order; offsets in characters), splits each note into the sentences
clinical-dev-sample.py draws from, and writes each sentence's words
(runs of word characters, or single other characters) with the tags of the
predicted entities that cover them. Every sentence that is in the clinical
development set is left out, so that the set stays unseen text.

Usage (docs/experiments.md, "Clinical notes and BioRED as more supervision"):
  python3 scripts/notes-to-iob2.py --split-notes DIR          # one file per note
  trainer predict --model public/models DIR/*.txt > PRED.jsonl
  python3 scripts/notes-to-iob2.py PRED.jsonl OUT.tsv
"""
import argparse
import importlib.util
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_NOTES = "../shared/data/mtsamples/notes.txt"
DEFAULT_DEV = os.path.join(HERE, "..", "trainer", "data", "clinical-dev.jsonl")
WORD = re.compile(r"\w+|[^\w\s]")


def sampler():
    spec = importlib.util.spec_from_file_location(
        "clinical_dev_sample", os.path.join(HERE, "clinical-dev-sample.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tagged_words(text, offset, spans):
    """Words of text (at `offset` in its note) and their IOB2 tags."""
    words = [(offset + m.start(), offset + m.end(), m.group())
             for m in WORD.finditer(text)]
    tags = ["O"] * len(words)
    for start, end, label in spans:
        inside = [i for i, (a, z, _) in enumerate(words) if start <= a and z <= end]
        for n, i in enumerate(inside):
            tags[i] = ("B-" if n == 0 else "I-") + label
    return [w for _, _, w in words], tags


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("predictions", nargs="?")
    parser.add_argument("out", nargs="?")
    parser.add_argument("--notes", default=DEFAULT_NOTES)
    parser.add_argument("--dev", default=DEFAULT_DEV)
    parser.add_argument("--split-notes", metavar="DIR",
                        help="write each note to DIR/NNN.txt and stop")
    args = parser.parse_args()
    cds = sampler()
    notes = cds.read_notes(args.notes)
    if args.split_notes:
        os.makedirs(args.split_notes, exist_ok=True)
        for i, note in enumerate(notes, 1):
            with open(os.path.join(args.split_notes, f"{i:03d}.txt"), "w", encoding="utf-8") as f:
                f.write(note)
        return
    if not (args.predictions and args.out):
        parser.error("give PRED.jsonl and OUT.tsv (or --split-notes DIR)")
    with open(args.dev, encoding="utf-8") as f:
        dev = {json.loads(line)["text"] for line in f if line.strip()}
    with open(args.predictions, encoding="utf-8") as f:
        predictions = [json.loads(line) for line in f if line.strip()]
    if len(predictions) != len(notes):
        sys.exit(f"{args.predictions}: {len(predictions)} lines for {len(notes)} notes in {args.notes}")
    kept = left_out = entities = 0
    with open(args.out, "w", encoding="utf-8") as out:
        for number, (note, prediction) in enumerate(zip(notes, predictions), 1):
            spans = []
            for e in prediction["entities"]:
                if note[e["start"]:e["end"]] != e["text"]:
                    sys.exit(f"{args.predictions}: line {number}: {e['text']!r} is not at "
                             f"{e['start']}..{e['end']} of note {number}")
                spans.append((e["start"], e["end"], e["label"]))
            at = 0
            for sentence in cds.sentences(note):
                offset = note.index(sentence, at)
                at = offset + len(sentence)
                if sentence in dev:
                    left_out += 1
                    continue
                words, tags = tagged_words(sentence, offset, spans)
                entities += sum(t.startswith("B-") for t in tags)
                for word, tag in zip(words, tags):
                    out.write(f"{word}\t{tag}\n")
                out.write("\n")
                kept += 1
    print(f"{kept} sentences, {entities} entities; {left_out} sentences of {args.dev} left out",
          file=sys.stderr)


if __name__ == "__main__":
    main()
