"""Fine-tune tab: load a sample or upload a dataset, check it, set up a run, watch it learn,
read the base-vs-fine-tuned report, then use the model in the comparison tabs or download it.

The engine runs in the app's single training worker (``siamese_demo.jobs.JobRunner``), never in
a click handler: "Start" queues a job and returns; "watch" streams its progress; "Cancel" sets the
job's cancel flag. Jobs, models and files are keyed by the visitor's session and visible to no one
else; they are deleted when the visitor leaves or after ``limits().visitor_ttl_s`` idle.
"""
from __future__ import annotations

import re
import shutil
import time
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

from siamese_demo import catalogue, plots, settings
from siamese_demo.domain import base_fit_warning
from siamese_demo.errors import DataError
from siamese_demo.finetune import (SPLIT_MODES, TEST_FRACTION, VAL_FRACTION, auto_settings, finetune, prepare,
                                   report_markdown, suggest_margin, write)
from siamese_demo.inspect_data import all_items, image_input_plan, preview_pairs
from siamese_demo.jobs import CANCELLED, DONE, QUEUED, RUNNING
from siamese_demo.limits import check_choice, check_number, duration_words, limits, setting_range
from siamese_demo.pairs import Samples
from siamese_demo.workflows import SAMPLE_DATASETS, SCRATCH, read_dataset, sample_path, scratch_model

from . import common
from .components import CheckedNumber, CheckedRadio, setting_slider

MODALITIES = {"Image pairs": "image", "Text pairs": "text", "Time-series pairs": "timeseries"}
SCRATCH_PREFIX = "from scratch: "
YOURS = common.YOURS
INTRO = """## Fine-tune on your own data

1. **Data**: pick a sample dataset or upload yours: an image **zip** with one folder per class (or no folders:
   unlabelled), a text **CSV** with `text_a,text_b,label` (pairs; label 0/1 or a 0-5 score) or `text,label`,
   or a series **CSV/TSV/.ts** in the UCR layout (class label, then the values). Press **Check the data**.
2. **Settings**: a first run needs only the base, the loss (*auto* picks it from the data: triplet for class
   labels, contrastive for pairs) and the time budget; the rest is under **Advanced settings**, and the
   defaults work. The threshold is chosen on the validation split; all numbers in the report are on the
   test split, which training never sees, and the report says plainly whether the run beat its base.
3. **Start**, watch the curves, **Cancel** at any time (the best model so far is kept). One run trains at a
   time on this server; others wait in line and see their place. Your data, runs and models are yours alone
   and are deleted when you leave (or after {idle} idle).
"""


def _modality(label: Any) -> str:
    return MODALITIES[check_choice(label, "data type", MODALITIES)]


def base_choices(modality: str) -> list[str]:
    return common.choices(modality) + [SCRATCH_PREFIX + e for m, e in SCRATCH if m == modality]


_owner = common.owner


LOSS_CHOICES = settings.BY_NAME["loss"].choices  # auto: resolved from the data and the base


def _read(modality: str, use_sample: bool, upload: str | None):
    """The visitor's upload when there is one (it wins over the sample box), else the sample."""
    cap = limits()
    if upload:
        path = Path(upload)
    elif use_sample:
        path = sample_path(modality)
    else:
        raise DataError("upload a dataset or tick 'use the sample dataset'")
    data = read_dataset(modality, path, cap)
    n = len(data)
    if n > cap.finetune_samples:
        raise DataError(f"{n:,} samples/pairs is over this server's limit of {cap.finetune_samples:,} "
                        "for fine-tuning; use a subset")
    return data


def _base(modality: str, name: str, data, distance: str, seed: int, plan: dict[str, Any] | None = None):
    if not isinstance(name, str) or name not in base_choices(modality):
        raise DataError(f"{str(name)[:80]!r} {catalogue.NOT_OFFERED} as a base for {modality} data; "
                        f"choose one of {base_choices(modality)}")
    if name.startswith(SCRATCH_PREFIX):
        return scratch_model(modality, name[len(SCRATCH_PREFIX):], data, distance, seed, plan)
    return common.get_model(name, modality)


