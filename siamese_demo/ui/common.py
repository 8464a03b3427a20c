"""Helpers shared by the tabs: the model catalogue, a read-only model cache, result rendering
and error messages. No per-visitor state lives here: visitors' choices travel in components
and ``gr.State``; the cached models are shared and never modified."""
from __future__ import annotations

import functools
import json
import logging
import os
import threading
from typing import Any, Callable

import gradio as gr

import siamese_demo as sd
from siamese_demo import catalogue
from siamese_demo.errors import DataError

log = logging.getLogger("siamese_demo.ui")
_LOAD_LOCK = threading.Lock()
YOURS = "yours: "


def model_configs() -> dict[str, dict[str, Any]]:
    """config.json of every shipped model (read once; no torch needed)."""
    return catalogue.shipped_configs()


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
        return _load(name)


def own_models(store, request, modality: str) -> dict[str, Any]:
    """This visitor's fine-tuned models of one modality (no other visitor can reach them)."""
    if store is None:
        return {}
    owner = getattr(request, "session_hash", None) or "local"
    return {n: m for n, m in store.models(owner).items() if m.modality == modality}


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
                raise gr.Error(str(exc), title=f"Cannot {action}") from None
            except Exception as exc:  # noqa: BLE001
                from siamese_demo.hub import HubUnavailable

                if isinstance(exc, HubUnavailable):
                    raise gr.Error(str(exc), title="Model not available offline") from None
                # unexpected: the traceback goes to the server log, the visitor gets no internals
                log.exception("error while trying to %s", action)
                raise gr.Error(f"Something went wrong while trying to {action}; it was logged on the server. "
                               "Please check your inputs or try others.", title="Error") from None
        return inner
    return wrap


def slider_settings(name: str | None, model=None) -> dict[str, float]:
    """Threshold slider range and start value for a model, from its config.json (no loading) or
    the model itself: 0 .. a bit beyond its largest validation distance, starting at its threshold."""
    cfg = model_configs().get(name or "")
    if model is not None:
        cfg = {"head": model.head is not None, "distance": model.distance, "info": model.info,
               "threshold": model.threshold}
    if cfg is None:  # a Hub model: cosine distance, default threshold
        return {"minimum": 0.0, "maximum": 2.0, "value": 0.5, "step": 0.01}
    from siamese_demo.siamese import DEFAULT_THRESHOLDS

    kind = "head" if cfg["head"] else cfg["distance"]
    vd = cfg.get("info", {}).get("validation_distances", {})
    thr = cfg["threshold"] if cfg.get("threshold") is not None else DEFAULT_THRESHOLDS[kind]
    top = max(list(vd.get("positive", [])) + list(vd.get("negative", [])) + [thr * 2, 1e-3]) * 1.1
    top = 1.0 if kind == "head" else min(top, 2.0) if kind == "cosine" else top
    return {"minimum": 0.0, "maximum": round(top, 4), "value": round(thr, 4), "step": round(top / 200, 5)}


def controls(tab_models: list[str]):
    """The right-hand column of a tab: model picker, its summary, threshold controls, Compare."""
    model = gr.Dropdown(tab_models, value=tab_models[0] if tab_models else None, label="Encoder (model)",
                        allow_custom_value=True)  # a visitor's fine-tuned models are added per visitor
    about = gr.Markdown(model_summary(tab_models[0]) if tab_models else "No model shipped for this tab.")
    use_saved = gr.Checkbox(True, label="Use the model's saved threshold")
    thr = threshold_slider(tab_models)
    btn = gr.Button("Compare", variant="primary")
    return model, about, use_saved, thr, btn


def result_area():
    """The structured result (hidden, for the API), its explanation and the distribution plot."""
    return (gr.JSON(label="Result", visible=False), gr.Markdown(result_markdown({}, None)),
            gr.Plot(label="This pair among the model's validation pairs"))


def threshold_slider(choices_: list[str]) -> gr.Slider:
    return gr.Slider(label="Threshold (distance): same when distance ≤ threshold", interactive=True,
                     **slider_settings(choices_[0] if choices_ else None))


def result_payload(model_name: str, model, r) -> dict[str, Any]:
    return {"model": model_name, "score": round(r.score, 4), "distance": round(r.distance, 4),
            "threshold": round(r.threshold, 4), "same": r.same, "decision": "same" if r.same else "different",
            "confidence": round(r.confidence, 4), "p_same": round(r.p_same, 4), "distance_kind": r.distance_kind,
            "calibrated": r.calibrated}


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


def decide(payload: dict[str, Any], threshold: float) -> dict[str, Any]:
    """Re-apply a new threshold to a stored result (no re-embedding)."""
    if not payload or not isinstance(payload, dict) or "distance" not in payload:
        return {}
    from siamese_demo.distances import score_from_distance

    out = dict(payload)
    same = payload["distance"] <= threshold
    p = payload["p_same"]
    out.update(threshold=round(float(threshold), 4), same=bool(same), decision="same" if same else "different",
               confidence=round(p if same else 1 - p, 4))
    out["threshold_score"] = round(float(score_from_distance(threshold, payload["distance_kind"])), 4)
    return out


