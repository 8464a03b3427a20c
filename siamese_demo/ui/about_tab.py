"""About the models: every shipped model with architecture, size, training data and metrics."""
from __future__ import annotations

import gradio as gr

from . import common


def models_table() -> list[list]:
    rows = []
    for name, cfg in common.model_configs().items():
        info = cfg.get("info", {})
        vm = info.get("validation_metrics", {})
        card = info.get("card", {})
        rows.append([name, cfg["modality"], cfg["encoder"]["name"], f"{cfg['num_parameters']:,}", cfg["distance"],
                     round(cfg["threshold"], 4) if cfg.get("threshold") is not None else None,
                     round(vm.get("auc", float("nan")), 4) if vm else None,
                     card.get("training_data", "")[:200]])
    return rows


def build() -> None:
    gr.Markdown("Every model below was trained in this project; its card (`models/<name>/README.md`) "
                "has the full training record and the held-out metrics against baselines.")
    gr.Dataframe(models_table(), headers=["model", "modality", "encoder", "parameters", "distance",
                                          "threshold", "validation AUC", "training data"],
                 interactive=False, wrap=True)
    for name in common.model_configs():
        with gr.Accordion(f"Model card: {name}", open=False):
            gr.Markdown((common.sd.MODELS_DIR / name / "README.md").read_text().split("---", 2)[-1])
