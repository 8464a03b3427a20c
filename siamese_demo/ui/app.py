"""Top-level Blocks: the tabs of the app. Per-visitor state lives in gr.State only."""
from __future__ import annotations

import gradio as gr

import siamese_demo as sd

INTRO = """# Siamese networks: compare images, texts and time series

A Siamese network encodes both inputs with **one shared encoder** and measures the distance
between the two embeddings: close means *same*, far means *different*. Conventions used
everywhere here: label 1 = same; distance lower = more similar; score in [0, 1], higher =
more similar; a pair is called *same* when its distance is at most the model's threshold.
"""


def build_demo() -> gr.Blocks:
    with gr.Blocks(title="Siamese networks demo") as demo:
        gr.Markdown(INTRO)
        with gr.Tab("About the models"):
            models = sd.available_models()
            gr.Markdown("Shipped models: " + (", ".join(f"`{m}`" for m in models) if models else
                                              "none yet (see the README for the training recipes)."))
    return demo
