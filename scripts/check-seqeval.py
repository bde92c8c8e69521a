#!/usr/bin/env python3
"""Checks that `trainer eval` scores exactly as seqeval does on the same predictions.

    cargo run -p trainer --release -- eval --model DIR --data DEVEL.tsv --json --write-predictions /tmp/pred.tsv > /tmp/ours.json
    scripts/check-seqeval.py /tmp/pred.tsv /tmp/ours.json
"""
import json
import sys

from seqeval.metrics import classification_report, f1_score, precision_score, recall_score


def read(path):
    gold, pred, g, p = [], [], [], []
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if not line:
            if g:
                gold.append(g), pred.append(p)
            g, p = [], []
            continue
        _, gt, pt = line.split("\t")
        g.append(gt), p.append(pt)
    if g:
        gold.append(g), pred.append(p)
    return gold, pred


def main():
    gold, pred = read(sys.argv[1])
    ours = json.load(open(sys.argv[2]))
    theirs = {"precision": precision_score(gold, pred), "recall": recall_score(gold, pred), "f1": f1_score(gold, pred)}
    report = classification_report(gold, pred, output_dict=True)
    worst = 0.0
    for key in ("precision", "recall", "f1"):
        worst = max(worst, abs(ours["overall"][key] - theirs[key]))
        print(f"overall {key}: ours {ours['overall'][key]:.6f} seqeval {theirs[key]:.6f}")
    for kind, scores in ours["per_type"].items():
        print(f"{kind} f1: ours {scores['f1']:.6f} seqeval {report[kind]['f1-score']:.6f}")
        worst = max(worst, abs(scores["f1"] - report[kind]["f1-score"]))
    print(f"largest difference: {worst:.2e}")
    sys.exit(0 if worst < 5e-5 else 1)


if __name__ == "__main__":
    main()
