"""Command line: ``python -m siamese_demo compare|embed|search|evaluate|train|models ...``, printing JSON
(``search`` prints a ranked table, or JSON with ``--json``)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .distances import format_distance


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


def _search_table(result) -> str:
    """The ranked table and the match (or "no match") as plain text."""
    def short(s: str, n: int = 48) -> str:
        s = " ".join(s.split())
        return s if len(s) <= n else s[: n - 3] + "..."

    rows = [("rank", "candidate", "distance", "score", "decision")]
    rows += [(str(h.rank), short(h.name), format_distance(h.distance, 4), f"{h.score:.4f}", h.decision)
             for h in result.hits]
    widths = [max(len(r[k]) for r in rows) for k in range(5)]
    align = (str.rjust, str.ljust, str.rjust, str.rjust, str.ljust)
    lines = ["  ".join(f(c, w) for f, c, w in zip(align, r, widths)).rstrip() for r in rows]
    lines.append(f"threshold: {format_distance(result.threshold, 4)} ({result.distance_kind} distance; same when "
                 "distance <= threshold)")
    m = result.match
    lines.append(f"match: {short(m.name)} (candidate {m.index + 1}, distance {format_distance(m.distance, 4)})"
                 if m else "no match")
    return "\n".join(lines)


def _setting_flags(p: argparse.ArgumentParser) -> None:
    """One flag per fine-tuning setting (siamese_demo.settings: the same names, choices and defaults
    as the fine-tune tab); a flag left out takes the setting's default."""
    from .settings import SETTINGS

    aliases = {"split_mode": ["--split"], "time_budget_s": ["--time-budget"]}  # the flags' earlier names
    for st in SETTINGS:
        default = st.form_default()
        shown = "chosen from the data and the base" if st.auto else repr(default)
        kw: dict[str, Any] = {"dest": st.name, "default": None, "help": f"{st.label} (default: {shown})"}
        if st.kind is bool:
            kw["action"] = argparse.BooleanOptionalAction
        else:
            kw["type"] = st.kind
            if st.choices:
                kw["choices"] = list(st.choices)
        p.add_argument(st.flag, *aliases.get(st.name, []), **kw)