def result_markdown(payload: dict[str, Any], model) -> str:
    if not payload:
        return "*Give two inputs and press **Compare**.*"
    same = payload["same"]
    head = "### ✅ Same" if same else "### ❌ Different"
    rel = "at or below" if same else "above"
    policy = model.info.get("threshold_policy")
    where = model.info.get("threshold_data")
    chosen = f" (chosen by *{policy}* on {where})" if policy else " (the model's default; not calibrated)"
    conf = f"{payload['confidence']:.0%}"
    return (
        f"{head}\n\n"
        f"| similarity score | distance | threshold | confidence |\n|---|---|---|---|\n"
        f"| **{payload['score']:.3f}** | {payload['distance']:.4f} | {payload['threshold']:.4f} | {conf} |\n\n"
        f"**Why:** the {payload['distance_kind']} distance between the two embeddings is {payload['distance']:.4f}, "
        f"{rel} the threshold {payload['threshold']:.4f}{chosen}. "
        f"The score maps distance to [0, 1] (higher = more similar). Confidence is the probability that this "
        f"decision is right, from a logistic fit of p(same | distance) on the model's validation pairs"
        f"{'' if payload['calibrated'] else ' (this model has none, so it is a rough guess)'}: "
        f"p(same) = {payload['p_same']:.2f}."
    )


def distribution_plot(payload: dict[str, Any], model):
    from siamese_demo.plots import distance_on_distributions

    if not payload:
        return None
    vd = model.info.get("validation_distances", {})
    return distance_on_distributions(vd.get("positive", []), vd.get("negative", []), payload["distance"],
                                     payload["threshold"], payload["distance_kind"])


def model_summary(name: str, model=None) -> str:
    cfg = model_configs().get(name)
    if model is not None:
        rep = model.info.get("finetune_report", {}).get("test", {}).get("finetuned", {})
        return (f"`{name}`: your fine-tuned {type(model.encoder).__name__.replace('Encoder', '')} model "
                f"({model.num_parameters():,} parameters, {model.distance} distance)"
                + (f"; test AUC {rep['auc']:.3f}." if "auc" in rep else "."))
    if cfg is None:
        return f"`{name}`: a pretrained Hub model (downloaded on first use)."
    info = cfg.get("info", {})
    vm = info.get("validation_metrics", {})
    bits = [f"`{name}`: {cfg['encoder']['name']} encoder, {cfg['num_parameters']:,} parameters, "
            f"{cfg['distance']} distance"]
    if vm:
        bits.append(f"validation AUC {vm.get('auc', float('nan')):.3f}")
    return "; ".join(bits) + "."


ENCODER_COLUMNS = ["model", "encoder", "score", "distance", "threshold", "decision", "parameters", "ms"]


def encoder_table(models: list[str], a: Any, b: Any, modality: str) -> list[list]:
    """Score one pair with every model of a tab: score, decision, parameters and time taken."""
    import time

    rows = []
    for name in models:
        model = get_model(name, modality)
        t = time.perf_counter()
        r = model.compare(a, b)
        ms = (time.perf_counter() - t) * 1000
        rows.append([name, type(model.encoder).__name__.replace("Encoder", ""), round(r.score, 4),
                     round(r.distance, 4), round(r.threshold, 4), "same" if r.same else "different",
                     f"{model.num_parameters():,}", round(ms, 1)])
    return rows


def encoder_comparison(title: str, what: str, inputs: list, compare: Callable, api_name: str) -> None:
    """An accordion that scores the tab's inputs with every model of the tab, as a table."""
    with gr.Accordion(title, open=False):
        button = gr.Button(f"Score with every {what} encoder")
        table = gr.Dataframe(headers=ENCODER_COLUMNS, interactive=False)
    button.click(friendly("compare the encoders")(compare), inputs, table, api_name=api_name)


def with_state(fn: Callable) -> Callable:
    """Also return the result payload (first output) for the visitor's gr.State."""
    @functools.wraps(fn)
    def inner(*args):
        out = fn(*args)
        return (*out, out[0])
    return inner


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
        return False, new, result_markdown(new, model), distribution_plot(new, model), new

    def on_saved(name, checked, payload, request: gr.Request = None):
        model = visitor_model(store, request, name, modality)
        if not checked:
            return gr.update(), payload, gr.update(), gr.update(), payload
        new = decide(payload, model.effective_threshold())
        return (gr.update(value=round(model.effective_threshold(), 4)), new, result_markdown(new, model),
                distribution_plot(new, model), new)

    model_dd.change(friendly("load the model")(on_model), model_dd, [thr, use_saved, about],
                    api_name=f"select_model_{modality}")
    thr.release(friendly("apply the threshold")(on_threshold), [model_dd, thr, state],
                [use_saved, result_json, result_md, plot, state], api_name=f"set_threshold_{modality}")
    use_saved.input(friendly("apply the threshold")(on_saved), [model_dd, use_saved, state],
                    [thr, result_json, result_md, plot, state], api_name=f"use_saved_threshold_{modality}")
