"""Gradio components with visitor-friendly input checks."""
from __future__ import annotations

import gradio as gr

from siamese_demo.errors import DataError
from siamese_demo.preprocess import check_image_file


class SafeImage(gr.Image):
    """``gr.Image`` that refuses oversized or unreadable uploads with a clear message, before
    Gradio decodes them. ``is_template`` makes the browser render it as a plain ``gr.Image``."""

    is_template = True

    def preprocess(self, payload):
        if payload is None:
            return None
        path, name = getattr(payload, "path", None), getattr(payload, "orig_name", None) or "image"
        if path:
            try:
                check_image_file(path, name=name)
            except DataError as exc:
                raise gr.Error(str(exc), title="Cannot use this image") from None
            if self.type == "filepath":
                # the checked upload as it is: Gradio would decode it, convert it to RGB and write it
                # again as a new file; the core opens it, turns it by its EXIF orientation and converts
                # it itself (this saved about 10 ms of server time per image under load)
                return str(path)
        try:
            return super().preprocess(payload)
        except gr.Error:
            raise
        except Exception:  # noqa: BLE001 - any decoder failure is a bad upload
            raise gr.Error(f"{name}: the image data is corrupt or in an unsupported format; "
                           "expected PNG, JPEG, BMP, GIF or WebP", title="Cannot use this image") from None


# These pass the submitted value through untouched: the core checks it (siamese_demo.limits) and says
# what is wrong in the app's own words, with the allowed range. Gradio's own checks would refuse it
# first with a message that names neither the setting nor its range. ``is_template`` makes the browser
# render each as its Gradio base component.


class CheckedSlider(gr.Slider):
    """``gr.Slider`` whose value the app checks."""

    is_template = True

    def preprocess(self, payload):
        return payload


class CheckedRadio(gr.Radio):
    """``gr.Radio`` whose value the app checks."""

    is_template = True

    def preprocess(self, payload):
        return payload


class CheckedNumber(gr.Number):
    """``gr.Number`` whose value the app checks."""

    is_template = True

    def preprocess(self, payload):
        return payload


def setting_slider(name: str, value: float, label: str, step: float | None = None, **kw) -> CheckedSlider:
    """A slider over a setting's allowed range (``siamese_demo.limits.RANGES``)."""
    from siamese_demo.limits import setting_range

    lo, hi, integer, _ = setting_range(name)
    return CheckedSlider(lo, hi, value=value, step=step or (1 if integer else None), label=label, **kw)
