"""About the models: what each offered model is for, what it was trained on, how it did on held-out
data, and the visitor's own fine-tuned models. Developer commands stay in the repository's README."""
from __future__ import annotations

import re

import gradio as gr

from siamese_demo import catalogue
from siamese_demo.distances import format_distance
from siamese_demo.limits import duration_words, limits

from . import common

KEEP = ("Training data", "Evaluation on held-out data", "Decision threshold", "Limitations", "Intended use")
_DEV = re.compile(r"python |\.venv|scripts/|reruns/|run_record|--[a-z]")


def models_markdown() -> str:
    """One line per shipped model: modality, encoder, size, threshold, validation AUC (short columns)."""
    rows = ["| model | data | encoder | parameters | threshold | validation AUC |", "|---|---|---|---|---|---|"]
    for name, cfg in catalogue.shipped_configs().items():
        vm = cfg.get("info", {}).get("validation_metrics", {})
        thr = format_distance(cfg["threshold"]) if cfg.get("threshold") is not None else "default"
        auc = f"{vm['auc']:.3f}" if "auc" in vm else "-"
        rows.append(f"| `{name}` | {cfg['modality']} | {cfg['encoder']['name']} | {cfg['num_parameters']:,} | "
                    f"{thr} | {auc} |")
    return "\n".join(rows)


def visitor_card(text: str) -> str:
    """The parts of a model card a visitor needs: its first sentence and the sections in ``KEEP``,
    without code blocks or developer commands."""
    body = text.split("---", 2)[-1]
    body = re.sub(r"```.*?```", "", body, flags=re.S)
    parts = re.split(r"^## ", body, flags=re.M)
    intro = [ln for ln in parts[0].splitlines() if ln.strip() and not ln.startswith("#")][:1]
    out = intro
    for part in parts[1:]:
        head, _, rest = part.partition("\n")
        if head.strip() in KEEP:
            lines = [ln for ln in rest.splitlines() if not _DEV.search(ln)]
            out += [f"#### {head.strip()}", *lines]
    return "\n".join(out).strip()


def own_models_markdown(models: dict) -> str:
    if not models:
        return ("**Your models:** none yet. Models you fine-tune on the *Fine-tune* tab appear here and in "
                "their comparison tab, for you only.")
    idle = duration_words(limits().visitor_ttl_s)
    lines = [f"**Your models** (yours alone; deleted when you leave or after {idle} idle):", ""]
    for name, m in models.items():
        rep = m.info.get("finetune_report", {}).get("test", {}).get("finetuned", {})
        auc = f", test AUC {rep['auc']:.3f}" if "auc" in rep else ""
        lines.append(f"- `{name}`: {m.modality}, {type(m.encoder).__name__.replace('Encoder', '')} encoder, "
                     f"threshold {format_distance(m.effective_threshold())}{auc}")
    return "\n".join(lines)


def build(store=None):
    gr.Markdown("Every shipped model was trained or verified in this project; each card says on what data "
                "and how it did on data it never saw. Full cards and training commands: the repository README.")
    gr.Markdown(models_markdown())
    own = gr.Markdown(own_models_markdown({}))
    for name in catalogue.shipped_configs():
        with gr.Accordion(f"Model card: {name}", open=False):
            gr.Markdown(visitor_card((common.sd.MODELS_DIR / name / "README.md").read_text()))

    def refresh(request: gr.Request):
        return own_models_markdown(store.models(common.owner(request)) if store is not None else {})

    return own, refresh
