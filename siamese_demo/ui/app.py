"""Top-level Blocks: one tab per modality plus "About the models". Per-visitor state lives in
components and gr.State only; models are shared read-only and loaded lazily (warmed up in the
background after start)."""
from __future__ import annotations

import gradio as gr

from . import about_tab, common, image_tab, series_tab, text_tab

INTRO = """# Siamese networks: are these two the same?

A Siamese network encodes both inputs with **one shared encoder** and measures the distance between
the two embeddings: close means *same*, far means *different*. Conventions used everywhere here:
distance lower = more similar; score in [0, 1], higher = more similar; a pair is called **same** when
its distance is at most the model's threshold (chosen on validation data, movable below: your
threshold is yours alone).
"""


def build_demo(warm: bool = True) -> gr.Blocks:
    shipped = {m: common.choices(m) for m in ("image", "text", "timeseries")}
    with gr.Blocks(title="Siamese networks demo") as demo:
        gr.Markdown(INTRO)
        with gr.Tab("Image pairs"):
            image_tab.build(shipped["image"])
        with gr.Tab("Text pairs"):
            text_tab.build(shipped["text"])
        with gr.Tab("Time-series pairs"):
            series_tab.build(shipped["timeseries"])
        with gr.Tab("About the models"):
            about_tab.build()
    # two events at a time: one per core of a basic CPU Space; more visitors wait in the queue
    demo.queue(default_concurrency_limit=2)
    if warm:
        common.warm_up([n for names in shipped.values() for n in names if not n.startswith("hub:")])
    return demo
