"""Time-series pairs tab: upload or paste two series, compare, see them as the model does."""
from __future__ import annotations

from pathlib import Path

import gradio as gr

from siamese_demo.data import parse_series_text
from siamese_demo.errors import DataError
from siamese_demo.explain import series_contributions
from siamese_demo.limits import limits
from siamese_demo.plots import series_pair

from . import common
from .examples import series_examples

EXPLAIN = ("**How the shading is made (occlusion):** the series are shown after the model's normalisation and "
           "resampling. A window of time steps is replaced by a straight line, the distance to the other "
           "series is measured again, and orange marks the windows whose removal made the two series look "
           "*less* alike: the parts the model matched.")


def read_side(file: str | None, text: str | None, which: str):
    """The series for one side: the uploaded file if there is one, else the pasted numbers."""
    if file:
        p = Path(file)
        cap = limits().series_file_bytes
        if not p.is_file():
            raise DataError(f"the {which} file could not be read; upload it again")
        if p.stat().st_size > cap:
            raise DataError(f"the {which} file is {p.stat().st_size / 1e6:.1f} MB; the limit is {cap / 1e6:g} MB")
        try:
            content = p.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise DataError(f"the {which} file is not UTF-8 text (expected CSV, TSV or TXT numbers)") from None
        return parse_series_text(content, name=f"{which} series ({p.name})")
    if text and text.strip():
        return parse_series_text(text, name=f"{which} series")
    raise DataError(f"the {which} series is missing: upload a file or paste numbers")


def compare_series(file_a: str | None, text_a: str, file_b: str | None, text_b: str, model_name: str,
                   use_saved_threshold: bool = True, threshold: float = 0.5, model=None):
    """Compare two series (files or pasted numbers). Returns the result, an explanation, a
    distribution plot and a plot of both series as the model sees them."""
    a, b = read_side(file_a, text_a, "first"), read_side(file_b, text_b, "second")
    if a.shape[1] != b.shape[1]:
        raise DataError(f"the first series has {a.shape[1]} channel(s) and the second {b.shape[1]}; "
                        "give both the same channels")
    model = model or common.get_model(model_name, "timeseries")
    r = model.compare(a, b, common.threshold_arg(use_saved_threshold, threshold, model))
    payload = common.result_payload(model_name, model, r)
    ca, cb = series_contributions(model, a, b)
    pre = model.preprocessor
    fig = series_pair(pre.transform(a), pre.transform(b), ca, cb)
    return payload, common.result_markdown(payload, model), common.distribution_plot(payload, model), fig


def compare_encoders(file_a, text_a, file_b, text_b, models: list[str]) -> list[list]:
    """Score the same pair with every series model: score, decision, parameters, time."""
    return common.encoder_table(models, read_side(file_a, text_a, "first"), read_side(file_b, text_b, "second"),
                               "timeseries")




def build(tab_models: list[str], store=None) -> gr.Dropdown:
    with gr.Row():
        with gr.Column():
            file_a = gr.File(label="First series (CSV/TSV/TXT: one column, or one column per channel)",
                             file_types=[".csv", ".tsv", ".txt"], type="filepath")
            text_a = gr.Textbox(label="…or paste numbers", lines=3, placeholder="0.1, 0.5, 0.9, 0.4, ...",
                                max_length=limits().series_paste_chars)
        with gr.Column():
            file_b = gr.File(label="Second series", file_types=[".csv", ".tsv", ".txt"], type="filepath")
            text_b = gr.Textbox(label="…or paste numbers", lines=3, max_length=limits().series_paste_chars)
        with gr.Column():
            model, about, use_saved, thr, btn = common.controls(tab_models)
    result_json, result_md, plot = common.result_area()
    series_plot = gr.Plot(label="The two series as the model sees them")
    gr.Markdown(EXPLAIN)
    gr.Examples(series_examples(), inputs=[text_a, text_b], label="Examples (held-out datasets)")
    state = gr.State({})
    def run(file_a: str | None, text_a: str, file_b: str | None, text_b: str, model_name: str,
            use_saved_threshold: bool = True, threshold: float = 0.5, request: gr.Request = None):
        return compare_series(file_a, text_a, file_b, text_b, model_name, use_saved_threshold, threshold,
                              common.visitor_model(store, request, model_name, "timeseries"))

    btn.click(common.with_state(common.friendly("compare the series")(run)),
              [file_a, text_a, file_b, text_b, model, use_saved, thr],
              [result_json, result_md, plot, series_plot, state], api_name="compare_series")
    common.encoder_comparison("Compare encoders on this pair (LSTM vs Transformer)", "series",
                              [file_a, text_a, file_b, text_b],
                              lambda fa, ta, fb, tb: compare_encoders(fa, ta, fb, tb, tab_models),
                              "compare_series_encoders")
    common.wire_threshold(model, use_saved, thr, state, result_json, result_md, plot, about, "timeseries", store)
    return model
