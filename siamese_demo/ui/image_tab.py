"""Image pairs tab: upload / webcam / clipboard or draw each image, compare, see why."""
from __future__ import annotations

import gradio as gr

from siamese_demo.explain import image_occlusion
from siamese_demo.plots import heatmap_overlay

from . import common
from .components import SafeImage
from .examples import image_examples

EXPLAIN = ("**How the heatmaps are made (occlusion):** a square patch of one image is hidden (filled with "
           "its background) at every position, the distance to the other image is measured again, and red "
           "marks where hiding the patch made the two images look *less* alike. Red regions are what the "
           "model matched.")


def compare_images(image_a: str | None, image_b: str | None, model_name: str, use_saved_threshold: bool = True,
                   threshold: float = 0.5, model=None):
    """Compare two images (file paths). Returns the result, an explanation, a distribution plot and
    two heatmaps."""
    if image_a is None or image_b is None:
        raise gr.Error("Please give two images (upload, webcam, clipboard or a drawing).", title="Missing input")
    model = model or common.get_model(model_name, "image")
    thr = common.threshold_arg(use_saved_threshold, threshold, model)
    r = model.compare(image_a, image_b, thr)
    payload = common.result_payload(model_name, model, r)
    heat_a, heat_b, pix_a, pix_b = image_occlusion(model, image_a, image_b)
    return (payload, common.result_markdown(payload, model), common.distribution_plot(payload, model),
            heatmap_overlay(pix_a, heat_a), heatmap_overlay(pix_b, heat_b))


def sketch_to_image(sketch):
    """The drawing as an image for the comparison."""
    if not sketch or sketch.get("composite") is None:
        raise gr.Error("Draw something first.", title="Empty drawing")
    return sketch["composite"]


def _side(which: str):
    """One input column: an image (upload / webcam / clipboard) and a sketchpad to draw it instead."""
    with gr.Column():
        image = SafeImage(label=f"{which.capitalize()} image", type="filepath",
                          sources=["upload", "webcam", "clipboard"], height=220)
        with gr.Accordion("…or draw it", open=False):
            sketch = gr.Sketchpad(label=f"Draw the {which} symbol", type="numpy", height=260)
            use = gr.Button(f"Use this drawing as the {which} image", size="sm")
    return image, sketch, use


def build(tab_models: list[str], store=None) -> gr.Dropdown:
    with gr.Row():
        img_a, sk_a, use_a = _side("first")
        img_b, sk_b, use_b = _side("second")
        with gr.Column():
            model, about, use_saved, thr, btn = common.controls(tab_models)
    result_json, result_md, plot = common.result_area()
    with gr.Row():
        heat_a = gr.Image(label="What matched in the first image", interactive=False, height=220)
        heat_b = gr.Image(label="What matched in the second image", interactive=False, height=220)
    gr.Markdown(EXPLAIN)
    gr.Examples(image_examples(), inputs=[img_a, img_b], label="Examples (held-out alphabets: never seen in training)")
    state = gr.State({})

    outputs = [result_json, result_md, plot, heat_a, heat_b, state]
    def run(image_a: str | None, image_b: str | None, model_name: str, use_saved_threshold: bool = True,
            threshold: float = 0.5, request: gr.Request = None):
        return compare_images(image_a, image_b, model_name, use_saved_threshold, threshold,
                              common.visitor_model(store, request, model_name, "image"))

    btn.click(common.with_state(common.friendly("compare the images")(run)),
              [img_a, img_b, model, use_saved, thr], outputs, api_name="compare_images")
    use_a.click(common.friendly("use the drawing")(sketch_to_image), sk_a, img_a, api_name="use_drawing_a")
    use_b.click(common.friendly("use the drawing")(sketch_to_image), sk_b, img_b, api_name="use_drawing_b")
    common.wire_threshold(model, use_saved, thr, state, result_json, result_md, plot, about, "image", store)
    return model
