"""Keep the record of a recipe rerun beside the shipped model it repeats.

A recipe rerun writes a full model folder (weights included) to a scratch path. What is worth keeping
is small: the command, the training record, the held-out metrics and, for the text recipes, the stage-1
log. This copies those into `models/<name>/reruns/<date>.json` together with the shipped model's
metrics, so a reader can compare the two without retraining:

    python scripts/keep_rerun.py /tmp/rerun/text-transformer models/text-transformer \
        --command "python -m siamese_demo.recipes.stsb_text ... --out /tmp/rerun/text-transformer" \
        --machine "2-core CPU, idle"
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path


def summary(model_dir: Path, training: bool = True) -> dict:
    """The parts of a model folder that say how it measured and, with ``training``, how it was trained."""
    config = json.loads((model_dir / "config.json").read_text())
    info = config.get("info", {})
    out = {"test_metrics": info.get("test_metrics"),
           "validation_metrics": info.get("validation_metrics"),
           "threshold": config.get("threshold")}
    if training and "pretraining" in info:
        out["pretraining"] = info["pretraining"]
    record = model_dir / "run_record.json"
    if training and record.exists():
        out["run_record"] = json.loads(record.read_text())
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("rerun", type=Path, help="the folder the rerun wrote (its --out)")
    p.add_argument("shipped", type=Path, help="the shipped model folder, e.g. models/text-transformer")
    p.add_argument("--command", required=True, help="the exact command of the rerun")
    p.add_argument("--machine", required=True, help="where it ran, in words")
    p.add_argument("--date", default=dt.date.today().isoformat())
    args = p.parse_args(argv)
    # the shipped model's training record is in its own folder already
    doc = {"date": args.date, "machine": args.machine, "command": args.command,
           "rerun": summary(args.rerun), "shipped": summary(args.shipped, training=False)}
    out = args.shipped / "reruns" / f"{args.date}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(doc, indent=1) + "\n")
    print(out)


if __name__ == "__main__":
    main()
