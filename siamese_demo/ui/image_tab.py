"""Image pairs tab: upload / webcam / clipboard or draw each image, compare, see why; and search a
gallery for the best match of one image (one-against-many)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

from siamese_demo.domain import image_warning
from siamese_demo.errors import DataError
from siamese_demo.explain import cached_explanation, image_occlusion
from siamese_demo.plots import heatmap_overlay
from siamese_demo.search import search_candidates

from . import common
from .components import SafeImage
from .examples import (FACE_MODEL, GALLERY, HANDWRITING_MODEL, PHOTO_MODEL, SIGNATURE_MODEL, image_examples,
                       image_gallery, photo_examples, signature_examples)

EXPLAIN = ("**How the heatmaps are made (occlusion):** a square patch of one image is hidden (filled with "
           "its background) at every position, the distance to the other image is measured again, and red "
           "marks where hiding the patch made the two images look *less* alike. Red regions are what the "
           "model matched. Each map is drawn over the image as the model saw it: resized, and for a face model "
           "cropped to the face it found. A model that averages several views of a photo (the face model: three crop "
           "widths and the mirror image) is re-measured on its main view alone, six times faster.")


def _pick(image: Any, sketch: Any, which: str) -> Any:
    """The uploaded image if there is one, else the drawing (one step: draw, then Compare)."""
    if image is not None:
        return image
    if isinstance(sketch, dict) and sketch.get("composite") is not None:
        comp = np.asarray(sketch["composite"])
        if comp.size and comp.any():
            return comp
    raise DataError(f"the {which} image is missing: upload, take or paste one, or draw it")


def compare_images(image_a: Any, image_b: Any, model_name: str, use_saved_threshold: bool = True,
                   threshold: float = 0.5, model=None, sketch_a: Any = None, sketch_b: Any = None):
    """The decision for two images (file paths, or drawings): the result, its sentence, and the pair
    compared (kept in the visitor's state for ``explain_images``, which makes the heatmaps)."""
    a, b = _pick(image_a, sketch_a, "first"), _pick(image_b, sketch_b, "second")
    model = model or common.get_model(model_name, "image")
    r = model.compare(a, b, common.threshold_arg(use_saved_threshold, threshold, model))
    payload = common.result_payload(model_name, model, r, not use_saved_threshold)
    better = common.photo_model_besides(model_name)  # looked up only when a warning needs it
    payload["warnings"] = [w for w in (image_warning(model, a, "first", better),
                                       image_warning(model, b, "second", better)) if w]
    if getattr(model.preprocessor, "face_crop", False) and not payload["warnings"]:
        payload["notes"] = ["A face was found in both photos: the model compared the two face crops "
                            "(the explanation below shows them)."]
    return payload, common.result_markdown(payload, model), (a, b)


def compare_image_references(references: list | None, query: Any, model_name: str, model,
                             threshold: float | None = None) -> tuple[dict[str, Any], str]:
    """The decision for a query image against several references of one subject (a writer's genuine
    signatures): the distance to the mean of their embeddings (``SiameseModel.compare_to_references``, which
    refuses none or too many)."""
    paths = [str(getattr(f, "name", f)) for f in references or []]
    r = model.compare_to_references(paths, query, threshold)
    payload = common.result_payload(model_name, model, r, threshold is not None)
    payload["references"] = len(paths)
    if threshold is None and (model.info.get("references") or {}).get("spread_prior") is not None:
        payload["notes"] = ["The threshold is the model's, widened or narrowed for how much these references "
                            "differ from each other: a writer whose signatures vary is allowed more variation."]
    better = common.photo_model_besides(model_name)
    payload["warnings"] = [w for w in [image_warning(model, query, "questioned", better)]
                           + [image_warning(model, p, f"reference {i + 1}", better) for i, p in enumerate(paths)] if w]
    return payload, common.result_markdown(payload, model)


def explain_images(image_a: Any, image_b: Any, model, sketch_a: Any = None, sketch_b: Any = None,
                   payload: dict | None = None):
    """Where the pair falls among the validation pairs, and occlusion heatmaps over both images."""
    a, b = _pick(image_a, sketch_a, "first"), _pick(image_b, sketch_b, "second")

    def build():
        heat_a, heat_b, pix_a, pix_b = image_occlusion(model, a, b)
        return heatmap_overlay(pix_a, heat_a), heatmap_overlay(pix_b, heat_b)

    return common.explanation_view(model, a, b, payload, "image", build)


def search_images(query: Any, gallery: list | None, use_bundled: bool, model, threshold: float | None):
    """Rank a gallery of images (uploaded files, or the bundled 20-way set) against the query image."""
    if query is None:
        raise DataError("the query image is missing: put it in the first image box (or draw it there)")
    if gallery:
        paths = [str(getattr(f, "name", f)) for f in gallery]
        names = [Path(p).name for p in paths]
    elif use_bundled:
        paths, names = image_gallery(), [Path(p).name for p in image_gallery()]
    else:
        raise DataError("the gallery is empty: upload candidate images or tick 'use the bundled 20-way set'")
    res = search_candidates(model, query, paths, names, threshold)
    top = paths[res.hits[0].index]
    return res, top


def _side(which: str):
    """One input column: an image (upload / webcam / clipboard), or a drawing instead."""
    with gr.Column(min_width=160):
        image = SafeImage(label=f"{which.capitalize()} image", type="filepath",
                          sources=["upload", "webcam", "clipboard"], height=220)
        with gr.Accordion("…or draw it (used when no image is given)", open=False):
            sketch = gr.Sketchpad(label=f"Draw the {which} symbol", type="numpy", height=260)
    return image, sketch


def build(tab_models: list[str], store=None, priority=None) -> gr.Dropdown:
    with gr.Row():
        img_a, sk_a = _side("first")
        img_b, sk_b = _side("second")
    btn = gr.Button("Compare", variant="primary")
    result_json, result_md, plot = common.result_area()
    with gr.Row():
        heat_a = gr.Image(label="What matched: first image", interactive=False, height=220)
        heat_b = gr.Image(label="What matched: second image", interactive=False, height=220)
    model, about, use_saved, thr = common.controls(tab_models)
    gr.Markdown(EXPLAIN)
    # each example pair also picks the model it is for; only pairs for models this tab offers are shown
    for rows, labels, title in (
            (image_examples(), None, f"Handwriting examples, for {HANDWRITING_MODEL} (held-out alphabets, never seen "
                                     "in training; MIT licence)"),
            (*photo_examples(), f"Photo examples, for {FACE_MODEL} and {PHOTO_MODEL} (scikit-image's sample photos: "
                                "NASA, public domain; CC0)"),
            (*signature_examples(), f"Signature examples, for {SIGNATURE_MODEL} (synthetic: drawn here from the "
                                    "public-domain Hershey script glyphs; its measured quality is on real signatures, "
                                    "see its card)")):
        shown = [k for k, row in enumerate(rows) if row[2] in tab_models]
        if shown:
            gr.Examples([rows[k] for k in shown], inputs=[img_a, img_b, model], label=title,
                        example_labels=[labels[k] for k in shown] if labels else None)
    state = gr.State({})

    def run(image_a, image_b, model_name: str, use_saved_threshold: bool = True, threshold: float = 0.5,
            sketch_a=None, sketch_b=None, request: gr.Request = None):
        """Compare two images; returns the decision at once (the heatmaps follow from /explain_images)."""
        return compare_images(image_a, image_b, model_name, use_saved_threshold, threshold,
                              common.visitor_model(store, request, model_name, "image"), sketch_a, sketch_b)

    def explain(payload=None, request: gr.Request = None):
        """This visitor's last comparison among the validation pairs, and occlusion heatmaps over both
        images (after the decision, in its own queue)."""
        (a, b), m = common.compared_pair(store, request, payload, "image")
        return explain_images(a, b, m, payload=payload)

    inputs = [img_a, img_b, model, use_saved, thr, sk_a, sk_b]

    with gr.Accordion("Find the best match among many (one-against-many search)", open=False):
        gr.Markdown("The **first image** (or drawing) is the query. Upload candidates, or use the bundled "
                    f"20-way set: {GALLERY['image']}. You get them ranked, and **no match** when none is "
                    "within the threshold.")
        with gr.Row():
            gallery = gr.File(label="Candidate images", file_count="multiple", file_types=["image"],
                              type="filepath")
            bundled = gr.Checkbox(True, label="Use the bundled 20-way set when no candidates are uploaded")
        search_btn = gr.Button("Search", variant="primary")
        search_md = gr.Markdown()
        search_table = gr.Dataframe(headers=common.SEARCH_COLUMNS, interactive=False, wrap=True)
        with gr.Row():
            sh_a = gr.Image(label="What matched in the query", interactive=False, height=200)
            sh_b = gr.Image(label="…and in the best candidate", interactive=False, height=200)

    def run_search(query, sketch, files, use_bundled, model_name, use_saved_threshold=True, threshold=0.5,
                   request: gr.Request = None):
        """Rank candidate images against the query; with occlusion heatmaps for the best candidate."""
        m = common.visitor_model(store, request, model_name, "image")
        q = _pick(query, sketch, "query")
        res, top = search_images(q, files, use_bundled, m, common.threshold_arg(use_saved_threshold, threshold, m))
        ha, hb, pa, pb = cached_explanation(image_occlusion, m, q, top)
        return (res.to_dict(), common.search_markdown(res, m), common.search_rows(res, m),
                heatmap_overlay(pa, ha), heatmap_overlay(pb, hb))

    with gr.Accordion("Compare with several references (a writer's known signatures)", open=False):
        gr.Markdown("Upload two or more **references** known to be of one subject, such as a writer's genuine "
                    "signatures. The **second image** (or drawing) is the one in question: it is compared with the "
                    "mean of the references' embeddings, which is steadier than any one of them. Where the model "
                    "has a threshold fitted to such comparisons (the signature model does), it is used. References "
                    "signed on different days make a better set: a signature drifts from one week to the next.")
        refs = gr.File(label="References", file_count="multiple", file_types=["image"], type="filepath")
        ref_btn = gr.Button("Compare with the references", variant="primary")
        ref_md = gr.Markdown()

    def run_references(files, image_b, sketch_b, model_name, use_saved_threshold=True, threshold=0.5,
                       request: gr.Request = None):
        """Compare the second image with the mean of several reference images (a writer's genuine signatures)."""
        m = common.visitor_model(store, request, model_name, "image")
        q = _pick(image_b, sketch_b, "second")
        thr = common.threshold_arg(use_saved_threshold, threshold, m)
        payload, md = compare_image_references(files, q, model_name, m, thr)
        return common.public(payload), md

    ref_json = gr.JSON(visible=False)
    common.wire_search(ref_btn, common.friendly("compare with the references")(run_references),
                       [refs, img_b, sk_b, model, use_saved, thr], [ref_json, ref_md], "images", stale_on=[refs],
                       api_name="compare_image_references", working="*Comparing…*",
                       threshold_controls=(thr, use_saved))
    common.wire_search(search_btn, common.friendly("search the gallery")(run_search),
                       [img_a, sk_a, gallery, bundled, model, use_saved, thr],
                       [gr.JSON(visible=False), search_md, search_table, sh_a, sh_b], "images",
                       stale_on=[gallery, bundled], threshold_controls=(thr, use_saved))
    common.wire_compare(btn, common.friendly("compare the images")(run), inputs, [result_json, result_md, state],
                        common.friendly("explain the comparison")(explain), [state],
                        [plot, heat_a, heat_b], "images", stale_on=[img_a, img_b, sk_a, sk_b, model], priority=priority,
                        also_clear=[search_md, search_table, sh_a, sh_b, ref_json, ref_md])
    common.wire_threshold(model, use_saved, thr, state, result_json, result_md, plot, about, "image", store)
    return model
