"""Is an input inside what a model knows? Cheap checks that let a tab warn instead of answering a photo
with a handwriting model as if it knew photos."""
from __future__ import annotations

import logging
from typing import Any, Callable

import numpy as np

from .preprocess import open_image

log = logging.getLogger(__name__)

PHOTO_COLOUR = 0.12     # mean saturation above this: a colour image
PHOTO_MID_TONES = 0.35  # a share of mid-tone pixels above this: a photo or a grey scan, not ink on paper
CLEANED_PAPER = 0.95    # a model that cleans the paper (paper "clean" or "auto"): ink on paper has a border this
#                         white after cleaning (photographed SVC2004 signatures as benchmarks/signature_photos.py
#                         makes them, BHSig260 scans, the page's signature examples: 1.0), a photo does not (20 LFW
#                         faces and the example photos: 0.008-0.911), so a photographed signature is not a photo
CLEANED_MARGIN = 0.1    # ... the border measured around the ink with this margin (of the ink box's long side)


def is_ink_model(model) -> bool:
    """An image model made for ink drawings: one grey channel cropped to the strokes, or a model whose
    ``info["input_kind"]`` says "ink" (the signature model reads ImageNet features of the whole image)."""
    pre = model.preprocessor
    return model.modality == "image" and (
        (getattr(pre, "channels", 3) == 1 and bool(getattr(pre, "crop_to_content", False)))
        or model.info.get("input_kind") == "ink")


def image_tones(img) -> dict[str, float]:
    """Of an opened image, on a copy at most 128 px: ``colour`` (mean HSV saturation), ``mid_tones`` (the share
    of pixels that are neither paper nor ink: a drawing has few, a photo many) and ``border`` (the mean grey of
    the outermost pixels: paper is bright). All in [0, 1]."""
    small = img.convert("RGB")
    small.thumbnail((128, 128))
    grey = np.asarray(small.convert("L"), dtype=np.float32) / 255.0
    edge = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    return {"colour": float(np.asarray(small.convert("HSV"), dtype=np.float32)[..., 1].mean() / 255.0),
            "mid_tones": float(((grey > 0.2) & (grey < 0.8)).mean()), "border": float(edge.mean())}


def photo_likeness(item: Any) -> tuple[float, float]:
    """(colourfulness, mid-tone share) of an image (:func:`image_tones`)."""
    tones = image_tones(open_image(item, reduce_to=128))
    return tones["colour"], tones["mid_tones"]


def looks_like(model, item: Any) -> str | None:
    """What an image given to an ink model looks like when it is not ink on paper ("a colour photo", ...), else
    None. A model that cleans the paper (``paper`` "clean" or "auto") is asked about the image as cleaned: grey,
    the lighting flattened, so a signature photographed on tinted paper passes and a photo of a face does not."""
    if getattr(model.preprocessor, "paper", "as_is") != "as_is":
        from .preprocess import clean_paper

        tones = image_tones(clean_paper(open_image(item, reduce_to=128), margin=CLEANED_MARGIN))
        photo = tones["border"] < CLEANED_PAPER or tones["mid_tones"] > PHOTO_MID_TONES
        return "a photo, not ink on paper" if photo else None
    colour, mid = photo_likeness(item)
    if colour > PHOTO_COLOUR:
        return "a colour photo"
    return "a photo or a scan with many grey tones" if mid > PHOTO_MID_TONES else None


def _suggest(better: str | Callable[[], str | None] | None) -> str | None:
    """A suggested model name, or a function that finds one (called only when a warning needs it:
    finding one may load models)."""
    return better() if callable(better) else better


def image_warning(model, item: Any, which: str, photo_model: str | Callable[[], str | None] | None = None
                  ) -> str | None:
    """A warning when an ink-drawing model gets something that looks like a photo (naming
    ``photo_model``, a model that knows photos, when there is one), or a face model a photo without a face."""
    if getattr(model.preprocessor, "face_crop", False):
        if model.preprocessor.face_found(item):
            return None
        return (f"no face was found in the {which} image, so its centre was compared instead; this model "
                "compares faces (frontal photos of people) and its answer says nothing reliable about anything else")
    if not is_ink_model(model):
        return None
    what = looks_like(model, item)
    if what:
        better = _suggest(photo_model)
        instead = f"; choose {better} for photos" if better else ""
        return (f"the {which} image looks like {what}, and this model is made for ink drawings (handwriting "
                f"or signatures): its answer says nothing reliable about photos{instead}")
    return None


def base_fit_warning(model, items: list, photo_model: str | Callable[[], str | None] | None = None,
                     sample: int = 8) -> str | None:
    """For a fine-tune: a warning when an ink-drawing base gets a dataset of photos (half or more of
    ``sample`` images spread over the data look like photos), naming a base that knows photos."""
    if not is_ink_model(model) or not items:
        return None
    picks = [items[int(i)] for i in np.linspace(0, len(items) - 1, min(sample, len(items)))]
    photos = 0
    for item in picks:
        try:
            photos += looks_like(model, item) is not None
        except Exception:  # noqa: BLE001 - an unreadable item is reported by the data checks
            continue
    if photos * 2 < len(picks):
        return None
    better = _suggest(photo_model)
    instead = f"; start from `{better}` (ImageNet features) instead" if better else ""
    return (f"{photos} of {len(picks)} sampled images look like photos, and this base is made for handwriting or "
            f"signatures (ink on paper): it will learn little from photos{instead}")


def photo_model(names: list[str], load) -> str | None:
    """The first of ``names`` (image models) for photos in general: not an ink-drawing model, nor a specialist
    that crops faces; ``load(name)`` gives it."""
    for name in names:
        try:
            model = load(name)
            if not is_ink_model(model) and not getattr(model.preprocessor, "face_crop", False):
                return name
        except Exception:  # noqa: BLE001 - an unavailable model is not suggested; the log says why
            log.warning("image model %r could not be loaded to suggest it for photos", name, exc_info=True)
            continue
    return None


def text_warning(model, text: str, which: str) -> str | None:
    """A warning when a text is longer than the model reads (it sees only the first tokens)."""
    pre = model.preprocessor
    limit = int(getattr(pre, "max_length", 0) or 0)
    if not limit or not isinstance(text, str):
        return None
    n = len(pre.tokens(text)) if hasattr(pre, "tokens") else 0
    words = len(text.split())
    if words > limit or n >= limit:
        return (f"the {which} text has {words:,} words; this model reads only its first {limit} tokens "
                "(a sentence or two) and was trained on short sentences, so the rest is ignored")
    return None
