"""Text pairs tab: two sentences, compare, word contributions, an encoder comparison, and a search of
many sentences for the one closest to the first (one-against-many)."""
from __future__ import annotations

import gradio as gr

from siamese_demo.domain import text_warning
from siamese_demo.errors import DataError
from siamese_demo.explain import EXPLAINED_WORDS, word_contributions
from siamese_demo.limits import limits
from siamese_demo.preprocess import check_text
from siamese_demo.search import check_candidates, search_candidates

from . import common
from .examples import GALLERY, TEXT_GALLERY, text_examples

EXPLAIN = ("**How the word colours are made (leave one out):** each word is removed in turn and the "
           "distance to the other text is measured again. Red words made the texts look alike "
           "(removing them increases the distance); blue ones pulled them apart. Only the first "
           f"{EXPLAINED_WORDS} words are "
           "coloured; words past what the model reads (its token limit) would change nothing.")


def compare_texts(text_a: str, text_b: str, model_name: str, use_saved_threshold: bool = True,
                  threshold: float = 0.5, model=None):
    """The decision for two texts: the result, its sentence, and the pair compared (kept in the
    visitor's state for ``explain_texts``, which colours the words)."""
    check_text(text_a, "the first text"), check_text(text_b, "the second text")  # before any tokenizing
    model = model or common.get_model(model_name, "text")
    r = model.compare(text_a, text_b, common.threshold_arg(use_saved_threshold, threshold, model))
    payload = common.result_payload(model_name, model, r, not use_saved_threshold)
    payload["warnings"] = [w for w in (text_warning(model, text_a, "first"), text_warning(model, text_b, "second"))
                           if w]
    return payload, common.result_markdown(payload, model), (text_a, text_b)


def _highlight(contrib: list[tuple[str, float | None]]) -> list[tuple[str, float | None]]:
    scale = max([abs(v) for _, v in contrib if v is not None] + [1e-9])
    out: list[tuple[str, float | None]] = []
    for i, (w, v) in enumerate(contrib):
        out.append((w, None if v is None else v / scale))
        if i < len(contrib) - 1:
            out.append((" ", None))
    return out


def explain_texts(text_a: str, text_b: str, model):
    """Leave-one-word-out colours for both texts."""
    check_text(text_a, "the first text"), check_text(text_b, "the second text")
    ca, cb = word_contributions(model, text_a, text_b)
    return _highlight(ca), _highlight(cb)


def compare_encoders(text_a: str, text_b: str, models: list[str]) -> list[list]:
    """Score the same pair with every text model: p(same), distance, decision, parameters, time."""
    check_text(text_a, "the first text"), check_text(text_b, "the second text")
    return common.encoder_table(models, text_a, text_b, "text")


def candidates_chars() -> int:
    """The most characters the candidates box takes: ``search_candidates`` lines of ``text_chars``."""
    lim = limits()
    return lim.search_candidates * (lim.text_chars + 1)


def parse_candidates(text: str | None) -> list[str]:
    """One candidate per line (blank lines skipped). The size of the whole text and the number of lines are
    checked before any line is: at most ``search_candidates`` lines of at most ``text_chars`` characters."""
    if text is not None and not isinstance(text, str):
        raise DataError("candidates: expected text, one candidate per line")
    cap = candidates_chars()
    if text and len(text) > cap:
        lim = limits()
        raise DataError(f"candidates: {len(text):,} characters is over the limit of {cap:,} "
                        f"({lim.search_candidates} lines of at most {lim.text_chars:,} characters)")
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    if lines:
        check_candidates(lines)  # the search's own count limit, before any line is checked
    for i, ln in enumerate(lines, start=1):
        check_text(ln, f"candidate {i}")
    return lines


