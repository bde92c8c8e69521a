#!/usr/bin/env python3
"""Draw the sentence samples behind trainer/data/clinical-dev.jsonl.

Reads the MTSamples notes (one note per paragraph, notes numbered from 1)
and splits each note into sentences. Three strata, each redrawable exactly:

- "random" (the default, the first 120 lines of the file): sentences with 6
  to 60 words, 120 picked with random.Random(35).
- "sections" (the next 100 lines): sentences that start with, or belong to,
  one of SECTION_HEADINGS (6 to 60 words, or 3 to 60 if the sentence starts
  with the heading), minus the random stratum's picks; 100 picked with
  random.Random(36). Only section headings are looked at, never the content.
- "medications" (the next 80 lines): sentences of 3 to 60 words, in neither
  stratum above, that contain a dose (DOSE) or start with, or belong to, a
  section whose heading contains MEDICATION or MEDS or is ALLERGIES
  (is_medication_heading); 80 picked with random.Random(37). Only the dose
  pattern and headings are looked at, never which entities a sentence has.

Prints JSON Lines: {"note": int, "sentence": int, "text": str}, where
"sentence" is the 0-based index of the sentence among all sentences of
its note (before the length filter). The sections stratum adds "section",
the heading the sentence starts with or belongs to; the medications stratum
adds "section" (or null) and "dose" (whether DOSE matches).

Usage: python3 scripts/clinical-dev-sample.py [--stratum random|sections|medications]
       [NOTES_PATH] > sample.jsonl
"""
import argparse
import json
import random
import re
import sys

DEFAULT_NOTES = "../shared/data/mtsamples/notes.txt"
SEED = 35
SAMPLE_SIZE = 120
MIN_WORDS = 6
MAX_WORDS = 60

# End punctuation, then whitespace, then an uppercase letter or a digit.
SENTENCE_END = re.compile(r"(?<=[.?!])\s+(?=[A-Z0-9])")
# A section heading: one or more upper-case words ending in a colon, such as
# "HISTORY OF PRESENT ILLNESS:". A heading starts a new sentence even when the
# text before it has no end punctuation ("ANESTHESIA: General COMPLICATIONS:").
CAPS_WORD = r"[A-Z][A-Z0-9&/(),'-]*"
HEADING_START = re.compile(r"(?<=\S)\s+(?=(?:" + CAPS_WORD + r" )*[A-Z][A-Z0-9&/(),'-]+:)")
CAPS_TOKEN = re.compile(CAPS_WORD + r",?|[&/-]")

# Second stratum: sections where medication lists, problem lists, histories
# and assessments live.
SECTIONS_SEED = 36
SECTIONS_SIZE = 100
SECTIONS_MIN_WORDS_AT_HEADING = 3
SECTION_HEADINGS = {
    "MEDICATIONS", "CURRENT MEDICATIONS", "DISCHARGE MEDICATIONS",
    "MEDICATIONS ON ADMISSION", "ALLERGIES", "PAST MEDICAL HISTORY",
    "PAST SURGICAL HISTORY", "FAMILY HISTORY", "SOCIAL HISTORY",
    "REVIEW OF SYSTEMS", "HISTORY OF PRESENT ILLNESS", "CHIEF COMPLAINT",
    "ASSESSMENT", "IMPRESSION", "ASSESSMENT AND PLAN", "PLAN", "DIAGNOSIS",
    "DIAGNOSES", "PREOPERATIVE DIAGNOSIS", "POSTOPERATIVE DIAGNOSIS",
    "DISCHARGE DIAGNOSIS", "DISCHARGE DIAGNOSES", "ADMISSION DIAGNOSIS",
    "HOSPITAL COURSE",
}
# Text before the first colon at the start of a sentence, in any case
# ("Allergies: None."), matched against SECTION_HEADINGS case-insensitively.
LEADING_LABEL = re.compile(r"([A-Za-z][A-Za-z ]*?)\s*:")

