"""The input preparation fitted to an upload's images (inspect_data.image_input_plan), and a from-scratch
model built with it; cases made by hand, where the right answer is plain."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from siamese_demo.inspect_data import image_input_plan
from siamese_demo.pairs import Samples
from siamese_demo.workflows import scratch_model


def _ink(tmp_path, n=6, size=(300, 100)):
    paths = []
    for k in range(n):
        img = Image.new("L", size, 255)
        ImageDraw.Draw(img).line([(10, 50), (80 + 20 * k, 20), (200, 80), (290, 30)], fill=0, width=3)
        paths.append(tmp_path / f"ink{k}.png")
        img.save(paths[-1])
    return paths


def _photos(tmp_path, n=6, size=(120, 120), colour=True):
    rng = np.random.default_rng(0)
    paths = []
    for k in range(n):
        y, x = np.mgrid[0:size[1], 0:size[0]] / max(size)
        base = np.stack([x, y, 1 - x], -1) if colour else np.repeat(((x + y) / 2)[..., None], 3, -1)
        arr = np.clip(base * 200 + 30 + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8)
        paths.append(tmp_path / f"photo{k}.jpg")
        Image.fromarray(arr).save(paths[-1])
    return paths


def test_wide_ink_drawings_are_cropped_grey_inverted_and_keep_their_aspect(tmp_path):
    plan = image_input_plan(_ink(tmp_path))
    assert plan["kind"] == "ink"
    assert plan["preprocessing"] == {"channels": 1, "invert": "auto", "crop_to_content": True, "fit": "pad", "size": 64}
    assert plan["measured"]["median_width"] == 300 and plan["measured"]["median_aspect"] == 3.0
    assert "wide" in plan["reasons"]["fit"]


def test_colour_photos_stay_colour_and_whole(tmp_path):
    plan = image_input_plan(_photos(tmp_path))
    assert plan["kind"] == "photo"
    assert plan["preprocessing"] == {"channels": 3, "invert": "never", "crop_to_content": False,
                                     "fit": "center_crop", "size": 64}  # short side 120: capped at 64


def test_grey_photos_are_read_grey_and_small_ones_get_a_small_input(tmp_path):
    plan = image_input_plan(_photos(tmp_path, size=(40, 40), colour=False))
    assert plan["kind"] == "photo" and plan["preprocessing"]["channels"] == 1
    assert plan["preprocessing"]["size"] == 32


def test_a_from_scratch_model_takes_the_plan(tmp_path):
    ink = _ink(tmp_path)
    model = scratch_model("image", "cnn", Samples(ink, ["a", "b"] * 3))
    pre = model.preprocessor
    assert (pre.channels, pre.crop_to_content, pre.fit, pre.size) == (1, True, "pad", 64)
    photos = _photos(tmp_path)
    model = scratch_model("image", "cnn", Samples(photos, ["a", "b"] * 3))
    assert model.preprocessor.channels == 3 and model.encoder.config.in_channels == 3
    assert model.embed(photos[:2]).shape[0] == 2
    assert model.info["input_plan"]["kind"] == "photo"


def test_the_visitor_can_change_the_plan(tmp_path):
    photos = _photos(tmp_path)
    plan = image_input_plan(photos, overrides={"image_kind": "auto", "image_channels": "grey", "image_fit": "pad",
                                               "image_size": 40})
    assert plan["preprocessing"] == {"channels": 1, "invert": "never", "crop_to_content": False, "fit": "pad",
                                     "size": 40}
    assert "set by you" in plan["reasons"]["channels"] and "set by you" in plan["reasons"]["size"]
    assert plan["overrides"] == {"image_channels": "grey", "image_fit": "pad", "image_size": 40}
    # photos read as ink: cropped to the strokes, inverted, grey; a wide-image pad would be kept
    ink = image_input_plan(photos, overrides={"image_kind": "ink"})
    assert ink["kind"] == "ink" and ink["preprocessing"]["crop_to_content"] is True
    assert (ink["preprocessing"]["invert"], ink["preprocessing"]["channels"], ink["preprocessing"]["fit"]) == \
        ("auto", 1, "stretch")
    assert "fitted: photo" in ink["reasons"]["kind"]
    # all on auto: the fitted plan unchanged
    auto = {"image_kind": "auto", "image_channels": "auto", "image_fit": "auto", "image_size": 0}
    assert image_input_plan(photos, overrides=auto)["preprocessing"] == image_input_plan(photos)["preprocessing"]
    model = scratch_model("image", "cnn", Samples(photos, ["a", "b"] * 3),
                          plan_overrides={"image_channels": "grey", "image_size": 40})
    assert (model.preprocessor.channels, model.preprocessor.size, model.encoder.config.in_channels) == (1, 40, 1)
    assert model.embed(photos[:2]).shape[0] == 2