def _summary_markdown(summary: dict[str, Any], margin: float | None, loss: str) -> str:
    s = summary["splits"]
    rows = ["| split | samples / pairs | classes | positive pairs | negative pairs | triplets |", "|---|---|---|---|---|---|"]
    for name in ("train", "validation", "test"):
        p = s[name]
        rows.append(f"| {name} | {p.get('samples', p.get('pairs'))} | {p.get('classes', '-')} | "
                    f"{p['positive_pairs']:,} | {p['negative_pairs']:,} | {p['triplets']:,} |")
    dup = summary["duplicates_across_splits"]
    lines = [f"**Data**: {summary['kind']}, split **{summary['split']}**"
             + (" (test classes are never seen in training)" if summary["split"] == "by class" else ""), "",
             *rows, "",
             f"Duplicates of training items: validation {dup['validation']['exact']} identical / "
             f"{dup['validation']['near']} near, test {dup['test']['exact']} / {dup['test']['near']}."]
    if "class_counts" in summary:
        cc = summary["class_counts"]
        lines.append(f"Training classes: {len(cc)}, {min(cc.values())}-{max(cc.values())} samples each "
                     f"(imbalance ratio {summary['imbalance_ratio']}).")
    if margin is not None:
        lines.append(f"A {loss} margin on the scale of the base model's distances on this data: **{margin}** (to "
                     "try it, enter it as the margin under Advanced settings). Left at 0, a run takes the loss's "
                     "default, as the command line and `benchmarks/finetune.py` do: on the validation splits of "
                     "four real sets it did as well or better than this scaled margin (the README's 'Fine-tuning "
                     "on real data').")
    if summary["warnings"]:
        lines += ["", "**Warnings**", *[f"- ⚠️ {w}" for w in summary["warnings"]]]
    else:
        lines += ["", "No warnings."]
    return "\n".join(lines)


def _pair_image(a, b, model) -> np.ndarray:
    pa = model.preprocessor.to_pil(a).convert("L").resize((96, 96))
    pb = model.preprocessor.to_pil(b).convert("L").resize((96, 96))
    out = np.full((96, 200), 128, dtype=np.uint8)
    out[:, :96], out[:, 104:] = np.asarray(pa), np.asarray(pb)
    return out


def _preview(data, model) -> tuple[list, list[list]]:
    pairs = preview_pairs(data, n=4)
    gallery, table = [], []
    for p in pairs:
        verdict = "same" if p["label"] >= 0.5 else "different"
        if model.modality == "image":
            gallery.append((_pair_image(p["a"], p["b"], model), f"{verdict}: {p['a_name']} | {p['b_name']}"))
        else:
            show = (lambda x: x if isinstance(x, str) else f"series of {len(x)} steps")  # noqa: E731
            table.append([verdict, f"{p['label']:.2f}", f"{show(p['a'])} ({p['a_name']})",
                          f"{show(p['b'])} ({p['b_name']})"])
    return gallery, table


def check_data(modality_label: str, use_sample: bool, upload: str | None, base_name: str, split_mode: str,
               loss: str, seed: float, image_kind: str = "auto", image_channels: str = "auto",
               image_fit: str = "auto", image_size: float = 0):
    """Read and split the data; returns the summary, a preview and a margin suggestion. The image
    settings (a from-scratch base only) change the input preparation shown and used."""
    modality = _modality(modality_label)
    seed = check_number(seed, "seed")
    check_choice(split_mode, "split", SPLIT_MODES)
    check_choice(loss, "loss", LOSS_CHOICES)
    plan = settings.check_plan({"image_kind": image_kind, "image_channels": image_channels, "image_fit": image_fit,
                                "image_size": image_size})
    data = _read(modality, use_sample, upload)
    model = _base(modality, base_name, data, "euclidean", seed, plan)
    chosen = auto_settings(model, data)
    auto = loss == "auto"
    if auto:
        loss = chosen["loss"][0]
    parts, summary = prepare(model, data, split_mode, seed)
    margin = suggest_margin(model, parts["train"], loss, seed)
    gallery, table = _preview(parts["train"], model)
    fit_note = None
    if modality == "image" and isinstance(data, Samples):
        fit_note = base_fit_warning(model, list(data.items), common.photo_model_besides(base_name))
    rows = [f"| loss | {loss} | " + (f"auto: {chosen['loss'][1]}" if auto else "yours") + " |"]
    rows += [f"| {label} | {f'{v:g}' if isinstance(v, float) else v} | auto: {why} |"
             for label, (v, why) in (("learning rate", chosen["lr"]), ("warm-up steps", chosen["warmup_steps"]),
                                     ("mining", chosen["mining"]), ("monitor", chosen["monitor"]),
                                     ("frozen blocks", chosen["frozen_blocks"]), ("batch size", chosen["batch_size"]),
                                     ("augmentation", (("on" if chosen["augment.enabled"][0] else "off"),
                                                       chosen["augment.enabled"][1])))]
    md = (f"**Loss: {loss}**" + (" (auto: chosen from the data layout and the base model)" if auto else "")
          + "\n\n| setting | value | why |\n|---|---|---|\n" + "\n".join(rows)
          + "\n\n" + _summary_markdown(summary, margin, loss))
    if modality == "image":
        md += "\n\n" + _input_plan_markdown(model, data, base_name.startswith(SCRATCH_PREFIX))
    if fit_note:
        md = f"⚠️ **The base does not suit this data:** {fit_note}.\n\n" + md
    return (summary, md, gr.update(value=gallery, visible=bool(gallery)),
            gr.update(value=table, visible=bool(table)), gr.update())  # the margin is the visitor's to set


