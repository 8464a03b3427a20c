"""Time-series pairs tab: upload or paste two series, compare, see them as the model does; and search
many series for the one closest to the first (one-against-many)."""
from __future__ import annotations

from pathlib import Path

import gradio as gr

from siamese_demo.data import parse_series_text
from siamese_demo.errors import DataError
from siamese_demo.explain import series_contributions
from siamese_demo.limits import limits
from siamese_demo.plots import series_pair
from siamese_demo.search import search_candidates

from . import common
from .examples import GALLERY, series_example_labels, series_examples, series_gallery

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
    if text and str(text).strip():
        return parse_series_text(text, name=f"{which} series")
    raise DataError(f"the {which} series is missing: upload a file or paste numbers")


def _pair(file_a, text_a, file_b, text_b):
    a, b = read_side(file_a, text_a, "first"), read_side(file_b, text_b, "second")
    if a.shape[1] != b.shape[1]:
        raise DataError(f"the first series has {a.shape[1]} channel(s) and the second {b.shape[1]}; "
                        "give both the same channels")
    return a, b


def compare_series(file_a: str | None, text_a: str, file_b: str | None, text_b: str, model_name: str,
                   use_saved_threshold: bool = True, threshold: float = 0.5, model=None):
    """The decision for two series (files or pasted numbers): the result, its sentence, and the pair
    compared (kept in the visitor's state for the shaded plot of ``explain_series``)."""
    a, b = _pair(file_a, text_a, file_b, text_b)
    model = model or common.get_model(model_name, "timeseries")
    r = model.compare(a, b, common.threshold_arg(use_saved_threshold, threshold, model))
    payload = common.result_payload(model_name, model, r, not use_saved_threshold)
    return payload, common.result_markdown(payload, model), (a, b)


def explain_series(a, b, model):
    """Both series as the model sees them, shaded where they matched."""
    ca, cb = series_contributions(model, a, b)
    pre = model.preprocessor
    return series_pair(pre.transform(a), pre.transform(b), ca, cb)


def compare_encoders(file_a, text_a, file_b, text_b, models: list[str]) -> list[list]:
    """Score the same pair with every series model: p(same), distance, decision, parameters, time."""
    return common.encoder_table(models, *_pair(file_a, text_a, file_b, text_b), "timeseries")


def parse_candidates(text: str | None) -> tuple[list, list[str]]:
    """One series per line (numbers separated by commas or spaces); names 'line N'."""
    if text is not None and not isinstance(text, str):
        raise DataError("candidates: expected text, one series per line")
    cap = limits().series_paste_chars
    if text and len(text) > cap:
        raise DataError(f"candidates: {len(text):,} characters is over the limit of {cap:,}")
    lines = [(i, ln) for i, ln in enumerate((text or "").splitlines(), start=1) if ln.strip()]
    return ([parse_series_text(ln, name=f"candidate on line {i}") for i, ln in lines],
            [f"line {i}" for i, _ in lines])


def build(tab_models: list[str], store=None, priority=None) -> gr.Dropdown:
    with gr.Row():
        with gr.Column(min_width=200):
            text_a = gr.Textbox(label="First series: paste numbers", lines=3, placeholder="0.1, 0.5, 0.9, 0.4, ...",
                                max_length=limits().series_paste_chars)
            file_a = gr.File(label="…or upload a CSV/TSV/TXT file (one column, or one column per channel)",
                             file_types=[".csv", ".tsv", ".txt"], type="filepath", height=130)
        with gr.Column(min_width=200):
            text_b = gr.Textbox(label="Second series: paste numbers", lines=3, max_length=limits().series_paste_chars)
            file_b = gr.File(label="…or upload a file", file_types=[".csv", ".tsv", ".txt"], type="filepath",
                             height=130)
    btn = gr.Button("Compare", variant="primary")
    result_json, result_md, plot = common.result_area()
    series_plot = gr.Plot(label="The two series as the model sees them (shaded where they matched)")
    model, about, use_saved, thr = common.controls(tab_models)
    gr.Markdown(EXPLAIN)
    gr.Examples(series_examples(), inputs=[text_a, text_b], example_labels=series_example_labels(),
                label="Examples (held-out datasets)")
    state = gr.State({})

    def run(file_a: str | None, text_a: str, file_b: str | None, text_b: str, model_name: str,
            use_saved_threshold: bool = True, threshold: float = 0.5, request: gr.Request = None):
        """Compare two series; returns the decision at once (the shaded plot follows from /explain_series)."""
        return compare_series(file_a, text_a, file_b, text_b, model_name, use_saved_threshold, threshold,
                              common.visitor_model(store, request, model_name, "timeseries"))

    def explain(payload=None, request: gr.Request = None):
        """This visitor's last comparison among the validation pairs, and the occlusion shading of
        both series (after the decision, in its own queue)."""
        (a, b), m = common.compared_pair(store, request, payload, "timeseries")
        return common.explanation_view(m, a, b, payload, "series", lambda: (explain_series(a, b, m),))

    common.encoder_comparison("Compare encoders on this pair (LSTM vs Transformer)", "series",
                              [file_a, text_a, file_b, text_b],
                              lambda fa, ta, fb, tb: compare_encoders(fa, ta, fb, tb, tab_models),
                              "compare_series_encoders")

    with gr.Accordion("Find the closest of many series (one-against-many search)", open=False):
        gr.Markdown(f"The **first series** is the query. Candidates: one series per line, or leave empty for "
                    f"{GALLERY['timeseries']}.")
        cands = gr.Textbox(label="Candidates (one series per line)", lines=4,
                           max_length=limits().series_paste_chars)
        search_btn = gr.Button("Search", variant="primary")
        search_md = gr.Markdown()
        search_table = gr.Dataframe(headers=common.SEARCH_COLUMNS, interactive=False, wrap=True)
        search_plot = gr.Plot(label="The query and the best candidate as the model sees them")

    def run_search(file_a, text_a, candidates: str, model_name: str, use_saved_threshold: bool = True,
                   threshold: float = 0.5, request: gr.Request = None):
        """Rank candidate series (one per line; empty: the bundled six) against the first series."""
        m = common.visitor_model(store, request, model_name, "timeseries")
        query = read_side(file_a, text_a, "first")
        items, names = parse_candidates(candidates)
        if not items:
            names, texts = zip(*series_gallery())
            items, names = [parse_series_text(t, name=n) for n, t in zip(names, texts)], list(names)
        res = search_candidates(m, query, items, names, common.threshold_arg(use_saved_threshold, threshold, m))
        fig = explain_series(query, items[res.hits[0].index], m)
        return res.to_dict(), common.search_markdown(res, m), common.search_rows(res, m), fig

    common.wire_search(search_btn, common.friendly("search the candidates")(run_search),
                       [file_a, text_a, cands, model, use_saved, thr],
                       [gr.JSON(visible=False), search_md, search_table, search_plot], "series",
                       stale_on=[cands], threshold_controls=(thr, use_saved))
    common.wire_compare(btn, common.friendly("compare the series")(run),
                        [file_a, text_a, file_b, text_b, model, use_saved, thr],
                        [result_json, result_md, state], common.friendly("explain the comparison")(explain),
                        [state], [plot, series_plot], "series",
                        stale_on=[file_a, text_a, file_b, text_b, model], priority=priority,
                        also_clear=[search_md, search_table, search_plot])
    common.wire_threshold(model, use_saved, thr, state, result_json, result_md, plot, about, "timeseries", store)
    return model
