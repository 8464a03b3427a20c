"""Helpers shared by the tabs: the model catalogue, a read-only model cache, result rendering
and error messages. No per-visitor state lives here: visitors' choices travel in components
and ``gr.State``; the cached models are shared and never modified."""
from __future__ import annotations

import collections
import functools
import logging
import threading
from typing import Any, Callable

import gradio as gr

import siamese_demo as sd
from siamese_demo import catalogue
from siamese_demo.distances import format_distance, round_distance, score_from_distance
from siamese_demo.errors import DataError

log = logging.getLogger("siamese_demo.ui")
_LOAD_LOCK = threading.Lock()  # guards _NAME_LOCKS only, held for a moment
_NAME_LOCKS: dict[str, threading.Lock] = {}  # one per model name: a model is loaded once, and a slow first load
# (a Hub download) keeps only the visitors of that model waiting, never the cache hits of the others
YOURS = "yours: "
ERROR_SECONDS = 8  # an error message shows once and goes away, instead of following the visitor around


def choices(modality: str) -> list[str]:
    """The models offered on a tab to every visitor (shipped, and the Hub allowlist on a Space)."""
    return catalogue.offered(modality)


@functools.lru_cache(maxsize=16)
def _load(name: str):
    if name.startswith("hub:"):
        return sd.load(name).eval()
    return sd.load(sd.MODELS_DIR / name).eval()  # a shipped folder, never a path from a request


def get_model(name: str, modality: str | None = None):
    """A shared, read-only model (loaded once, on first use); only names the catalogue offers."""
    if modality is None:
        modality = next((m for m in catalogue.MODALITIES if name in catalogue.offered(m)), catalogue.MODALITIES[0])
    catalogue.check_offered(name, modality)
    with _LOAD_LOCK:
        lock = _NAME_LOCKS.setdefault(name, threading.Lock())
    with lock:
        return _load(name)


def owner(request) -> str:
    """The visitor a request belongs to (its session); "local" for calls without one."""
    return getattr(request, "session_hash", None) or "local"


def own_models(store, request, modality: str) -> dict[str, Any]:
    """This visitor's fine-tuned models of one modality (no other visitor can reach them)."""
    if store is None:
        return {}
    return {n: m for n, m in store.models(owner(request)).items() if m.modality == modality}


def photo_model_besides(name: str) -> Callable[[], str | None]:
    """A function that names an offered image model other than ``name`` that knows photos (it loads
    candidates to look: call it only when a warning needs the name)."""
    from siamese_demo.domain import photo_model

    return lambda: photo_model([n for n in choices("image") if n != name], lambda n: get_model(n, "image"))


def visitor_model(store, request, name: Any, modality: str):
    """A model this visitor was offered on this tab: a shipped model of the tab's modality (shared,
    read-only), a Hub model where enabled, or one this visitor fine-tuned. Anything else (another
    modality, a path, another visitor's model) gets the catalogue's one refusal, before any loading."""
    own = own_models(store, request, modality)
    catalogue.check_offered(name, modality, own)
    if name in own:
        return own[name]
    return get_model(name, modality)


def warm_up(modality_names: list[str]) -> None:
    """Load the shipped models in a background thread so that first comparisons are fast."""
    def run():
        for n in modality_names:
            try:
                get_model(n)
            except Exception:  # noqa: BLE001 - a model that fails to load reports on use
                log.exception("warm-up of %s failed", n)

    threading.Thread(target=run, daemon=True, name="model-warm-up").start()