# Third stratum: medication lists and doses, picked by surface form only.
MEDICATIONS_SEED = 37
MEDICATIONS_SIZE = 80
MEDICATIONS_MIN_WORDS = 3
DOSE = re.compile(r"\b\d+(\.\d+)?\s?(mg|mcg|g|mL|units?|mEq)\b", re.IGNORECASE)
# A mixed-case label ("Current Medications:") counts as a heading for the
# medications stratum only if it has at most this many words, so that a
# sentence such as "The following types of medications have been used in
# the past: steroids." does not open a section.
MEDICATIONS_MAX_LABEL_WORDS = 3


def is_listed(heading):
    """Heading test of the sections stratum."""
    return heading in SECTION_HEADINGS


def is_medication_heading(heading):
    """Heading test of the medications stratum (`heading` is upper case)."""
    return "MEDICATION" in heading or "MEDS" in heading or heading == "ALLERGIES"


def split_points(note):
    """Offsets in `note` where a new sentence starts."""
    points = {m.end() for m in SENTENCE_END.finditer(note)}
    for m in HEADING_START.finditer(note):
        prev = note[: m.start()].split()[-1]
        # Inside a heading ("PAST MEDICAL HISTORY") or right after one
        # ("PHYSICAL EXAMINATION: VITAL SIGNS:") is not a sentence start.
        if prev.endswith(":") or CAPS_TOKEN.fullmatch(prev):
            continue
        points.add(m.end())
    return sorted(points)


def sentences(note):
    """Sentences of a note, each an exact substring stripped of whitespace."""
    bounds = [0] + split_points(note) + [len(note)]
    out = []
    for start, end in zip(bounds, bounds[1:]):
        text = note[start:end].strip()
        if text:
            out.append(text)
    return out


def read_notes(path):
    with open(path, encoding="utf-8") as f:
        raw = f.read()
    return [n.strip() for n in re.split(r"\n\s*\n", raw) if n.strip()]


def caps_headings(text):
    """Upper-case headings in `text`, as (index of first word, heading text):
    a word ending in a colon whose text fits CAPS_WORD, extended back over
    the upper-case words before it ("PAST MEDICAL HISTORY:")."""
    words = text.split()
    out = []
    for i, word in enumerate(words):
        head = word.rstrip(":")
        if head == word or not re.fullmatch(CAPS_WORD, head):
            continue
        first = i
        while first > 0 and CAPS_TOKEN.fullmatch(words[first - 1]):
            first -= 1
        out.append((first, " ".join(words[first:i] + [head])))
    return out


def leading_heading(text, listed=is_listed, max_label_words=None):
    """(heading text, listed) if `text` starts with a heading, else (None,
    False). A heading is an upper-case one (the whole upper-case run before
    the colon) or, in any case, a listed one ("Allergies:"), of at most
    `max_label_words` words when that is given."""
    m = LEADING_LABEL.match(text)
    if m and listed(m.group(1).upper()) and (
            max_label_words is None or len(m.group(1).split()) <= max_label_words):
        return m.group(1).upper(), True
    for first, heading in caps_headings(text):
        if first == 0:
            return heading, listed(heading)
        break
    return None, False


def sectioned(note, is_open=is_listed, max_label_words=None):
    """(sentence index, text, section, starts with heading) for the sentences
    of `note` that start with, or belong to, a listed section: they follow
    the heading in the note before the next upper-case heading. `is_open`
    tells which headings open a section."""
    out = []
    current = None
    for sent_no, text in enumerate(sentences(note)):
        heading, listed = leading_heading(text, is_open, max_label_words)
        if heading:
            # Any heading at the start closes the open section; a listed one
            # opens its own.
            current = heading if listed else None
        if current:
            out.append((sent_no, text, current, listed))
        # The last upper-case heading later in the sentence opens (or
        # closes) the section for the sentences after it.
        inner = [h for first, h in caps_headings(text) if first > 0]
        if inner:
            current = inner[-1] if is_open(inner[-1]) else None
    return out


def random_candidates(notes):
    candidates = []
    for note_no, note in enumerate(notes, start=1):
        for sent_no, text in enumerate(sentences(note)):
            assert text in note
            if MIN_WORDS <= len(text.split()) <= MAX_WORDS:
                candidates.append((note_no, sent_no, text))
    return candidates