def _input_plan_markdown(model, data, from_scratch: bool) -> str:
    """How the images become the model's input: fitted to them (a from-scratch base), or the base's own."""
    plan = model.info.get("input_plan") or image_input_plan(all_items(data))
    m, why, fitted = plan["measured"], plan["reasons"], plan["preprocessing"]
    if not m.get("images"):
        return ""
    head = (f"**Input preparation**, from {m['images']} sampled images (median {m['median_width']} x "
            f"{m['median_height']} px): {why['kind']}.")
    pre = model.preprocessor
    rows = ["| setting | " + ("value | why |" if from_scratch else "the base's own | fitted to these images | why |"),
            "|---|---|---|" + ("" if from_scratch else "---|")]
    for key in ("channels", "invert", "crop_to_content", "fit", "size"):
        rows.append(f"| {key.replace('_', ' ')} | {fitted[key]} | {why[key]} |" if from_scratch else
                    f"| {key.replace('_', ' ')} | {getattr(pre, key, '-')} | {fitted[key]} | {why[key]} |")
    tail = ("Applied: a model trained from scratch gets this input. Change it under **Advanced settings** "
            "(*Images from scratch*: kind, grey or colour, fit, size) and check the data again." if from_scratch else
            "The base keeps the input preparation it was trained with (its features depend on it); choose a "
            "*from scratch* base to train on the fitted one (the *Images from scratch* settings apply only there).")
    return head + "\n\n" + "\n".join(rows) + "\n\n" + tail


SETTING_NAMES = settings.NAMES  # the form, the API and the CLI take the same settings (siamese_demo.settings)


def start(runner, store, modality_label: str, use_sample: bool, upload: str | None, base_name: str,
          *values, request: gr.Request | None = None):
    """Queue a fine-tuning run for this visitor; returns the job id."""
    owner = _owner(request)
    if len(values) != len(SETTING_NAMES):
        raise DataError(f"expected {len(SETTING_NAMES)} settings ({', '.join(SETTING_NAMES)}), got {len(values)}")
    s = settings.check(dict(zip(SETTING_NAMES, values)))
    modality = _modality(modality_label)
    data = _read(modality, use_sample, upload)
    seed = int(s["seed"])
    base = _base(modality, base_name, data, s["distance"], seed, settings.plan_overrides(s))
    cfg = settings.train_config(base, data, s)
    prepared = prepare(base, data, s["split_mode"], seed)  # refuse unusable data now, not in the queue
    store.folder(owner)  # the visitor's private folder exists from now on
    label = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(upload).stem)[:40] if upload else "sample"
    source = (f"the uploaded file '{Path(upload).name}'" if upload
              else f"the bundled sample dataset {SAMPLE_DATASETS[modality][1]}")

    def work(job):
        result = finetune(base, data, cfg, [job.on_event], job.cancel, split_mode=s["split_mode"],
                          base_name=base_name, distance=s["distance"] if base_name.startswith(SCRATCH_PREFIX) else None,
                          prepared=prepared, data_source=source, refit_after=bool(s["refit"]))
        name = f"{modality}-{label}-{job.id}"

        def save(folder: Path) -> str:
            write(result.model.cpu(), result.report, folder / name)
            return shutil.make_archive(str(folder / name), "zip", root_dir=folder, base_dir=name)

        archive = store.write_in(owner, save)  # None: the visitor left, nothing is written
        if archive is None:
            return None
        return {"result": result, "name": name, "zip": archive, "modality": modality}

    job = runner.submit(owner, work)
    return {"job": job.id}, _status_html(job, runner)


