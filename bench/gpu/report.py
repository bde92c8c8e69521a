#!/usr/bin/env python3
"""Prints the GPU bench's table from the runs under one folder (scripts/bench.sh gpu writes them):
ours-<precision>/metrics.json (Medlight's trainer) and hf-<precision>/results.json (Hugging Face
Trainer), each beside a wall.txt holding the run's wall-clock seconds.

    bench/gpu/report.py bench/results/gpu [--shipped public/models/metrics.json]
"""
import argparse
import json
import statistics
from pathlib import Path


def ours(path):
    m = json.loads((path / "metrics.json").read_text())
    # One run per seed ("runs"); files written before soups existed hold one run's "history".
    history = m["runs"][0]["history"] if "runs" in m else m["history"]
    return {
        "epoch_seconds": [h.get("train_seconds") or h["seconds"] for h in history],
        "f1": [h["devel"]["overall"]["f1"] for h in history],
        "per_type": [{k: v["f1"] for k, v in h["devel"]["per_type"].items()} for h in history],
        "tokens_per_second": statistics.median(h["tokens_per_second"] for h in history),
        "device": m["device"],
        "quantized_f1": m["devel_quantized"]["overall"]["f1"],
    }


def reference(path):
    r = json.loads((path / "results.json").read_text())
    history = r["history"]
    return {
        "epoch_seconds": [h["train_seconds"] for h in history],
        "f1": [h["devel"]["overall"]["f1"] for h in history],
        "per_type": [{k: v["f1"] for k, v in h["devel"].items() if k != "overall"} for h in history],
        "tokens_per_second": statistics.median(h["tokens_per_second"] for h in history),
        "device": r["device"],
        "quantized_f1": None,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("runs", type=Path)
    ap.add_argument("--shipped", type=Path, default=Path("public/models/metrics.json"))
    args = ap.parse_args()

    rows = []
    for run in sorted(args.runs.iterdir()):
        system, _, precision = run.name.partition("-")
        if system not in ("ours", "hf"):
            continue
        try:
            r = ours(run) if system == "ours" else reference(run)
        except (FileNotFoundError, KeyError, json.JSONDecodeError) as e:
            print(f"{run}: no result ({e})")
            continue
        wall = run / "wall.txt"
        r["wall"] = float(wall.read_text()) if wall.exists() else float("nan")
        r["system"], r["precision"] = ("Medlight trainer (candle)" if system == "ours" else "HF Trainer (PyTorch)"), precision
        r["key"] = (system, precision)
        rows.append(r)
    if not rows:
        raise SystemExit(f"no runs under {args.runs}")
    print(f"device: {rows[0]['device']}")
    print(f"| system | precision | median epoch (training) | all epochs (training) | wall, whole run | tokens/s | best devel F1 (epoch) | Chemical | Disease |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        best = max(range(len(r["f1"])), key=lambda i: r["f1"][i])
        types = r["per_type"][best]
        print(f"| {r['system']} | {r['precision']} | {statistics.median(r['epoch_seconds']):.2f} s | "
              f"{sum(r['epoch_seconds']):.1f} s | {r['wall']:.1f} s | {r['tokens_per_second']:,.0f} | "
              f"{100 * r['f1'][best]:.2f} ({best + 1}) | {100 * types.get('Chemical', 0):.2f} | "
              f"{100 * types.get('Disease', 0):.2f} |")
    by_key = {r["key"]: r for r in rows}
    for precision in sorted({r["precision"] for r in rows}):
        a, b = by_key.get(("ours", precision)), by_key.get(("hf", precision))
        if a and b:
            ratio = statistics.median(a["epoch_seconds"]) / statistics.median(b["epoch_seconds"])
            print(f"{precision}: our median epoch / PyTorch's = {ratio:.2f}x (target <= 1.5x); "
                  f"best devel F1 {100 * max(a['f1']):.2f} vs {100 * max(b['f1']):.2f}")
    if args.shipped.exists():
        shipped = json.loads(args.shipped.read_text())
        # `trainer retune` leaves devel_f32 null where the f32 weights were not there to re-score.
        scored = shipped["devel_f32"] or shipped["devel_quantized"]
        target = scored["overall"]["f1"]
        print(f"shipped model (trained on {shipped['device']}): best devel F1 {100 * target:.2f} "
              f"({'f32' if shipped['devel_f32'] else 'quantised: no f32 score'}), "
              f"{100 * shipped['devel_quantized']['overall']['f1']:.2f} quantised")
        for r in rows:
            if r["key"][0] != "ours":
                continue
            elapsed = 0.0
            for epoch, (seconds, f1) in enumerate(zip(r["epoch_seconds"], r["f1"]), 1):
                elapsed += seconds
                if f1 >= target - 1e-12:
                    print(f"{r['precision']}: reached the shipped F1 after epoch {epoch}, {elapsed:.1f} s of training")
                    break
            else:
                print(f"{r['precision']}: did not reach the shipped F1 (best {100 * max(r['f1']):.2f}, "
                      f"{100 * (max(r['f1']) - target):+.2f} points)")
            if r["quantized_f1"] is not None:
                print(f"{r['precision']}: quantised model devel F1 {100 * r['quantized_f1']:.2f}")


if __name__ == "__main__":
    main()
