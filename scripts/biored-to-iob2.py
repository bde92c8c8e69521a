#!/usr/bin/env python3
"""BioRED's abstracts as an IOB2 corpus for `trainer train --extra-data`.

ChemicalEntity becomes Chemical and DiseaseOrPhenotypicFeature Disease; the
other types (genes, variants, organisms, cell lines) stay O. The abstracts
that a PubTator file to leave out holds (BC5CDR devel, by default) are left
out, so that devel stays unseen. Title and abstract are read as one text,
split into words (runs of word characters, or single other characters) and
into sentences after ".", "?" or "!" before a capital or digit that starts
no entity's inside. A mention that does not fall on word boundaries, or
overlaps one already tagged, is skipped and counted.

Usage: python3 scripts/biored-to-iob2.py ../shared/data/biored/train.pubtator OUT_DIR/train.tsv
       [--leave-out ../shared/data/bc5cdr/pubtator/devel.pubtator]
"""
import argparse
import re
import sys

TYPES = {"ChemicalEntity": "Chemical", "DiseaseOrPhenotypicFeature": "Disease"}
WORD = re.compile(r"\w+|[^\w\s]")


def documents(path):
    """(pmid, text, [(start, end, type)]) of a PubTator file."""
    doc = None
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line:
                if doc:
                    yield doc
                doc = None
                continue
            part = re.match(r"^(\d+)\|([ta])\|(.*)$", line)
            if part:
                if doc is None:
                    doc = (part.group(1), [], [])
                doc[1].append(part.group(3))
                continue
            fields = line.split("\t")
            if doc is None:
                sys.exit(f"{path}: line {number}: an annotation before any title")
            if len(fields) >= 5 and fields[1].isdigit() and fields[2].isdigit():
                doc[2].append((int(fields[1]), int(fields[2]), fields[4]))
    if doc:
        yield doc


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pubtator")
    parser.add_argument("out")
    parser.add_argument("--leave-out", default="../shared/data/bc5cdr/pubtator/devel.pubtator")
    args = parser.parse_args()
    leave_out = {pmid for pmid, _, _ in documents(args.leave_out)}
    kept = left_out = entities = skipped = 0
    with open(args.out, "w", encoding="utf-8") as out:
        for pmid, parts, mentions in documents(args.pubtator):
            if pmid in leave_out:
                left_out += 1
                continue
            kept += 1
            text = " ".join(parts)
            words = [(m.start(), m.end(), m.group()) for m in WORD.finditer(text)]
            tags = ["O"] * len(words)
            for start, end, kind in sorted(mentions):
                if kind not in TYPES:
                    continue
                inside = [i for i, (a, z, _) in enumerate(words) if start <= a and z <= end]
                aligned = inside and words[inside[0]][0] == start and words[inside[-1]][1] == end
                if not aligned or any(tags[i] != "O" for i in inside):
                    skipped += 1
                    continue
                entities += 1
                for n, i in enumerate(inside):
                    tags[i] = ("B-" if n == 0 else "I-") + TYPES[kind]
            first = 0
            for i, (_, _, word) in enumerate(words):
                last = i + 1 == len(words)
                ends = word in ".?!" and not last and (
                    words[i + 1][2][0].isupper() or words[i + 1][2][0].isdigit()
                ) and not tags[i + 1].startswith("I-")
                if ends or last:
                    for (_, _, w), tag in zip(words[first:i + 1], tags[first:i + 1]):
                        out.write(f"{w}\t{tag}\n")
                    out.write("\n")
                    first = i + 1
    print(f"{kept} abstracts, {entities} mentions ({skipped} off word boundaries or overlapping); "
          f"{left_out} left out (in {args.leave_out})", file=sys.stderr)


if __name__ == "__main__":
    main()