def friendly(action: str) -> Callable:
    """Turn known input errors into a gr.Error with their message; log anything else and show a
    short message instead of a stack trace."""
    def wrap(fn):
        @functools.wraps(fn)
        def inner(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except gr.Error:
                raise
            except (DataError, sd.CheckpointError) as exc:
                raise gr.Error(str(exc), title=f"Cannot {action}", duration=ERROR_SECONDS) from None
            except Exception as exc:  # noqa: BLE001
                from siamese_demo.hub import HubUnavailable

                if isinstance(exc, HubUnavailable):
                    raise gr.Error(str(exc), title="Model not available offline") from None
                # unexpected: the traceback goes to the server log, the visitor gets no internals
                log.exception("error while trying to %s", action)
                raise gr.Error(f"Something went wrong while trying to {action}; it was logged on the server. "
                               "Please check your inputs or try others.", title="Error", duration=ERROR_SECONDS) from None
        return inner
    return wrap


def slider_settings(name: str | None, model=None) -> dict[str, float]:
    """Threshold slider range and start value for a model, from its config.json (no loading) or
    the model itself: 0 .. a bit beyond its largest validation distance, starting at its threshold."""
    cfg = catalogue.shipped_configs().get(name or "")
    if model is not None:
        cfg = {"head": model.head is not None, "distance": model.distance, "info": model.info,
               "threshold": model.threshold}
    from siamese_demo.distances import distance_range
    from siamese_demo.siamese import DEFAULT_THRESHOLDS

    if cfg is None:  # a Hub model: cosine distance, default threshold, the whole range
        return {"minimum": 0.0, "maximum": distance_range("cosine")[1], "value": DEFAULT_THRESHOLDS["cosine"],
                "step": 0.01}
    kind = "head" if cfg["head"] else cfg["distance"]
    vd = cfg.get("info", {}).get("validation_distances", {})
    thr = cfg["threshold"] if cfg.get("threshold") is not None else DEFAULT_THRESHOLDS[kind]
    top = max(list(vd.get("positive", [])) + list(vd.get("negative", [])) + [thr * 2, 1e-6]) * 1.1
    highest = distance_range(kind)[1]  # a cosine distance is at most 2, a pair head's 1 - p at most 1
    top = highest if kind == "head" else min(top, highest)
    return {"minimum": 0.0, "maximum": round_distance(top), "value": round_distance(thr),
            "step": float(f"{top / 200:.2g}")}


def controls(tab_models: list[str]):
    """Model picker, its summary and the threshold controls (below the inputs and the answer)."""
    with gr.Row():
        with gr.Column(min_width=200):
            model = gr.Dropdown(tab_models, value=tab_models[0] if tab_models else None, label="Encoder (model)",
                                allow_custom_value=True)  # a visitor's fine-tuned models are added per visitor
            about = gr.Markdown(model_summary(tab_models[0]) if tab_models else "No model shipped for this tab.")
        with gr.Column(min_width=200):
            use_saved = gr.Checkbox(True, label="Use the model's saved threshold")
            thr = threshold_slider(tab_models)
    return model, about, use_saved, thr


def result_area():
    """The structured result (hidden, for the API), its explanation and the distribution plot."""
    return (gr.JSON(label="Result", visible=False), gr.Markdown(EMPTY_RESULT),
            gr.Plot(label="This pair among the model's validation pairs"))


def threshold_slider(choices_: list[str]) -> gr.Slider:
    from .components import CheckedSlider

    return CheckedSlider(label="Threshold (distance): same when distance ≤ threshold", interactive=True,
                     **slider_settings(choices_[0] if choices_ else None))


def result_payload(model_name: str, model, r, own_threshold: bool = False) -> dict[str, Any]:
    return {"model": model_name, "exact_distance": float(r.distance),  # server side only (see PRIVATE)
            "score": round(r.score, 4), "distance": round_distance(r.distance),
            "threshold": round_distance(r.threshold), "same": r.same, "decision": "same" if r.same else "different",
            "confidence": round(r.confidence, 4), "p_same": round(r.p_same, 4), "distance_kind": r.distance_kind,
            "calibrated": r.calibrated, "threshold_source": "yours" if own_threshold else "model"}


def check_threshold(value: Any, model) -> float:
    """A threshold the visitor sent: a finite number within the range of the model's distance."""
    from siamese_demo.distances import distance_range
    from siamese_demo.limits import check_number

    kind = "head" if model.head is not None else model.distance
    lo, hi = distance_range(kind)
    return float(check_number(value, f"threshold ({kind} distance)", lo, hi))


def threshold_arg(use_saved: Any, value: Any, model) -> float | None:
    """The threshold a comparison uses: None for the model's saved one, else the checked value."""
    return None if use_saved is None or bool(use_saved) else check_threshold(value, model)


def decide(payload: dict[str, Any], threshold: float, source: str = "yours") -> dict[str, Any]:
    """Re-apply a new threshold to a stored result (no re-embedding)."""
    if not payload or not isinstance(payload, dict) or "distance" not in payload:
        return {}
    from siamese_demo.siamese import decide as core_decide

    out = dict(payload)
    # the unrounded distance: no flip at the edge
    same, confidence = core_decide(payload.get("exact_distance", payload["distance"]), threshold, payload["p_same"])
    out.update(threshold=round_distance(threshold), same=same, decision="same" if same else "different",
               confidence=round(confidence, 4), threshold_source=source)
    out["threshold_score"] = round(float(score_from_distance(threshold, payload["distance_kind"])), 4)
    return out


SUBJECT = {"image": ("character", "characters"), "text": ("meaning", "meanings"),
           "timeseries": ("pattern", "patterns")}
EMPTY_RESULT = "*Give two inputs and press **Compare**.*"
STALE_RESULT = "*The inputs, the model or the threshold changed: press **Compare** for a new answer.*"


def sure_percent(p: float) -> str:
    """A probability as a percentage that never claims certainty: '>99 %' / '<1 %' at the ends."""
    return ">99 %" if p > 0.99 else "<1 %" if p < 0.01 else f"{p:.0%}".replace("%", " %")


def result_markdown(payload: dict[str, Any], model) -> str:
    """One plain answer: the verdict and how sure, one sentence of why, the numbers beneath."""
    if not payload:
        return EMPTY_RESULT
    same = payload["same"]
    one, many = model.info.get("subject") or SUBJECT.get(model.modality, ("item", "items"))
    if payload.get("warnings"):  # outside what the model knows: no confident answer
        said = f"same {one}" if same else f"different {many}"
        notes = "\n".join(f"- {w[0].upper() + w[1:]}." for w in payload["warnings"])
        return (f"### ⚠️ [outside what this model knows] No reliable answer\n\n{notes}\n\n"
                f"For the record, the model would say *{said}* (distance {format_distance(payload['distance'])}, "
                f"threshold {format_distance(payload['threshold'])}), but do not trust it for inputs like these.")
    verdict = f"Same {one}" if same else f"Different {many}"
    mark = "✅ [same]" if same else "❌ [different]"
    if payload["confidence"] >= 0.5:
        sure = f"{sure_percent(payload['confidence'])} sure" + ("" if payload["calibrated"] else
                                                                " (a rough guess: this model has no calibration)")
    else:  # a threshold (the visitor's) on the other side of where the model's calibration says 50 %
        sure = (f"by the threshold, though the model's {'calibration' if payload['calibrated'] else 'rough guess'} "
                f"gives only {sure_percent(payload['confidence'])} for that")
    rel = "at most" if same else "more than"
    fitted = model.info.get("references") if payload.get("references") else None
    if payload.get("threshold_source") == "yours":
        whose = (f"**your threshold** of {format_distance(payload['threshold'])} (the model's own is "
                 f"{format_distance(fitted['threshold'] if fitted else model.effective_threshold())})")
    elif payload.get("references"):
        whose = (f"the model's threshold for several references, {format_distance(payload['threshold'])}, chosen by "
                 f"{fitted['policy'].replace('_', ' ')} on {fitted['data']}" if fitted else
                 f"the model's pair threshold of {format_distance(payload['threshold'])} (none was fitted to "
                 "several references for this model: a rough guide)")
    else:
        policy, where = model.info.get("threshold_policy"), model.info.get("threshold_data")
        whose = (f"the model's threshold of {format_distance(payload['threshold'])}"
                 + (f", chosen by {policy.replace('_', ' ')} on {where}" if policy else ", a default not chosen on data"))
    apart = (f"The embedding is {format_distance(payload['distance'])} from the mean of the {payload['references']} "
             "references' embeddings" if payload.get("references") else
             f"The two embeddings are {format_distance(payload['distance'])} apart")
    return (
        f"### {mark} {verdict}, {sure}\n\n"
        f"{apart} ({payload['distance_kind']} distance), {rel} {whose}.\n\n"
        f"<small><abbr title='lower = more alike'>distance</abbr> {payload['distance']} · "
        f"<abbr title='same when distance is at most this'>threshold</abbr> {payload['threshold']} · "
        f"<abbr title='logistic fit of p(same | distance) on the model validation pairs'>p(same)</abbr> "
        f"{payload['p_same']:.2f}</small>"
        + "".join(f"\n\n{note}" for note in payload.get("notes", []))
    )


def explanation_view(model, a: Any, b: Any, payload: dict[str, Any] | None, tab: str, build: Callable) -> tuple:
    """A tab's whole explanation output (the distribution plot first, then ``build()``'s views), cached
    per model, pair and threshold: the figures are the expensive part (tens of ms of plotly each)."""
    from siamese_demo.explain import cached_call

    payload = payload or {}
    return cached_call(model, a, b, f"view:{tab}:{payload.get('threshold')}",
                       lambda: (distribution_plot(payload, model), *build()))


def distribution_plot(payload: dict[str, Any], model):
    from siamese_demo.plots import distance_on_distributions

    if not payload:
        return None
    vd = model.info.get("validation_distances", {})
    return distance_on_distributions(vd.get("positive", []), vd.get("negative", []), payload["distance"],
                                     payload["threshold"], payload["distance_kind"])


def model_summary(name: str, model=None) -> str:
    """Next to the picker: what the model is for, its size and its held-out figure (or why it is
    unavailable here)."""
    cfg = catalogue.shipped_configs().get(name)
    if model is not None:
        rep = model.info.get("finetune_report", {}).get("test", {}).get("finetuned", {})
        return (f"`{name}`: your fine-tuned {type(model.encoder).__name__.replace('Encoder', '')} model "
                f"({model.num_parameters():,} parameters, {model.distance} distance)"
                + (f"; test AUC {rep['auc']:.3f}." if "auc" in rep else "."))
    if cfg is None:
        return f"`{name}`: a pretrained Hub model (downloaded on first use)."
    ok, why = catalogue.availability(name)
    if not ok:
        return f"`{name}` is **unavailable here**: {why}. The other models work as usual."
    head = catalogue.headline(name)
    return (f"`{name}`: {catalogue.domain(name)} {cfg['num_parameters']:,} parameters"
            + (f"; {head}." if head else "."))


# the answer first: on a phone the first two or three columns are what shows before scrolling sideways
ENCODER_COLUMNS = ["model", "decision", "p(same)", "ms", "distance", "threshold", "parameters", "encoder",
                   "held-out quality"]


def encoder_table(models: list[str], a: Any, b: Any, modality: str) -> list[list]:
    """Score one pair with every model of a tab: p(same) (each model's own calibration, so the models can be
    set side by side, unlike their distances), distance, decision, parameters and time taken."""
    import time

    rows = []
    for name in models:
        model = get_model(name, modality)
        t = time.perf_counter()
        r = model.compare(a, b)
        ms = (time.perf_counter() - t) * 1000
        row = {"model": name, "decision": "same" if r.same else "different", "p(same)": round(r.p_same, 3),
               "ms": round(ms, 1), "distance": round_distance(r.distance), "threshold": round_distance(r.threshold),
               "parameters": f"{model.num_parameters():,}",
               "encoder": type(model.encoder).__name__.replace("Encoder", ""),
               "held-out quality": catalogue.headline(name) or "-"}
        rows.append([row[c] for c in ENCODER_COLUMNS])
    return rows


def encoder_comparison(title: str, what: str, inputs: list, compare: Callable, api_name: str) -> None:
    """An accordion that scores the tab's inputs with every model of the tab, as a table."""
    with gr.Accordion(title, open=False):
        button = gr.Button(f"Score with every {what} encoder")
        table = gr.Dataframe(headers=ENCODER_COLUMNS, interactive=False,
                             label="Every model on this pair (on a phone, scroll sideways for more columns)")
    button.click(friendly("compare the encoders")(compare), inputs, table, api_name=api_name)


# Explanations (occlusion maps, leave-one-out words, series shading and the plots: dozens of forward
# passes, batched) run one at a time in their own queue, cached per model, pair and threshold, and wait
# up to 0.25 s while decisions run (jobs.Priority), so they never hold up a decision. Decisions (two
# forward passes, 4-16 ms of model time) run four at a time per tab. The explanation request carries
# no inputs: it explains the pair kept in the visitor's state. Measured with benchmarks/latency.py
# (16 gradio_client visitors x 25 comparisons, every pair distinct, app.py in its own process, 2 cores,
# 2026-11-27): p95 601-748 ms to the decision and 2195-2816 ms to the explanation over four runs.
# Two explanations at a time, torch at one thread, or a 0.1 s wait were no better (README, Speed).
# Simultaneous decisions are not batched into one forward pass (Gradio's batch=True): a decision is
# 4-16 ms of model time out of 35-54 ms of server CPU per request, so a batch would save little and
# every visitor in it would wait for the slowest input.
# The visitors' own client threads use more than half of the CPU in that run (printed by the benchmark).
EXPLAIN_CONCURRENCY = 1
DECISION_CONCURRENCY = 4


def prioritized(fn: Callable, section: Callable | None) -> Callable:
    """Run ``fn`` inside ``section()`` (a Priority's decision or explanation), when there is one."""
    if section is None:
        return fn

    @functools.wraps(fn)
    def inner(*args, **kwargs):
        with section():
            return fn(*args, **kwargs)
    return inner


def wire_compare(button, run: Callable, inputs: list, decision_out: list, explain: Callable, explain_in: list,
                 explain_out: list, name: str, stale_on: list, priority=None, also_clear: list = ()) -> None:
    """Compare: clear the old result, answer at once (/compare_<name>: result, sentence; the result and
    the pair compared are kept in the visitor's state), then explain that comparison (/explain_<name>,
    no inputs of its own, its own queue: where the pair falls among the validation pairs, and the
    heatmaps / word colours / shading). Any change of an input or the model clears the result; an
    error replaces it, in the result area of its tab (not as a toast). ``run`` returns (result,
    sentence, pair); ``decision_out`` is [result_json, result_md, state]; ``explain_in`` is [state],
    ``explain_out`` starts with the distribution plot. ``also_clear``: outputs of the tab's search, which
    the same changes clear (one listener per input: two made the page's updates race each other)."""
    n_explain = len(explain_out) + len(also_clear)

    def clear():
        return (gr.update(value={}), STALE_RESULT, {}, *([None] * n_explain))

    def clear_for_new():
        return (gr.update(value={}), "*Comparing…*", {}, *([None] * len(explain_out)),
                *([gr.update()] * len(also_clear)))

    targets = decision_out + explain_out + list(also_clear)
    for comp in stale_on:
        comp.change(clear, None, targets, queue=False, show_progress="hidden", api_visibility="private")
    decide = with_state(prioritized(run, priority and priority.decision))
    decided = _answer_inline(button, clear_for_new, targets, decide, inputs, decision_out,
                             lambda md: (gr.update(value={}), md, {}), api_name=f"compare_{name}",
                             concurrency_limit=DECISION_CONCURRENCY, show_progress="hidden")
    decided.success(prioritized(explain, priority and priority.explanation), explain_in, explain_out,
                    api_name=f"explain_{name}", concurrency_id="explain", concurrency_limit=EXPLAIN_CONCURRENCY,
                    show_progress="minimal")


def _answer_inline(button, placeholder: Callable, targets: list, fn: Callable, inputs: list, outputs: list,
                   error_view: Callable[[str], tuple], **event):
    """``button`` shows ``placeholder()`` in ``targets`` at once, then runs ``fn`` (an API endpoint with
    ``event``'s options); if ``fn`` fails, its message goes into ``outputs`` through
    ``error_view(markdown)`` on this tab instead of a toast (see :class:`LastErrors`)."""
    errors = LastErrors()

    def show_error(request: gr.Request = None):
        return error_view(error_markdown(*errors.pop(request)))

    done = button.click(placeholder, None, targets, queue=False, show_progress="hidden", api_visibility="private").then(
        errors.inline(fn), inputs, outputs, **event)
    done.failure(show_error, None, outputs, queue=False, show_progress="hidden", api_visibility="private")
    return done


STALE_AT_THRESHOLD = "*The threshold changed: run it again for an answer at the new threshold.*"


def wire_search(button, fn: Callable, inputs: list, outputs: list, name: str, stale_on: list,
                api_name: str | None = None, working: str = "*Searching…*", threshold_controls: tuple = ()) -> None:
    """Search (/search_<name>, or ``api_name``): ``outputs`` are [ranking_json, answer_md, ...views]. The old
    ranking goes away when the candidates change (``stale_on``; the query and the model are the comparison's
    inputs, whose listeners clear it too: ``wire_compare(also_clear=...)``); an error replaces it in the
    answer's place, on its tab (not as a toast). Runs in the explanations' queue. The several-references
    comparison is wired the same way. ``threshold_controls`` (the slider, the saved-threshold box): moving one
    marks the answer stale, since it decided at the old threshold."""
    rest = [None] * (len(outputs) - 2)
    for comp in stale_on:
        comp.change(lambda: (None, "", *rest), None, outputs, queue=False, show_progress="hidden",
                    api_visibility="private")
    for comp, event in zip(threshold_controls, ("release", "input")):
        getattr(comp, event)(lambda: (None, STALE_AT_THRESHOLD, *rest), None, outputs, queue=False,
                             show_progress="hidden", api_visibility="private")
    _answer_inline(button, lambda: (None, working, *rest), outputs, fn, inputs, outputs,
                   lambda md: (None, md, *rest), api_name=api_name or f"search_{name}", concurrency_id="explain",
                   concurrency_limit=EXPLAIN_CONCURRENCY, show_progress="minimal")


class LastErrors:
    """The last error of each visitor on one event of one tab, so that the page shows it in place of
    the result instead of as a toast. Bounded (API clients never collect theirs); one per event, made by
    ``_answer_inline``, so nothing is shared between apps."""

    def __init__(self, max_entries: int = 1000):
        self._items: collections.OrderedDict = collections.OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries

    def inline(self, fn: Callable) -> Callable:
        """``fn`` with its gr.Error kept for the page and re-raised without a toast (API clients still
        get the message)."""
        @functools.wraps(fn)
        def inner(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except gr.Error as exc:
                req = next((a for a in (*args, *kwargs.values()) if isinstance(a, gr.Request)), None)
                with self._lock:
                    key = owner(req)
                    self._items[key] = (exc.title, exc.message)
                    self._items.move_to_end(key)
                    while len(self._items) > self._max:
                        self._items.popitem(last=False)
                raise gr.Error(exc.message, title=exc.title, duration=exc.duration, visible=False,
                               print_exception=False) from None
        return inner

    def pop(self, request) -> tuple[str, str]:
        with self._lock:
            got = self._items.pop(owner(request), None)
        return got or ("Error", "Something went wrong; please try again.")


def error_markdown(title: str, message: str) -> str:
    return f"### ⚠️ [error] {title}\n\n{message}"


SEARCH_COLUMNS = ["rank", "candidate", "decision", "p(same)", "distance"]


def search_rows(res, model) -> list[list]:
    """The ranked candidates: distance, the model's p(same) for it, decision."""
    return [[h.rank, h.name, h.decision, round(model.p_same(h.distance)[0], 3), round_distance(h.distance)]
            for h in res.hits]


def _others_within(n: int) -> str:
    return ("no other candidate is." if n == 0 else "1 other candidate is too." if n == 1 else
            f"{n} other candidates are too.")


def search_markdown(res, model) -> str:
    """The search's plain answer: the match and how sure, or "no match"."""
    one, _ = model.info.get("subject") or SUBJECT.get(model.modality, ("item", "items"))
    best = res.hits[0]
    if res.match is not None:
        p, calibrated = model.p_same(best.distance)
        return (f"### ✅ [match] Best match: **{best.name}**, {sure_percent(p)} sure it is the same {one}"
                + ("" if calibrated else " (a rough guess: this model has no calibration)")
                + f"\n\nIts distance {format_distance(best.distance)} is within the threshold "
                f"{format_distance(res.threshold)}; "
                + _others_within(sum(h.same for h in res.hits) - 1) + " Candidates ranked below.")
    return (f"### ❌ [no match] No match among {len(res.hits)} candidates\n\nThe closest, **{best.name}**, is "
            f"{format_distance(best.distance)} away, more than the threshold {format_distance(res.threshold)}. "
            "Candidates ranked below.")


def with_state(fn: Callable) -> Callable:
    """``fn`` returns (result, sentence, pair); the page gets the result and the sentence, the visitor's
    gr.State gets the result with the pair (server side only: paths and arrays never go out)."""
    @functools.wraps(fn)
    def inner(*args, **kwargs):
        payload, md, pair = fn(*args, **kwargs)
        return public(payload), md, {**payload, "pair": pair}
    return inner


PRIVATE = ("pair", "exact_distance")  # kept in the visitor's state, never sent: the pair compared and the
#                                      unrounded distance that a new threshold is applied to


def public(payload: dict[str, Any]) -> dict[str, Any]:
    """A stored result as the page shows it: without what :data:`PRIVATE` keeps server side."""
    return {k: v for k, v in (payload or {}).items() if k not in PRIVATE}


def compared_pair(store, request, payload: dict[str, Any] | None, modality: str):
    """The visitor's last comparison (kept in its state by the decision) and its model."""
    if not payload or not isinstance(payload, dict) or "pair" not in payload:
        raise DataError("there is nothing to explain yet: the explanation is of this visitor's last comparison, "
                        "so compare two inputs first")
    return payload["pair"], visitor_model(store, request, payload["model"], modality)


def wire_threshold(model_dd, use_saved, thr, state, result_json, result_md, plot, about, modality: str,
                   store=None) -> None:
    """Model picker and threshold controls: all per visitor (component values and gr.State)."""
    def on_model(name, request: gr.Request = None):
        if not name:
            return gr.update(), gr.update(), gr.update()
        own = own_models(store, request, modality)
        catalogue.check_offered(name, modality, own)
        model = own.get(name)  # shipped: config only, no loading
        return gr.update(**slider_settings(name, model)), True, model_summary(name, model)

    def on_threshold(name, value, payload, request: gr.Request = None):
        model = visitor_model(store, request, name, modality)
        new = decide(payload, check_threshold(value, model))
        return False, public(new), result_markdown(new, model), distribution_plot(new, model), new

    def on_saved(name, checked, payload, request: gr.Request = None):
        model = visitor_model(store, request, name, modality)
        if not checked:
            return gr.update(), public(payload), gr.update(), gr.update(), payload
        new = decide(payload, model.effective_threshold(), "model")
        return (gr.update(value=round_distance(model.effective_threshold())), public(new),
                result_markdown(new, model), distribution_plot(new, model), new)

    model_dd.change(friendly("load the model")(on_model), model_dd, [thr, use_saved, about],
                    api_name=f"select_model_{modality}")
    thr.release(friendly("apply the threshold")(on_threshold), [model_dd, thr, state],
                [use_saved, result_json, result_md, plot, state], api_name=f"set_threshold_{modality}")
    use_saved.input(friendly("apply the threshold")(on_saved), [model_dd, use_saved, state],
                    [thr, result_json, result_md, plot, state], api_name=f"use_saved_threshold_{modality}")