def _train(model, args) -> dict:
    """Fine-tune with a tqdm bar (the engine itself never prints). Under ``torchrun`` every process
    trains its share of each batch; only rank 0 shows progress and writes the output."""
    from tqdm import tqdm

    from . import settings
    from .distributed import is_main_process, world_size
    from .finetune import finetune, write
    from .workflows import read_dataset

    data = read_dataset(model.modality, args.data)
    values = {n: (getattr(args, n) if getattr(args, n) is not None else d) for n, d in settings.defaults().items()}
    cfg = settings.train_config(model, data, settings.check(values))
    if args.device:
        cfg.device = args.device
    bar = tqdm(total=cfg.epochs, desc="epochs", file=sys.stderr, disable=not is_main_process())

    def progress(event) -> None:
        if event.kind == "epoch" and event.epoch > 0:  # a validation (several per epoch on small data)
            bar.n = int(event.data["epoch"])
            bar.set_postfix(val_loss=f"{event.data['val_loss']:.4f}", val_auc=f"{event.data['val_auc']:.3f}")

    if args.distance is not None and args.distance != model.distance:  # as in the tab: a base keeps its own
        print(f"note: --distance is for models built from scratch; the base {args.base} keeps its own "
              f"({model.distance})", file=sys.stderr)
    try:
        result = finetune(model, data, cfg, [progress], split_mode=values["split_mode"], base_name=args.base,
                          data_source=f"'{Path(args.data).name}'",
                          refit_after=bool(values["refit"]))
    finally:
        bar.close()
    report = result.report
    if is_main_process():
        write(result.model, report, args.out)
    keys = ("auc", "eer", "accuracy", "threshold", "spearman")
    return {"out": args.out, "outcome": report["outcome"]["text"], "kept_base": report["outcome"]["kept_base"],
            "improved": report["outcome"]["improved"], "split": report["split"], "stopped": report["stopped"],
            "best_epoch": report["best_epoch"], "train_time_s": report["train_time_s"],
            "world_size": world_size(),
            "base": {k: report["base"][k] for k in keys if k in report["base"]},
            "finetuned": {k: report["finetuned"][k] for k in keys if k in report["finetuned"]}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m siamese_demo", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("compare", help="compare two items, or one item with the mean of several references")
    p.add_argument("--model", required=True, help="shipped model name, checkpoint folder, or hub:ID")
    p.add_argument("a", help="the first item; with --references, the questioned one")
    p.add_argument("b", nargs="?", help="the second item (not with --references)")
    p.add_argument("--references", nargs="+", metavar="REF",
                   help="compare A with the mean of these references of one subject (a writer's genuine signatures)")
    p.add_argument("--threshold", type=float, default=None, help="override the saved threshold (distance)")
    p = sub.add_parser("embed", help="embed items")
    p.add_argument("--model", required=True)
    p.add_argument("items", nargs="+")
    p = sub.add_parser("search", help="rank candidates against a query (one against many)")
    p.add_argument("--model", required=True)
    p.add_argument("query")
    p.add_argument("candidates", nargs="+", metavar="candidate")
    p.add_argument("--threshold", type=float, default=None, help="override the saved threshold (distance)")
    p.add_argument("--json", action="store_true", help="print the result as JSON instead of a table")
    p = sub.add_parser("evaluate", help="evaluate on a labelled dataset")
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True, help="image zip/folder, text CSV, or series CSV/TSV/.ts")
    p.add_argument("--pairs", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p = sub.add_parser("train", help="fine-tune a model on a dataset; writes a checkpoint and report.json")
    p.add_argument("--data", required=True, help="image zip/folder, text CSV, or series CSV/TSV/.ts")
    p.add_argument("--base", required=True, help="model to start from (shipped name or checkpoint folder)")
    p.add_argument("--out", required=True)
    _setting_flags(p)
    p.add_argument("--device", help="cpu, cuda, or auto (default: cuda when present)")
    sub.add_parser("models", help="list the shipped models")
    args = parser.parse_args(argv)

    import siamese_demo as sd

    try:
        if args.command == "models":
            out: Any = sd.available_models()
        else:
            model = sd.load(args.base if args.command == "train" else args.model)
            if args.command == "compare" and args.references:
                if args.b is not None:
                    parser.error("give one item to compare with --references, not two")
                from .search import check_candidates

                check_candidates(args.references, "references")  # refuse too many before reading any file
                out = {**model.compare_to_references([_item(model, r) for r in args.references],
                                                     _item(model, args.a), args.threshold).to_dict(),
                       "references": len(args.references)}
            elif args.command == "compare":
                if args.b is None:
                    parser.error("compare needs two items (or one and --references)")
                out = model.compare(_item(model, args.a), _item(model, args.b), args.threshold).to_dict()
            elif args.command == "embed":
                emb = model.embed([_item(model, a) for a in args.items])
                out = {"shape": list(emb.shape), "embeddings": emb.round(6).tolist()}
            elif args.command == "search":
                from .search import check_candidates, search_candidates

                check_candidates(args.candidates)  # refuse too many before reading any file
                result = search_candidates(model, _item(model, args.query), [_item(model, c) for c in args.candidates],
                                           args.candidates, args.threshold)
                out = result.to_dict() if args.json else _search_table(result)
            elif args.command == "train":
                out = _train(model, args)
            else:
                from .workflows import evaluate_model, read_dataset

                out = evaluate_model(model, read_dataset(model.modality, args.data), args.pairs, args.seed)
    except (ValueError, FileNotFoundError) as exc:  # DataError and CheckpointError are ValueErrors
        print(json.dumps({"error": str(exc)}), file=sys.stderr)
        return 2
    from .distributed import cleanup, is_main_process

    if is_main_process():
        print(out if isinstance(out, str) else json.dumps(out, indent=2))
    cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
