"""Top-level Blocks: one tab per modality plus "About the models". Per-visitor state lives in
components and gr.State only; models are shared read-only and loaded lazily (warmed up in the
background after start)."""
from __future__ import annotations

import gradio as gr

import os

from siamese_demo.jobs import JobRunner, VisitorStore

from . import about_tab, common, finetune_tab, image_tab, series_tab, text_tab

INTRO = """# Siamese networks: are these two the same?

A Siamese network encodes both inputs with **one shared encoder** and measures the distance between
the two embeddings: close means *same*, far means *different*. Conventions used everywhere here:
distance lower = more similar; score in [0, 1], higher = more similar; a pair is called **same** when
its distance is at most the model's threshold (chosen on validation data, movable below: your
threshold is yours alone).
"""


def build_demo(warm: bool = True) -> gr.Blocks:
    shipped = {m: common.choices(m) for m in ("image", "text", "timeseries")}
    # created per app, not per module: one training worker, one store of visitors' models and files
    runner = JobRunner()
    store = VisitorStore(ttl_s=float(os.environ.get("SIAMESE_DEMO_VISITOR_TTL_S", "3600")))
    with gr.Blocks(title="Siamese networks demo", delete_cache=(600, 3600)) as demo:
        gr.Markdown(INTRO)
        with gr.Tab("Image pairs"):
            dd_image = image_tab.build(shipped["image"], store)
        with gr.Tab("Text pairs"):
            dd_text = text_tab.build(shipped["text"], store)
        with gr.Tab("Time-series pairs"):
            dd_series = series_tab.build(shipped["timeseries"], store)
        with gr.Tab("Fine-tune"):
            finetune_tab.build(runner, store, {"image": dd_image, "text": dd_text, "timeseries": dd_series})
        with gr.Tab("About the models"):
            about_tab.build()

        def leave(request: gr.Request):
            """A visitor closed the page: cancel their runs, delete their models and files."""
            owner = getattr(request, "session_hash", None)
            if owner:
                runner.drop_owner(owner)
                store.drop(owner)

        demo.unload(leave)
    # two events at a time: one per core of a basic CPU Space; more visitors wait in the queue
    demo.queue(default_concurrency_limit=2)
    if warm:
        common.warm_up([n for names in shipped.values() for n in names if not n.startswith("hub:")])
    return demo