def _bar(fraction: float) -> str:
    pct = max(0.0, min(1.0, fraction)) * 100
    return (f"<div style='background:#eee;border-radius:4px;height:14px;width:100%'>"
            f"<div style='background:#f97316;height:14px;border-radius:4px;width:{pct:.0f}%'></div></div>")


def _status_html(job, runner) -> str:
    if job.state == QUEUED:
        return f"⏳ Waiting in line: position {runner.position(job)} (one training run at a time on this server)."
    p = job.progress
    epochs, ep = p.get("epochs") or 1, p.get("epoch", 0)
    spe = p.get("steps_per_epoch") or 1
    steps_in_epoch = (p.get("step", 0) - (ep - 1) * spe) if ep else 0
    frac = (max(ep - 1, 0) + min(max(steps_in_epoch, 0), spe) / spe) / epochs if ep else 0.0
    last = job.epochs[-1] if job.epochs else {}
    elapsed = (job.finished or time.time()) - (job.started or time.time())
    budget = p.get("time_budget_s")
    if budget:  # the budget usually ends the run before the last epoch: the bar follows whichever is nearer
        frac = max(frac, min(1.0, elapsed / budget))
    if job.state == RUNNING and job.cancel.is_set():
        head = f"⏹️ Cancelling… (the run stops at its next step and keeps its best model so far), {elapsed:.0f} s"
    elif job.state == RUNNING:
        head = f"🏃 Training: epoch {ep} of at most {epochs}, {elapsed:.0f} s" + (
            f" of about {budget:.0f} s" if budget else "")
    elif job.state == DONE:
        res = (job.result or {}).get("result")
        out = res.report.get("outcome", {}) if res is not None else {}
        if out.get("improved") or not out:
            head = f"✅ Finished in {elapsed:.0f} s. {out.get('text', '')}".rstrip()
        else:
            head = f"⚠️ Finished in {elapsed:.0f} s, without improving on the base. {out['text']}"
        frac = 1.0
    elif job.state == CANCELLED:
        head = f"⏹️ {job.message}"
    else:
        head = f"❌ The run failed and was stopped: {job.message}. The app and the shipped models are unaffected."
    tail = (f" Validation loss {last['val_loss']:.4f}, AUC {last['val_auc']:.3f}." if last.get("val_loss") is not None
            else "")
    return f"<p>{head.rstrip('.')}.{tail}</p>" + _bar(frac)


DOWNLOAD_ROUTE = "/siamese_download/"


def download_html(links, owner: str, job) -> str:
    """A fresh one-time link to this visitor's model zip (see DownloadLinks)."""
    token = links.issue(owner, job.result["zip"])
    name = Path(job.result["zip"]).name
    return (f"<p><a href='{DOWNLOAD_ROUTE}{token}' download='{name}'>⬇ Download the model</a> "
            f"(zip: checkpoint folder, card, run record, report). The link is yours alone: it works once, "
            f"within {links.ttl_s / 60:.0f} minutes; press <b>New download link</b> for another.</p>")