def build(tab_models: list[str], store=None, priority=None) -> gr.Dropdown:
    with gr.Row():
        text_a = gr.Textbox(label="First text", lines=3, max_length=limits().text_chars, min_width=200)
        text_b = gr.Textbox(label="Second text", lines=3, max_length=limits().text_chars, min_width=200)
    btn = gr.Button("Compare", variant="primary")
    result_json, result_md, plot = common.result_area()
    with gr.Row():
        hl_a = gr.HighlightedText(label="First text: what each word did", show_legend=False)
        hl_b = gr.HighlightedText(label="Second text: what each word did", show_legend=False)
    model, about, use_saved, thr = common.controls(tab_models)
    gr.Markdown(EXPLAIN)
    gr.Examples(text_examples(), inputs=[text_a, text_b], label="Examples (not from the training data)")
    state = gr.State({})

    def run(text_a: str, text_b: str, model_name: str, use_saved_threshold: bool = True, threshold: float = 0.5,
            request: gr.Request = None):
        """Compare two texts; returns the decision at once (the word colours follow from /explain_texts)."""
        return compare_texts(text_a, text_b, model_name, use_saved_threshold, threshold,
                             common.visitor_model(store, request, model_name, "text"))

    def explain(payload=None, request: gr.Request = None):
        """This visitor's last comparison among the validation pairs, and leave-one-word-out colours
        for both texts (after the decision, in its own queue)."""
        (text_a, text_b), m = common.compared_pair(store, request, payload, "text")
        return common.explanation_view(m, text_a, text_b, payload, "text", lambda: explain_texts(text_a, text_b, m))

    common.encoder_comparison("Compare encoders on this pair (pretrained vs trained here)", "text",
                              [text_a, text_b], lambda a, b: compare_encoders(a, b, tab_models),
                              "compare_text_encoders")

    with gr.Accordion("Find the closest of many sentences (one-against-many search)", open=False):
        gr.Markdown(f"The **first text** is the query. Candidates: one per line, or leave empty for "
                    f"{GALLERY['text']}.")
        cands = gr.Textbox(label="Candidates (one per line)", lines=5, placeholder="\n".join(TEXT_GALLERY[:3]),
                           max_length=candidates_chars())
        search_btn = gr.Button("Search", variant="primary")
        search_md = gr.Markdown()
        search_table = gr.Dataframe(headers=common.SEARCH_COLUMNS, interactive=False, wrap=True)
        s_hl_a = gr.HighlightedText(label="The query: what each word did", show_legend=False)
        s_hl_b = gr.HighlightedText(label="The best candidate: what each word did", show_legend=False)

    def run_search(query: str, candidates: str, model_name: str, use_saved_threshold: bool = True,
                   threshold: float = 0.5, request: gr.Request = None):
        """Rank candidate sentences (one per line; empty: the bundled ten) against the first text."""
        m = common.visitor_model(store, request, model_name, "text")
        check_text(query, "the query (first text)")
        items = parse_candidates(candidates) or list(TEXT_GALLERY)
        res = search_candidates(m, query, items, items, common.threshold_arg(use_saved_threshold, threshold, m))
        ea, eb = explain_texts(query, items[res.hits[0].index], m)
        return res.to_dict(), common.search_markdown(res, m), common.search_rows(res, m), ea, eb

    common.wire_search(search_btn, common.friendly("search the candidates")(run_search),
                       [text_a, cands, model, use_saved, thr],
                       [gr.JSON(visible=False), search_md, search_table, s_hl_a, s_hl_b], "texts",
                       stale_on=[cands], threshold_controls=(thr, use_saved))
    common.wire_compare(btn, common.friendly("compare the texts")(run), [text_a, text_b, model, use_saved, thr],
                        [result_json, result_md, state], common.friendly("explain the comparison")(explain),
                        [state], [plot, hl_a, hl_b], "texts", stale_on=[text_a, text_b, model],
                        priority=priority,
                        also_clear=[search_md, search_table, s_hl_a, s_hl_b])
    common.wire_threshold(model, use_saved, thr, state, result_json, result_md, plot, about, "text", store)
    return model
