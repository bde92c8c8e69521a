#!/usr/bin/env python3
"""The reference recipe: Hugging Face Trainer fine-tuning `BertForTokenClassification` on IOB2 data,
with the settings Medlight's trainer uses (scripts/bench.sh gpu passes the same ones to both).

Labels sit on each word's first sub-token (others ignored), batches are padded dynamically and grouped
by length, AdamW with decoupled weight decay, linear warmup and decay, global-norm clipping. Devel F1 is
entity-level (exact type and span, seqeval's default reading of IOB2) on the first sub-token's argmax,
after every epoch. Epoch times exclude the devel evaluation (CUDA synchronised at both ends).

Writes <out>/results.json and prints one line per epoch.
"""
import argparse
import json
import os
import time
from pathlib import Path


def read_iob2(path):
    sentences, words, tags = [], [], []
    for number, line in enumerate(open(path, encoding="utf-8"), 1):
        line = line.rstrip("\n")
        if not line.strip():
            if words:
                sentences.append((words, tags))
            words, tags = [], []
            continue
        parts = line.split("\t")
        if len(parts) != 2:
            raise SystemExit(f"{path}:{number}: expected `token<TAB>tag`, got {line!r}")
        words.append(parts[0])
        tags.append(parts[1])
    if words:
        sentences.append((words, tags))
    return sentences


def spans(tags):
    """(type, start, end) chunks as seqeval's default mode reads IOB2: an I- after O or another type
    opens a chunk."""
    out, kind, start = set(), None, 0
    for i, tag in enumerate(list(tags) + ["O"]):
        prefix, _, t = tag.partition("-")
        ends = prefix in ("O", "B") or (prefix == "I" and t != kind)
        if kind is not None and ends:
            out.add((kind, start, i))
            kind = None
        if prefix == "B" or (prefix == "I" and kind is None):
            kind, start = t, i
    return out


