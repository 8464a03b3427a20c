"""Command line: ``python -m siamese_demo compare|embed|evaluate|models ...``, printing JSON."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def _item(model, arg: str) -> Any:
    """A CLI argument as an item of the model's modality: an image path, a string, or a series
    (a file path or literal numbers)."""
    if model.modality == "timeseries":
        from .data import parse_series_text

        p = Path(arg)
        return parse_series_text(p.read_text() if p.is_file() else arg, name=p.name if p.is_file() else "series")
    if model.modality == "text":
        p = Path(arg)
        return p.read_text() if arg.endswith(".txt") and p.is_file() else arg
    return arg


def _train(model, args) -> dict:
    """Fine-tune with a tqdm bar (the engine itself never prints)."""
    from tqdm import tqdm

    from .finetune import finetune
    from .train import TrainConfig
    from .workflows import read_dataset

    if args.loss == "bce" and model.head is None:
        raise ValueError("the base model has no pair head; use --loss contrastive or triplet")
    cfg = TrainConfig(loss=args.loss, epochs=args.epochs, lr=args.lr, batch_size=args.batch_size,
                      time_budget_s=args.time_budget, seed=args.seed)
    bar = tqdm(total=args.epochs, desc="epochs", file=sys.stderr)

    def progress(event) -> None:
        if event.kind == "epoch" and event.epoch > 0:
            bar.update(1)
            bar.set_postfix(val_loss=f"{event.data['val_loss']:.4f}", val_auc=f"{event.data['val_auc']:.3f}")

    try:
        _, report = finetune(model, read_dataset(model.modality, args.data), cfg, [progress], out=args.out)
    finally:
        bar.close()
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m siamese_demo", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("compare", help="compare two items")
    p.add_argument("--model", required=True, help="shipped model name, checkpoint folder, or hub:ID")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--threshold", type=float, default=None, help="override the saved threshold (distance)")
    p = sub.add_parser("embed", help="embed items")
    p.add_argument("--model", required=True)
    p.add_argument("items", nargs="+")
    p = sub.add_parser("evaluate", help="evaluate on a labelled dataset")
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True, help="image zip/folder, text CSV, or series CSV/TSV/.ts")
    p.add_argument("--pairs", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p = sub.add_parser("train", help="fine-tune a model on a dataset; writes a checkpoint and report.json")
    p.add_argument("--data", required=True, help="image zip/folder, text CSV, or series CSV/TSV/.ts")
    p.add_argument("--base", required=True, help="model to start from (shipped name or checkpoint folder)")
    p.add_argument("--out", required=True)
    p.add_argument("--loss", choices=["contrastive", "triplet", "bce"], default="contrastive")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--time-budget", type=float, default=120.0, help="seconds")
    p.add_argument("--seed", type=int, default=0)
    sub.add_parser("models", help="list the shipped models")
    args = parser.parse_args(argv)

    import siamese_demo as sd

    try:
        if args.command == "models":
            out: Any = sd.available_models()
        else:
            model = sd.load(args.base if args.command == "train" else args.model)
            if args.command == "compare":
                out = model.compare(_item(model, args.a), _item(model, args.b), args.threshold).to_dict()
            elif args.command == "embed":
                emb = model.embed([_item(model, a) for a in args.items])
                out = {"shape": list(emb.shape), "embeddings": emb.round(6).tolist()}
            elif args.command == "train":
                out = _train(model, args)
            else:
                from .workflows import evaluate_model, read_dataset

                out = evaluate_model(model, read_dataset(model.modality, args.data), args.pairs, args.seed)
    except (ValueError, FileNotFoundError) as exc:  # DataError and CheckpointError are ValueErrors
        print(json.dumps({"error": str(exc)}), file=sys.stderr)
        return 2
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
