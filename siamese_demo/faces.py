"""Find the face in a photo and crop to it, so a face model compares faces, not backgrounds.

The detector is the Viola-Jones Haar cascade (``haarcascade_frontalface_default.xml``) that
``opencv-python-headless`` 4.x ships in ``cv2/data/`` (the 5.0 wheels no longer include it). It runs
on a copy of the photo reduced to at most ``DETECT_SIDE`` pixels; the largest face wins. The crop is a
square around the face box, ``1 + 2 * margin`` times its side, so hair, chin and ears stay in. When no face
is found the centre of the photo is used instead, and the result says so.

OpenCV is imported only when a face is to be found: without it, models that crop faces say they are
unavailable (``available()``) while every other model works.
"""
from __future__ import annotations

import functools
import threading
from dataclasses import dataclass

import numpy as np
from PIL import Image

CASCADE = "haarcascade_frontalface_default.xml"
DETECT_SIDE = 400      # detection runs on the photo reduced to this longest side
MIN_FACE_SHARE = 0.1   # a face box is at least this share of the photo's short side
CENTRE_SHARE = 0.6     # no face found: the central square of this share of the short side
_LOCK = threading.Lock()  # one detector object, used by one thread at a time


@dataclass(frozen=True)
class FaceCrop:
    image: Image.Image
    found: bool                      # False: no face found, the centre was used
    box: tuple[int, int, int, int]   # left, top, right, bottom in the photo (may reach outside it)


def available() -> tuple[bool, str]:
    """(True, "") when the detector loads, else (False, why)."""
    try:
        _detector()
    except (ImportError, OSError) as exc:
        return False, str(exc)
    return True, ""


@functools.lru_cache(maxsize=1)
def _detector():
    try:
        import cv2
    except ImportError as exc:  # pragma: no cover - opencv is in requirements.txt
        raise ImportError("face cropping needs opencv-python-headless (pinned in requirements.txt), "
                          f"which is not installed ({exc})") from None
    path = cv2.data.haarcascades + CASCADE
    cascade = cv2.CascadeClassifier(path)
    if cascade.empty():
        raise OSError(f"the face detector {CASCADE} is missing from this OpenCV ({cv2.__version__}); "
                      "opencv-python-headless 4.x ships it, the 5.0 wheels do not")
    return cascade


def face_box(img: Image.Image) -> tuple[int, int, int, int] | None:
    """The largest frontal face in ``img`` as (x, y, w, h) in its pixels, or None."""
    grey = img.convert("L")
    scale = min(1.0, DETECT_SIDE / max(grey.size))
    if scale < 1.0:
        grey = grey.resize((max(1, round(grey.width * scale)), max(1, round(grey.height * scale))),
                           Image.Resampling.BILINEAR)
    arr = np.ascontiguousarray(np.asarray(grey))
    smallest = max(24, int(min(arr.shape) * MIN_FACE_SHARE))
    with _LOCK:
        faces = _detector().detectMultiScale(arr, scaleFactor=1.1, minNeighbors=5, minSize=(smallest, smallest))
    if len(faces) == 0:
        return None
    x, y, w, h = max((tuple(int(v) for v in f) for f in faces), key=lambda f: f[2] * f[3])
    return (round(x / scale), round(y / scale), round(w / scale), round(h / scale))


def crop_face(img: Image.Image, margin: float) -> FaceCrop:
    """The square around the largest face, widened by ``margin`` of its side on each side (the border
    colour fills what lies outside the photo), or the photo's centre when there is no face."""
    found_box = face_box(img)
    if found_box is not None:
        x, y, w, h = found_box
        cx, cy, side = x + w / 2, y + h / 2, max(w, h) * (1 + 2 * margin)
    else:
        cx, cy, side = img.width / 2, img.height / 2, min(img.size) * CENTRE_SHARE
    box = (round(cx - side / 2), round(cy - side / 2), round(cx + side / 2), round(cy + side / 2))
    return FaceCrop(img.crop(box), found_box is not None, box)

