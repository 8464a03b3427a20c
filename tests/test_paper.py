"""``ImagePreprocessor(paper=...)``: ink on unevenly lit, tinted paper becomes dark ink on white, cut to the ink
("clean"; "auto" only for a photographed sheet); checked against sheets drawn here whose ink and paper are known."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import siamese_demo as sd
from siamese_demo.preprocess import (PAPER_MARGIN, ImagePreprocessor, clean_paper, photographed,
                                     preprocessor_from_dict)

PHOTO = sd.MODELS_DIR.parent / "examples" / "photos" / "astronaut.jpg"


def _ink() -> np.ndarray:
    """Bars in rows 80-89 and 120-129, columns 60-239, and a diagonal stroke between them, on 200 x 300."""
    ink = np.zeros((200, 300), bool)
    ink[80:90, 60:240] = ink[120:130, 60:240] = True
    for k in range(30):
        ink[90 + k, 100 + k: 103 + k] = True
    return ink


def _photographed_sheet() -> Image.Image:
    """The ink in dark blue on cream paper lit from the left (brightness 0.55 -> 1.0)."""
    light = np.linspace(0.55, 1.0, 300)[None, :, None]
    rgb = np.ones((200, 300, 3)) * np.array([0.95, 0.9, 0.8]) * light
    ink = _ink()
    rgb[ink] = np.array([0.1, 0.1, 0.35]) * light[0, :, 0][np.nonzero(ink)[1], None]
    return Image.fromarray((rgb * 255).round().astype(np.uint8))


def _scanned_sheet() -> Image.Image:
    """The ink in black on white paper, evenly lit."""
    return Image.fromarray(np.where(_ink(), 20, 255).astype(np.uint8)).convert("RGB")


def test_clean_paper_whitens_the_paper_and_cuts_to_the_ink():
    out = np.asarray(clean_paper(_photographed_sheet()))
    y0, y1, x0, x1 = 80, 129, 60, 239
    m = int(PAPER_MARGIN * max(y1 - y0, x1 - x0))  # 3 px
    assert out.shape == (y1 - y0 + 2 * m + 1, x1 - x0 + 2 * m + 1)
    ink = _ink()[y0 - m: y1 + m + 1, x0 - m: x1 + m + 1]
    assert (out[~ink] == 255).all()          # the paper, dark on the left and bright on the right, all white
    assert out[ink].max() < 100              # the ink stays dark, on the dim side too


def test_clean_paper_keeps_a_sheet_without_ink_whole():
    out = np.asarray(clean_paper(Image.fromarray(np.full((60, 80), 200, np.uint8))))
    assert out.shape == (60, 80) and (out == 255).all()


def test_a_scan_is_not_photographed_and_auto_leaves_it_as_it_is():
    assert photographed(_photographed_sheet()) and photographed(Image.open(PHOTO))
    assert not photographed(_scanned_sheet())
    kw = dict(size=64, channels=3, invert="never", fit="pad")
    plain, auto, clean = (ImagePreprocessor(**kw, paper=p) for p in ("as_is", "auto", "clean"))
    scan, photo = _scanned_sheet(), _photographed_sheet()
    np.testing.assert_array_equal(np.asarray(auto.to_pil(scan)), np.asarray(plain.to_pil(scan)))
    np.testing.assert_array_equal(np.asarray(auto.to_pil(photo)), np.asarray(clean.to_pil(photo)))
    assert (np.asarray(clean.to_pil(photo))[0, 0] == 255).all()  # the pad takes the cleaned paper's white
    assert not (np.asarray(plain.to_pil(photo))[0, 0] == 255).all()


def test_old_configs_load_and_a_wrong_paper_is_refused():
    old = ImagePreprocessor().to_dict()
    old.pop("paper")
    assert preprocessor_from_dict(old).paper == "as_is"
    with pytest.raises(ValueError, match="paper"):
        ImagePreprocessor(paper="bleach")


@pytest.mark.parametrize("paper, sheet_warned", [("auto", False), ("clean", False), ("as_is", True)])
def test_an_ink_model_that_cleans_the_paper_takes_a_photographed_sheet_but_not_a_photo(paper, sheet_warned):
    from siamese_demo.domain import image_warning
    from siamese_demo.encoders import build_encoder

    model = sd.SiameseModel(build_encoder("cnn", in_channels=3, depth=2, width=4, embedding_dim=8),
                            ImagePreprocessor(size=32, channels=3, invert="never", fit="pad", paper=paper), "image",
                            "cosine", normalize=True, info={"input_kind": "ink"})
    assert bool(image_warning(model, _photographed_sheet(), "first")) is sheet_warned
    assert not image_warning(model, _scanned_sheet(), "first")
    assert "photo" in image_warning(model, PHOTO, "second")
