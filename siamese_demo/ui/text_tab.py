"""Text pairs tab: two sentences, compare, token contributions, and an encoder comparison."""
from __future__ import annotations


import gradio as gr

from siamese_demo.explain import token_contributions
from siamese_demo.limits import limits
from siamese_demo.preprocess import check_text

from . import common
from .examples import text_examples

EXPLAIN = ("**How the token colours are made (leave one out):** each token is removed in turn and the "
           "distance to the other sentence is measured again. Red tokens made the sentences look alike "
           "(removing them increases the distance); blue ones pulled them apart.")


def compare_texts(text_a: str, text_b: str, model_name: str, use_saved_threshold: bool = True,
                  threshold: float = 0.5, model=None):
    """Compare two texts. Returns the result, an explanation, a distribution plot and token contributions."""
    check_text(text_a, "the first text"), check_text(text_b, "the second text")  # before any tokenizing
    model = model or common.get_model(model_name, "text")
    r = model.compare(text_a, text_b, common.threshold_arg(use_saved_threshold, threshold, model))
    payload = common.result_payload(model_name, model, r)
    ca, cb = token_contributions(model, text_a, text_b)
    scale = max([abs(v) for _, v in ca + cb] + [1e-9])
    return (payload, common.result_markdown(payload, model), common.distribution_plot(payload, model),
            [(t, v / scale) for t, v in ca], [(t, v / scale) for t, v in cb])


def compare_encoders(text_a: str, text_b: str, models: list[str]) -> list[list]:
    """Score the same pair with every text model: score, decision, parameters, time."""
    check_text(text_a, "the first text"), check_text(text_b, "the second text")
    return common.encoder_table(models, text_a, text_b, "text")




def build(tab_models: list[str], store=None) -> gr.Dropdown:
    with gr.Row():
        with gr.Column(scale=2):
            text_a = gr.Textbox(label="First text", lines=3, max_length=limits().text_chars)
            text_b = gr.Textbox(label="Second text", lines=3, max_length=limits().text_chars)
        with gr.Column():
            model, about, use_saved, thr, btn = common.controls(tab_models)
    result_json, result_md, plot = common.result_area()
    with gr.Row():
        hl_a = gr.HighlightedText(label="First text: token contributions", color_map=None, show_legend=False)
        hl_b = gr.HighlightedText(label="Second text: token contributions", show_legend=False)
    gr.Markdown(EXPLAIN)
    gr.Examples(text_examples(), inputs=[text_a, text_b], label="Examples (not from the training data)")
    state = gr.State({})
    def run(text_a: str, text_b: str, model_name: str, use_saved_threshold: bool = True, threshold: float = 0.5,
            request: gr.Request = None):
        return compare_texts(text_a, text_b, model_name, use_saved_threshold, threshold,
                             common.visitor_model(store, request, model_name, "text"))

    btn.click(common.with_state(common.friendly("compare the texts")(run)),
              [text_a, text_b, model, use_saved, thr], [result_json, result_md, plot, hl_a, hl_b, state],
              api_name="compare_texts")
    common.encoder_comparison("Compare encoders on this pair (Transformer vs LSTM)", "text", [text_a, text_b],
                              lambda a, b: compare_encoders(a, b, tab_models), "compare_text_encoders")
    common.wire_threshold(model, use_saved, thr, state, result_json, result_md, plot, about, "text", store)
    return model