def score(gold_sentences, predicted_sentences):
    counts = {"overall": [0, 0, 0]}  # true positives, predicted, gold
    for gold, pred in zip(gold_sentences, predicted_sentences):
        g, p = spans(gold), spans(pred)
        for s in g | p:
            for kind in (s[0], "overall"):
                c = counts.setdefault(kind, [0, 0, 0])
                c[0] += s in g and s in p
                c[1] += s in p
                c[2] += s in g
    report = {}
    for kind, (tp, npred, ngold) in counts.items():
        precision = tp / npred if npred else 0.0
        recall = tp / ngold if ngold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        report[kind] = {"precision": precision, "recall": recall, "f1": f1, "support": ngold}
    return report


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True, help="BERT directory: config.json, model.safetensors, tokenizer.json")
    ap.add_argument("--data", required=True, help="directory with train.tsv and devel.tsv")
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--warmup", type=float, default=0.1)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--max-length", type=int, default=512)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--precision", choices=["f32", "bf16"], default="f32")
    ap.add_argument("--train-word-embeddings", action="store_true", help="default: frozen, as Medlight's trainer")
    ap.add_argument("--max-steps", type=int, default=-1, help="stop early (smoke tests)")
    args = ap.parse_args()

    started = time.perf_counter()
    import torch
    from transformers import (AutoModelForTokenClassification, DataCollatorForTokenClassification,
                              PreTrainedTokenizerFast, Trainer, TrainerCallback, TrainingArguments, set_seed)

    set_seed(args.seed)
    train = read_iob2(Path(args.data) / "train.tsv")
    devel = read_iob2(Path(args.data) / "devel.tsv")
    types = sorted({t.split("-", 1)[1] for _, tags in train for t in tags if t != "O"})
    labels = ["O"] + [f"{p}-{t}" for t in types for p in "BI"]
    label_id = {l: i for i, l in enumerate(labels)}

    tokenizer = PreTrainedTokenizerFast(tokenizer_file=str(Path(args.base) / "tokenizer.json"),
                                        unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                        sep_token="[SEP]", mask_token="[MASK]")
    tokenizer.backend_tokenizer.no_truncation()
    tokenizer.backend_tokenizer.no_padding()

    def encode(sentences):
        rows = []
        for words, tags in sentences:
            enc = tokenizer(words, is_split_into_words=True, truncation=True, max_length=args.max_length)
            word_ids = enc.word_ids()
            row_labels, previous = [], None
            for w in word_ids:
                row_labels.append(-100 if w is None or w == previous else label_id[tags[w]])
                previous = w
            rows.append({"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"],
                         "labels": row_labels})
        return rows

    train_rows, devel_rows = encode(train), encode(devel)
    train_tokens = sum(len(r["input_ids"]) for r in train_rows)

    class Rows(torch.utils.data.Dataset):
        def __init__(self, rows):
            self.rows = rows

        def __len__(self):
            return len(self.rows)

        def __getitem__(self, i):
            return self.rows[i]

    model = AutoModelForTokenClassification.from_pretrained(
        args.base, num_labels=len(labels), id2label=dict(enumerate(labels)), label2id=label_id,
        dtype=torch.float32)
    if not args.train_word_embeddings:
        model.bert.embeddings.word_embeddings.weight.requires_grad_(False)

    epoch_seconds = []

    class EpochTimer(TrainerCallback):
        def on_epoch_begin(self, *_, **__):
            torch.cuda.synchronize() if torch.cuda.is_available() else None
            self.t = time.perf_counter()

        def on_epoch_end(self, *_, **__):
            torch.cuda.synchronize() if torch.cuda.is_available() else None
            epoch_seconds.append(time.perf_counter() - self.t)

    history = []

    def compute_metrics(prediction):
        # Word-level tags at labelled positions (each word's first sub-token). Read from label_ids, not
        # from the devel order: the Trainer may reorder evaluation batches by length.
        gold, predicted = [], []
        for row_pred, row_gold in zip(prediction.predictions.argmax(-1), prediction.label_ids):
            keep = row_gold != -100
            gold.append([labels[i] for i in row_gold[keep]])
            predicted.append([labels[i] for i in row_pred[keep]])
        report = score(gold, predicted)
        history.append({"devel": report})
        return {"f1": report["overall"]["f1"]}

    training_args = TrainingArguments(
        output_dir=args.out, num_train_epochs=args.epochs, max_steps=args.max_steps,
        per_device_train_batch_size=args.batch_size, per_device_eval_batch_size=64,
        learning_rate=args.lr, warmup_steps=args.warmup, weight_decay=args.weight_decay,
        max_grad_norm=args.clip, lr_scheduler_type="linear", seed=args.seed,
        bf16=args.precision == "bf16", train_sampling_strategy="group_by_length", eval_strategy="epoch", save_strategy="no",
        logging_strategy="no", report_to=[], disable_tqdm=True, dataloader_num_workers=0,
        eval_accumulation_steps=None)
    trainer = Trainer(model=model, args=training_args, train_dataset=Rows(train_rows),
                      eval_dataset=Rows(devel_rows), data_collator=DataCollatorForTokenClassification(tokenizer),
                      compute_metrics=compute_metrics, callbacks=[EpochTimer()])
    # Padded logits of different lengths are concatenated with -100 padding by the Trainer.
    train_started = time.perf_counter()
    trainer.train()
    train_wall = time.perf_counter() - train_started

    for i, record in enumerate(history):
        record["epoch"] = i + 1
        record["train_seconds"] = epoch_seconds[i] if i < len(epoch_seconds) else None
        record["tokens_per_second"] = train_tokens / epoch_seconds[i] if i < len(epoch_seconds) else None
        d = record["devel"]
        print(f"epoch {i + 1}: devel F1 {100 * d['overall']['f1']:.2f} "
              + ", ".join(f"{k} {100 * v['f1']:.2f}" for k, v in sorted(d.items()) if k != "overall")
              + f", {record['train_seconds']:.1f} s training, {record['tokens_per_second']:.0f} tok/s", flush=True)
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    result = {"system": "huggingface-trainer", "precision": args.precision, "device": device,
              "torch": torch.__version__, "transformers": __import__("transformers").__version__,
              "settings": vars(args), "train_tokens_per_epoch": train_tokens, "history": history,
              "train_wall_seconds": train_wall, "wall_seconds": time.perf_counter() - started}
    os.makedirs(args.out, exist_ok=True)
    Path(args.out, "results.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
