#!/usr/bin/env python3
"""Writes ner/tests/fixtures/seqeval.json: tag sequences scored by the real `seqeval` (default mode),
which the Rust metric must reproduce to 4 decimals. Run: pip install seqeval && scripts/seqeval-fixtures.py"""
import json
import random
from pathlib import Path

from seqeval.metrics import classification_report, f1_score, precision_score, recall_score

NAMED = {
    "inside_without_begin": ([["O", "B-Disease", "I-Disease", "O"]], [["O", "I-Disease", "I-Disease", "O"]]),
    "adjacent_same_type": ([["B-Chemical", "B-Chemical", "I-Chemical"]], [["B-Chemical", "I-Chemical", "I-Chemical"]]),
    "entity_at_sentence_end": ([["O", "B-Disease", "I-Disease"], ["B-Chemical"]], [["O", "B-Disease", "I-Disease"], ["O"]]),
    "empty_sentences": ([[], ["B-Chemical", "O"], []], [[], ["B-Chemical", "O"], []]),
    "type_switch_inside": ([["B-Chemical", "I-Chemical", "O"]], [["B-Chemical", "I-Disease", "O"]]),
    "no_predictions": ([["B-Disease", "O"]], [["O", "O"]]),
    "only_false_positives": ([["O", "O"]], [["B-Chemical", "O"]]),
}


def score(gold, pred):
    report = classification_report(gold, pred, output_dict=True, zero_division=0)
    per_type = {
        k: {"precision": v["precision"], "recall": v["recall"], "f1": v["f1-score"], "support": int(v["support"])}
        for k, v in report.items()
        if k not in ("micro avg", "macro avg", "weighted avg")
    }
    overall = {
        "precision": precision_score(gold, pred, zero_division=0),
        "recall": recall_score(gold, pred, zero_division=0),
        "f1": f1_score(gold, pred, zero_division=0),
    }
    return {"overall": overall, "per_type": per_type}


def random_case(rng):
    tags = ["O", "O", "O", "B-Chemical", "I-Chemical", "B-Disease", "I-Disease"]
    sentences = [[rng.choice(tags) for _ in range(rng.randint(0, 12))] for _ in range(rng.randint(1, 6))]
    pred = [[t if rng.random() < 0.7 else rng.choice(tags) for t in s] for s in sentences]
    return sentences, pred


def main():
    rng = random.Random(7)
    cases = [{"name": n, "gold": g, "pred": p} for n, (g, p) in NAMED.items()]
    cases += [{"name": f"random_{i}", "gold": g, "pred": p} for i, (g, p) in enumerate(random_case(rng) for _ in range(60))]
    for case in cases:
        case["expected"] = score(case["gold"], case["pred"])
    out = Path(__file__).resolve().parent.parent / "ner/tests/fixtures/seqeval.json"
    out.write_text(json.dumps(cases, indent=1) + "\n")
    print(f"wrote {len(cases)} cases to {out}")


if __name__ == "__main__":
    main()