def _report_outputs(job, links, owner: str):
    res = job.result["result"]
    r = res.report
    md = "### Base vs fine-tuned on the test split\n\n" + report_markdown(r)
    if r["stopped"] == "time_budget":
        md += "\n\n*Stopped by the time budget: a rerun with the same seed can stop at another step.*"
    curves = {k: {**r[k]["roc"], "auc": r[k]["auc"]} for k in ("base", "finetuned")}
    roc = plots.roc_curves({"base": curves["base"], "fine-tuned": curves["finetuned"]})
    hist = plots.distance_histograms({"base": r["base"], "fine-tuned": r["finetuned"]})
    proj = plots.projection({"base": r["projection"]["base"], "fine-tuned": r["projection"]["finetuned"]}) \
        if "projection" in r else None
    hard = [[h["kind"], h["a"] + (f" [{h['class_a']}]" if h["class_a"] else ""),
             h["b"] + (f" [{h['class_b']}]" if h["class_b"] else ""), h["distance"]] for h in r["hardest_pairs"]]
    summary = {k: r[k] for k in ("base_model", "split", "seed", "stopped", "best_epoch")}
    summary.update({f"{m}_{k}": r[m][k] for m in ("base", "finetuned") for k in ("auc", "eer", "accuracy", "threshold")})
    summary.update(outcome=r["outcome"]["text"], kept_base=r["outcome"]["kept_base"], improved=r["outcome"]["improved"],
                   data_source=r["data_source"])
    summary["model"] = YOURS + job.result["name"]
    return summary, md, roc, hist, proj, hard, download_html(links, owner, job)


def watch(runner, links, state: dict | None, request: gr.Request | None = None):
    """Stream this visitor's run: status and curves every second; the report when it ends."""
    owner = _owner(request)
    job = runner.get(owner, (state or {}).get("job"))
    empty = (gr.update(),) * 7
    if job is None:
        yield ("No run yet: press Start.", None, *empty)
        return
    last_epochs = -1
    while job.state in (QUEUED, RUNNING):
        if len(job.epochs) != last_epochs:
            last_epochs = len(job.epochs)
            yield (_status_html(job, runner), plots.training_curves(job.epochs, job.marks), *empty)
        else:
            yield (_status_html(job, runner), gr.update(), *empty)
        time.sleep(1.0)
    curves = plots.training_curves(job.epochs, job.marks) if job.epochs else None
    if job.finished_ok:
        yield (_status_html(job, runner), curves, *_report_outputs(job, links, owner))
    else:  # a failed run: nothing of an earlier run stays on the page
        yield (_status_html(job, runner), curves, {"state": job.state, "message": job.message}, "", None, None, None,
               None, "")


def cancel(runner, state: dict | None, request: gr.Request | None = None) -> str:
    ok = runner.cancel(_owner(request), (state or {}).get("job"))
    return "Cancelling: the run stops within a few seconds and keeps its best model so far." if ok else \
        "Nothing to cancel."


def new_download_link(runner, links, state: dict | None, request: gr.Request | None = None) -> str:
    """Another one-time link to this visitor's finished model (only the visitor who ran it)."""
    owner = _owner(request)
    job = runner.get(owner, (state or {}).get("job"))
    if job is None or not job.finished_ok:
        raise DataError("no finished run yet: train a model first")
    return download_html(links, owner, job)


def use_model(runner, store, state: dict | None, request: gr.Request | None = None):
    """Make the finished run's model selectable in its comparison tab, for this visitor only."""
    owner = _owner(request)
    job = runner.get(owner, (state or {}).get("job"))
    if job is None or not job.finished_ok:
        raise DataError("no finished run yet: train a model first")
    name = YOURS + job.result["name"]
    store.add_model(owner, name, job.result["result"].model.eval())
    modality = job.result["modality"]
    mine = [n for n in store.model_names(owner) if store.model(owner, n).modality == modality]
    updates = [gr.update(choices=common.choices(m) + mine, value=name) if m == modality else gr.update()
               for m in ("image", "text", "timeseries")]
    tab = {v: k for k, v in MODALITIES.items()}[modality]
    return (f"`{name}` is now selected in the **{tab}** tab (for you only).", *updates)


# numbers shown as sliders (a bounded range that a slider shows well); the others as number boxes
SLIDERS = {"batch_size", "epochs", "lr_patience", "patience", "time_budget_s", "rotation", "crop_scale",
           "color_jitter", "jitter", "scaling", "warp", "word_dropout"}


def _widget(name: str, **kw):
    """The form's input for a setting: its label, choices and default from siamese_demo.settings."""
    st = settings.BY_NAME[name]
    value = st.form_default()
    if st.kind is bool:
        return gr.Checkbox(value, label=st.label, **kw)
    if st.kind is str:
        return CheckedRadio(list(st.choices), value=value, label=st.label, **kw)
    if name in SLIDERS:
        lo, hi, _, _ = setting_range(name)
        return setting_slider(name, min(value, hi), st.label, **kw)
    return CheckedNumber(value, label=st.label, **kw)