def random_pick(candidates):
    pairs = [(n, s) for n, s, _ in candidates]
    return sorted(random.Random(SEED).sample(pairs, SAMPLE_SIZE))


def sections_pick(notes, first):
    """Sections stratum: {(note, sentence): (text, section)} of the
    candidates, and the sorted picks."""
    cands = {}
    for note_no, note in enumerate(notes, start=1):
        for sent_no, text, section, at_heading in sectioned(note):
            assert text in note
            words = len(text.split())
            low = SECTIONS_MIN_WORDS_AT_HEADING if at_heading else MIN_WORDS
            if low <= words <= MAX_WORDS and (note_no, sent_no) not in first:
                cands[(note_no, sent_no)] = (text, section)
    pairs = sorted(cands)
    chosen = sorted(random.Random(SECTIONS_SEED).sample(pairs, SECTIONS_SIZE))
    return cands, chosen


def medications_pick(notes, taken):
    """Medications stratum: {(note, sentence): (text, section, dose)} of the
    candidates (sentences of 3 to 60 words not in `taken`), and the sorted
    picks (all of them if there are fewer than MEDICATIONS_SIZE)."""
    cands = {}
    for note_no, note in enumerate(notes, start=1):
        in_section = {s: sec for s, _, sec, _ in sectioned(
            note, is_medication_heading, MEDICATIONS_MAX_LABEL_WORDS)}
        for sent_no, text in enumerate(sentences(note)):
            assert text in note
            if (note_no, sent_no) in taken:
                continue
            if not MEDICATIONS_MIN_WORDS <= len(text.split()) <= MAX_WORDS:
                continue
            dose = DOSE.search(text) is not None
            section = in_section.get(sent_no)
            if dose or section:
                cands[(note_no, sent_no)] = (text, section, dose)
    pairs = sorted(cands)
    size = min(MEDICATIONS_SIZE, len(pairs))
    chosen = sorted(random.Random(MEDICATIONS_SEED).sample(pairs, size))
    return cands, chosen


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notes", nargs="?", default=DEFAULT_NOTES)
    parser.add_argument("--stratum", choices=["random", "sections", "medications"],
                        default="random")
    args = parser.parse_args()
    notes = read_notes(args.notes)
    candidates = random_candidates(notes)
    texts = {(n, s): t for n, s, t in candidates}
    picked = random_pick(candidates)
    if args.stratum == "random":
        for note_no, sent_no in picked:
            row = {"note": note_no, "sentence": sent_no, "text": texts[(note_no, sent_no)]}
            print(json.dumps(row, ensure_ascii=False))
        print(f"{len(candidates)} candidate sentences, {len(picked)} picked", file=sys.stderr)
        return
    first = set(picked)
    cands, chosen = sections_pick(notes, first)
    if args.stratum == "medications":
        taken = first | set(chosen)
        med_cands, med_chosen = medications_pick(notes, taken)
        for note_no, sent_no in med_chosen:
            text, section, dose = med_cands[(note_no, sent_no)]
            row = {"note": note_no, "sentence": sent_no, "section": section,
                   "dose": dose, "text": text}
            print(json.dumps(row, ensure_ascii=False))
        n_dose = sum(1 for _, _, d in med_cands.values() if d)
        n_sec = sum(1 for _, s, _ in med_cands.values() if s)
        print(f"{len(med_cands)} candidate sentences ({n_dose} with a dose, "
              f"{n_sec} in a medication or allergy section; first two strata "
              f"excluded), {len(med_chosen)} picked", file=sys.stderr)
        return
    for note_no, sent_no in chosen:
        text, section = cands[(note_no, sent_no)]
        row = {"note": note_no, "sentence": sent_no, "section": section, "text": text}
        print(json.dumps(row, ensure_ascii=False))
    print(f"{len(cands)} candidate sentences in listed sections "
          f"(first draw excluded), {len(chosen)} picked", file=sys.stderr)


if __name__ == "__main__":
    main()