def build(runner, store, links, compare_dropdowns: dict[str, gr.Dropdown]) -> None:
    gr.Markdown(INTRO.format(idle=duration_words(limits().visitor_ttl_s)))
    job_state = gr.State({})
    widgets: dict[str, Any] = {}

    def setting(name: str, **kw):
        widgets[name] = _widget(name, **kw)
        return widgets[name]
    with gr.Row():
        with gr.Column():
            modality = CheckedRadio(list(MODALITIES), value="Image pairs", label="Data type")
            use_sample = gr.Checkbox(True, label="Use the sample dataset")
            sample_info = gr.Markdown(_sample_line("image"))
            upload = gr.File(label="…or upload a dataset (zip, CSV, TSV, .ts); untick 'use the sample dataset'",
                             file_types=[".zip", ".csv", ".tsv", ".txt", ".ts"], type="filepath")
        with gr.Column():
            base = gr.Dropdown(base_choices("image"), value=base_choices("image")[0], label="Start from (base model)",
                               allow_custom_value=True)  # choices change with the data type; checked in _base
            shares = f"{1 - VAL_FRACTION - TEST_FRACTION:.0%} / {VAL_FRACTION:.0%} / {TEST_FRACTION:.0%}"
            split_mode = setting("split_mode", info=f"train / validation / test = {shares}; by class: test classes "
                                 "unseen; by sample: stratified")
            # what a first run needs: the base (above), the loss and the time budget; the rest is Advanced
            loss = setting("loss", info="bce adds a pair classifier head on top of the encoder")
            setting("time_budget_s", step=10)
            seed = setting("seed", precision=0)
            check = gr.Button("Check the data")
    summary_json = gr.JSON(visible=False)
    summary_md = gr.Markdown()
    preview_gallery = gr.Gallery(label="Training pairs as they will be built", columns=4, height=260, visible=False)
    preview_table = gr.Dataframe(headers=["pair", "label", "first", "second"], label="Training pairs as they will "
                                 "be built", visible=False, interactive=False, wrap=True)
    with gr.Accordion("Advanced settings", open=False):
        with gr.Row():
            setting("distance")
            margin = setting("margin")
            setting("mining")
        with gr.Row():
            setting("batch_size", step=4)
            setting("epochs")
            setting("optimizer")
            setting("lr")
        with gr.Row():
            setting("weight_decay")
            setting("lr_patience")
            setting("patience")
            setting("frozen_blocks")
        with gr.Row():
            setting("augment")
            setting("rotation")
            setting("crop_scale")
            setting("color_jitter")
        with gr.Row():
            setting("jitter")
            setting("scaling")
            setting("warp")
            setting("word_dropout")
        with gr.Row():
            setting("threshold_policy")
            setting("target_far")
            setting("refit")
        with gr.Row():  # a from-scratch image base: change the input preparation that Check the data shows
            for name in settings.PLAN_SETTINGS:
                setting(name)
    with gr.Row():
        start_btn = gr.Button("Start fine-tuning", variant="primary")
        cancel_btn = gr.Button("Cancel", variant="stop", interactive=False)  # active only while a run is on
    status = gr.HTML("No run yet.")
    curves = gr.Plot(label="Training curves")
    result_json = gr.JSON(label="Result", visible=False)
    report_md = gr.Markdown()
    with gr.Row():
        roc = gr.Plot(label="ROC")
        hist = gr.Plot(label="Distances")
    proj = gr.Plot(label="2-D projection of test embeddings")
    hardest = gr.Dataframe(headers=["kind", "first", "second", "distance"], label="Hardest test pairs",
                           interactive=False, wrap=True)
    with gr.Row():
        use_btn = gr.Button("Use this model in the comparison tabs")
        with gr.Column():
            download = gr.HTML("")
            link_btn = gr.Button("New download link", size="sm")
    use_msg = gr.Markdown()

    setting_inputs = [widgets[n] for n in SETTING_NAMES]  # in the API's order (siamese_demo.settings)

    def on_modality(label):
        m = _modality(label)
        choices = base_choices(m)
        return gr.update(choices=choices, value=choices[0]), _sample_line(m)

    modality.change(common.friendly("change the data type")(on_modality), modality, [base, sample_info],
                    api_name="finetune_modality")

    def clear_results(state, request: gr.Request):
        """New data: the last report, curves and download go, and 'Use this model' forgets that run
        (a run still queued or running keeps its status and can still be cancelled)."""
        job = runner.get(_owner(request), (state or {}).get("job"))
        if job is not None and job.state in (QUEUED, RUNNING):
            head = (gr.update(), gr.update(), gr.update())
        else:
            head = ({}, "No run yet.", None)
        return (*head, {}, "", None, None, None, None, "", "", {}, "")

    cleared = [job_state, status, curves, result_json, report_md, roc, hist, proj, hardest, download, summary_md,
               summary_json, use_msg]
    for comp in (modality, use_sample, upload):
        comp.change(clear_results, job_state, cleared, queue=False, show_progress="hidden",
                    api_visibility="private")
    upload.upload(lambda f: gr.update(value=False) if f else gr.update(), upload, use_sample, queue=False,
                  show_progress="hidden", api_visibility="private")  # an upload is used: untick the sample
    check.click(common.friendly("read the dataset")(check_data),
                [modality, use_sample, upload, base, split_mode, loss, seed,
                 *[widgets[n] for n in settings.PLAN_SETTINGS]],
                [summary_json, summary_md, preview_gallery, preview_table, margin], api_name="check_data")

    def _start(data_type: str, use_sample: bool, upload: str | None, base: str, loss: str, distance: str,
               margin: float, mining: str, batch_size: int, epochs: int, optimizer: str, lr: float,
               weight_decay: float, frozen_blocks: str, lr_patience: int, patience: int, augment: str, rotation: float,
               crop_scale: float, color_jitter: float, jitter: float, scaling: float, warp: float,
               word_dropout: float, threshold_policy: str, target_far: float, split_mode: str, seed: int,
               time_budget_s: float, image_kind: str, image_channels: str, image_fit: str, image_size: int,
               refit: bool, request: gr.Request):
        """Queue a fine-tuning run; stream it with /watch_finetune."""
        given = locals()  # the parameters above are named after the settings (their API names)
        return start(runner, store, data_type, use_sample, upload, base, *(given[n] for n in SETTING_NAMES),
                     request=request)

    def _watch(state, request: gr.Request):
        yield from watch(runner, links, state, request)

    def _cancel(state, request: gr.Request):
        return cancel(runner, state, request)

    def _link(state, request: gr.Request):
        return new_download_link(runner, links, state, request)

    def _use(state, request: gr.Request):
        return use_model(runner, store, state, request)

    outputs = [status, curves, result_json, report_md, roc, hist, proj, hardest, download]
    started = start_btn.click(common.friendly("start the run")(_start), [modality, use_sample, upload, base, *setting_inputs],
                              [job_state, status], api_name="start_finetune")
    started.success(lambda: gr.update(value="Cancel", interactive=True), None, cancel_btn, queue=False,
                    show_progress="hidden", api_visibility="private")
    started.then(_watch, job_state, outputs, api_name="watch_finetune", concurrency_limit=None).then(
        lambda: gr.update(value="Cancel", interactive=False), None, cancel_btn, queue=False, show_progress="hidden",
        api_visibility="private")  # the run is over (finished, failed or cancelled): nothing to cancel
    cancel_btn.click(lambda: gr.update(value="Cancelling…", interactive=False), None, cancel_btn, queue=False,
                     show_progress="hidden", api_visibility="private").then(
        _cancel, job_state, status, api_name="cancel_finetune", concurrency_limit=None)
    link_btn.click(common.friendly("make a download link")(_link), job_state, download, api_name="download_link")
    use_btn.click(common.friendly("use the model")(_use), job_state,
                  [use_msg, compare_dropdowns["image"], compare_dropdowns["text"], compare_dropdowns["timeseries"]],
                  api_name="use_finetuned_model")


def _sample_line(modality: str) -> str:
    _, what, licence = SAMPLE_DATASETS[modality]
    return f"Sample: *{what}*; licence: {licence}."
