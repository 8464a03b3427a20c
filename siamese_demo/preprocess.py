"""Turn raw items (images, strings, arrays) into per-item tensors and collate them into batches.

Each modality has a preprocessor with ``encode(item) -> tensor`` (one item),
``collate(list of tensors) -> batch dict`` (what encoders take) and ``to_dict()`` for
``config.json``. Problems with an item raise :class:`DataError` with a readable message.
"""
from __future__ import annotations

import io
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import DataError
from .limits import limits


# Raster formats Pillow decodes itself. Not EPS/PS (Pillow hands those to Ghostscript) nor the
# stub formats that need plugins; an upload is opened only as one of these, whatever its name.
_WANTED_FORMATS = ("PNG", "JPEG", "PPM", "TIFF", "BMP", "DIB", "GIF", "WEBP", "TGA", "ICO", "PCX", "SGI", "IM",
                   "JPEG2000", "QOI", "AVIF", "MPO", "PSD")
Image.init()
IMAGE_FORMATS = tuple(f for f in _WANTED_FORMATS if f in Image.OPEN)  # those this Pillow build registers


def _pixel_message(label: str, size: str) -> str:
    cap = limits().image_pixels
    return (f"{label}: {size} is too large; the limit is {cap / 1e6:g} megapixels "
            f"({cap:,} pixels) - please downscale it")


# ----------------------------------------------------------------------------- images
WORKING_SIDE = 1024  # big photos are reduced to this longest side before any per-pixel work


def open_image(item: Any, max_pixels: int | None = None, name: str | None = None,
               reduce_to: int | None = None) -> Image.Image:
    """Open a PIL image from a PIL image, path, bytes or array, refusing huge or corrupt files
    (the pixel cap is ``limits().image_pixels``; Pillow's decompression-bomb error says the same)."""
    max_pixels = max_pixels or limits().image_pixels
    label = name or (os.path.basename(str(item)) if isinstance(item, (str, Path)) else "image")
    if isinstance(item, Image.Image):
        img = item
    elif isinstance(item, np.ndarray):
        arr = item
        if arr.dtype != np.uint8:
            arr = np.clip(arr * (255.0 if arr.max(initial=0) <= 1.0 else 1.0), 0, 255).astype(np.uint8)
        if arr.ndim not in (2, 3):
            raise DataError(f"{label}: an image array must be H x W or H x W x C, got shape {arr.shape}")
        img = Image.fromarray(arr)
    else:
        try:
            src = io.BytesIO(item) if isinstance(item, (bytes, bytearray)) else item
            img = Image.open(src, formats=IMAGE_FORMATS)
        except FileNotFoundError:
            raise DataError(f"{label}: file not found") from None
        except Image.DecompressionBombError:
            raise DataError(_pixel_message(label, "the image")) from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            raise DataError(f"{label}: not a readable image (the file is damaged or not an image); "
                            "expected PNG, JPEG, PGM/PPM, TIFF, BMP, GIF or WebP") from None
    w, h = img.size
    if w * h > max_pixels:
        raise DataError(_pixel_message(label, f"{w}x{h} = {w * h / 1e6:.1f} megapixels"))
    if w < 2 or h < 2:
        raise DataError(f"{label}: {w}x{h} pixels is too small to compare")
    try:
        if reduce_to and img.format == "JPEG":
            img.draft(img.mode, (reduce_to, reduce_to))  # decode a big JPEG at a fraction of its size
        img.load()
        if reduce_to and max(img.size) > reduce_to:
            img = ImageOps.exif_transpose(img)  # before the EXIF data is dropped by the resize
            img.thumbnail((reduce_to, reduce_to), Image.Resampling.BILINEAR, reducing_gap=2.0)
    except Image.DecompressionBombError:
        raise DataError(_pixel_message(label, "the image")) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise DataError(f"{label}: the image data is corrupt or truncated ({exc})") from None
    return img


def check_image_file(path: str | Path, max_pixels: int | None = None, name: str | None = None) -> None:
    """Check an image file without decoding its pixels: readable header, pixel count within the cap."""
    max_pixels = max_pixels or limits().image_pixels
    label = name or os.path.basename(str(path))
    try:
        with Image.open(path, formats=IMAGE_FORMATS) as img:
            w, h = img.size
    except FileNotFoundError:
        raise DataError(f"{label}: file not found") from None
    except Image.DecompressionBombError:
        raise DataError(_pixel_message(label, "the image")) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise DataError(f"{label}: not a readable image (the file is damaged or not an image); "
                        "expected PNG, JPEG, PGM/PPM, TIFF, BMP, GIF or WebP") from None
    if w * h > max_pixels:
        raise DataError(_pixel_message(label, f"{w}x{h} = {w * h / 1e6:.1f} megapixels"))


def _flatten_alpha(img: Image.Image) -> Image.Image:
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        alpha = np.asarray(rgba)[..., 3]
        if alpha.min() < 255:
            # A drawing with a transparent background: strokes are where alpha is, background white.
            bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            return Image.alpha_composite(bg, rgba).convert("RGB")
        return rgba.convert("RGB")
    return img


PAPERS = ("as_is", "clean", "auto")
# paper="clean" (ink on paper, photographed): the lighting is flattened by dividing by the paper's brightness (a
# maximum, then a mean, over a window of PAPER_WINDOW of the short side: wider than a stroke), the paper is made
# white where the result is above PAPER_WHITE, and the image is cut to its ink (darker than INK_BELOW, ignoring a
# rim of PAPER_RIM of the short side and the outermost PAPER_SPECKS share of ink pixels each way) plus a margin of
# PAPER_MARGIN of the ink box's long side. paper="auto" cleans only a photographed sheet: one whose paper is not
# scanner-white and even (its brightness under SCANNED_WHITE somewhere in 5 % of the image, or varying by more than
# SCANNED_EVEN, over windows of SCANNED_WINDOW). benchmarks/signature_photos.py: cleaning lifts photographed
# signatures (simulated) from 0.637 to 0.842 on the SVC2004 choosing writers, but lowers BHSig260 scans from 0.986
# to 0.960 (cut to the ink, their strokes are enlarged); "auto" leaves every scan of both sets as it is.
PAPER_WINDOW, PAPER_WHITE, INK_BELOW, PAPER_RIM, PAPER_SPECKS, PAPER_MARGIN = 0.05, 0.8, 0.5, 0.03, 0.002, 0.02
SCANNED_WHITE, SCANNED_EVEN, SCANNED_WINDOW = 0.9, 0.05, 0.15  # the light judged over a wider window: thick
#                                                               strokes on a small scan are not unevenly lit paper


def _paper_light(grey: np.ndarray, window: float = PAPER_WINDOW) -> np.ndarray:
    """The paper's brightness around each pixel of a grey image in [0, 1] (ink, darker and thinner than the
    window, a share of the short side, removed by the maximum)."""
    from scipy import ndimage

    k = max(3, int(round(min(grey.shape) * window)) | 1)
    return ndimage.uniform_filter(ndimage.maximum_filter(grey, size=k), size=k)


def photographed(img: Image.Image) -> bool:
    """Whether a sheet of ink on paper looks photographed rather than scanned: its paper is not white and even."""
    small = img.convert("L")
    small.thumbnail((256, 256))
    lo, hi = np.percentile(_paper_light(np.asarray(small, dtype=np.float32) / 255.0, SCANNED_WINDOW), [5, 95])
    return bool(lo < SCANNED_WHITE or hi - lo > SCANNED_EVEN)


def clean_paper(img: Image.Image, margin: float = PAPER_MARGIN) -> Image.Image:
    """Ink on paper as dark grey ink on white, the lighting flattened and cut to the ink with ``margin`` of the ink
    box's long side around it (see :data:`PAPERS`)."""
    grey = np.asarray(img.convert("L"), dtype=np.float32) / 255.0
    r = np.clip(grey / np.maximum(_paper_light(grey), 1e-3), 0.0, 1.0)
    darkest = min(float(np.percentile(r, 0.5)), INK_BELOW)  # a sheet without ink stays white
    r = np.clip((r - darkest) / (1.0 - darkest), 0.0, 1.0)
    r[r > PAPER_WHITE] = 1.0
    ink = r < INK_BELOW
    rim = max(1, int(PAPER_RIM * min(r.shape)))
    ink[:rim], ink[-rim:], ink[:, :rim], ink[:, -rim:] = False, False, False, False
    ys, xs = np.nonzero(ink)
    if len(ys) > 20:  # a few specks are not a signature: keep the whole sheet
        (y0, y1), (x0, x1) = (np.percentile(v, [100 * PAPER_SPECKS, 100 * (1 - PAPER_SPECKS)]).astype(int)
                              for v in (ys, xs))
        m = int(margin * max(y1 - y0, x1 - x0))
        r = r[max(y0 - m, 0): y1 + m + 1, max(x0 - m, 0): x1 + m + 1]
    return Image.fromarray((r * 255).round().astype(np.uint8))


FITS = ("stretch", "center_crop", "pad")
RESAMPLING = {"bilinear": Image.Resampling.BILINEAR, "bicubic": Image.Resampling.BICUBIC}


@dataclass
class ImagePreprocessor:
    """Greyscale/RGB, optional auto-invert and crop-to-content, fit to a square, normalise.

    ``invert="auto"`` makes the background dark and strokes bright whatever the input
    (decided from the border pixels), so dark-on-light and light-on-dark drawings match.
    ``fit`` says how a non-square image becomes ``size`` x ``size``: ``stretch`` (resize both
    sides, the aspect ratio is lost), ``center_crop`` (resize the short side to ``size / crop_fraction``,
    then cut the centre, as ImageNet models are evaluated) or ``pad`` (resize the long side to ``size``,
    then pad to a square with the median colour of the image's border). ``mean`` and ``std`` are one
    number for every channel or one per channel (RGB order).
    """

    size: int = 64
    channels: int = 1
    invert: str = "auto"             # "auto", "never", "always"
    crop_to_content: bool = False    # crop to the strokes' bounding box, pad to a square
    mean: float | list[float] = 0.0
    std: float | list[float] = 1.0
    fit: str = "stretch"             # "stretch", "center_crop" or "pad"
    crop_fraction: float = 0.875     # with fit="center_crop": the share of the short side kept
    interpolation: str = "bilinear"  # "bilinear" or "bicubic"
    face_crop: bool = False          # crop to the largest face first (siamese_demo.faces; centre if none)
    face_margin: float = 0.13        # ... widened by this share of the face box's side on each side
    paper: str = "as_is"             # ink on paper: "clean" flattens the light, whitens the paper and cuts to the
    #                                  ink; "auto" does so only for a photographed sheet (see PAPERS)
    kind: str = field(default="image", init=False)

    def __post_init__(self) -> None:
        if self.paper not in PAPERS:
            raise ValueError(f"paper must be one of {PAPERS}, got {self.paper!r}")
        if self.fit not in FITS:
            raise ValueError(f"fit must be one of {FITS}, got {self.fit!r}")
        if self.interpolation not in RESAMPLING:
            raise ValueError(f"interpolation must be one of {tuple(RESAMPLING)}, got {self.interpolation!r}")
        for name in ("mean", "std"):
            value = getattr(self, name)
            if isinstance(value, (list, tuple)):
                if len(value) != self.channels:
                    raise ValueError(f"{name} has {len(value)} values for {self.channels} channel(s)")
                setattr(self, name, [float(v) for v in value])

    def to_pil(self, item: Any, name: str | None = None) -> Image.Image:
        """The image as the model sees it (before normalisation), as a PIL image."""
        img = _flatten_alpha(ImageOps.exif_transpose(open_image(item, name=name, reduce_to=WORKING_SIDE)))
        if self.paper == "clean" or (self.paper == "auto" and photographed(img)):
            img = clean_paper(img)
        img = img.convert("L" if self.channels == 1 else "RGB")
        if self.face_crop:
            img = self.face(img).image
        arr = np.asarray(img, dtype=np.float32) / 255.0
        grey = arr if arr.ndim == 2 else arr.mean(-1)
        if self.invert == "always" or (self.invert == "auto" and _border_is_bright(grey)):
            arr, grey = 1.0 - arr, 1.0 - grey
        if self.crop_to_content:
            arr = _crop_square(arr, grey)
        out = Image.fromarray((arr * 255).round().astype(np.uint8))
        return _fit_square(out, self.size, self.fit, self.crop_fraction, RESAMPLING[self.interpolation])

    def face(self, img: Image.Image):
        """The face crop of an opened photo (:class:`siamese_demo.faces.FaceCrop`)."""
        from .faces import crop_face

        return crop_face(img, self.face_margin)

    def face_found(self, item: Any, name: str | None = None) -> bool | None:
        """Whether a face was found in ``item`` (None when this preprocessor does not crop faces)."""
        if not self.face_crop:
            return None
        img = _flatten_alpha(ImageOps.exif_transpose(open_image(item, name=name, reduce_to=WORKING_SIDE)))
        return self.face(img.convert("RGB")).found

    def _stats(self, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        shape = (-1, 1, 1)
        return (torch.as_tensor(self.mean, dtype=t.dtype).reshape(shape),
                torch.as_tensor(self.std, dtype=t.dtype).reshape(shape))

    def encode(self, item: Any, name: str | None = None) -> torch.Tensor:
        arr = np.asarray(self.to_pil(item, name), dtype=np.float32) / 255.0
        t = torch.from_numpy(arr)
        t = t[None] if t.ndim == 2 else t.permute(2, 0, 1)
        mean, std = self._stats(t)
        return (t - mean) / std

    def denormalize(self, t: torch.Tensor) -> torch.Tensor:
        """Undo the normalisation of :meth:`encode`: (C, H, W) or (B, C, H, W) back to [0, 1] pixels."""
        mean, std = self._stats(t)
        return t * std + mean

    def collate(self, items: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"pixels": torch.stack(items)}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _fit_square(img: Image.Image, size: int, fit: str, crop_fraction: float,
                resample: Image.Resampling) -> Image.Image:
    """``img`` as a ``size`` x ``size`` image: stretched, centre-cropped or padded (see ImagePreprocessor)."""
    w, h = img.size
    if fit == "stretch":
        return img.resize((size, size), resample)
    if fit == "center_crop":
        short = max(size, int(round(size / crop_fraction)))
        scale = short / min(w, h)
        nw, nh = max(short, int(round(w * scale))), max(short, int(round(h * scale)))
        img = img.resize((nw, nh), resample)
        left, top = (nw - size) // 2, (nh - size) // 2
        return img.crop((left, top, left + size, top + size))
    scale = size / max(w, h)  # pad
    nw, nh = max(1, int(round(w * scale))), max(1, int(round(h * scale)))
    colour = np.median(_border(np.asarray(img)), axis=0).round().astype(np.uint8)
    canvas = Image.new(img.mode, (size, size), tuple(colour.tolist()) if colour.ndim else int(colour))
    canvas.paste(img.resize((nw, nh), resample), ((size - nw) // 2, (size - nh) // 2))
    return canvas


def _border(arr: np.ndarray) -> np.ndarray:
    """The pixels along an image's four edges (grey values, or one row of channels each)."""
    return np.concatenate([arr[0], arr[-1], arr[:, 0], arr[:, -1]])


def _border_is_bright(grey: np.ndarray) -> bool:
    return float(np.median(_border(grey))) > 0.5


def _crop_square(arr: np.ndarray, ink: np.ndarray, margin: float = 0.08) -> np.ndarray:
    mask = ink > max(0.2, float(ink.max()) * 0.35)
    if not mask.any():
        return arr
    rows, cols = np.where(mask.any(1))[0], np.where(mask.any(0))[0]
    r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    side = int(max(r1 - r0, c1 - c0) * (1 + 2 * margin)) + 2
    out = np.zeros((side, side) + arr.shape[2:], dtype=arr.dtype)
    rr, cc = (side - (r1 - r0)) // 2, (side - (c1 - c0)) // 2
    out[rr: rr + r1 - r0, cc: cc + c1 - c0] = arr[r0:r1, c0:c1]
    return out


# ----------------------------------------------------------------------------- text
def train_tokenizer(texts: list[str], vocab_size: int = 8000, min_frequency: int = 2):
    """Train a lower-casing WordPiece tokenizer (``tokenizers``); ids 0-4 are [PAD] [UNK] [CLS] [SEP] [MASK]."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size, min_frequency=min_frequency,
        special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    from tokenizers import decoders

    tok.decoder = decoders.WordPiece()
    return tok


def check_text(item: Any, name: str = "text") -> str:
    """A text to compare: a non-empty string of valid Unicode within ``limits().text_chars``
    characters (checked before anything tokenizes it)."""
    if item is None:
        raise DataError(f"{name} is missing: please type a sentence")
    if not isinstance(item, str):
        raise DataError(f"{name}: expected text, got {type(item).__name__}")
    cap = limits().text_chars
    if len(item) > cap:
        raise DataError(f"{name} has {len(item):,} characters; the limit is {cap:,} - shorten it")
    if not item.strip():
        raise DataError(f"{name} is empty: please type a sentence")
    try:
        item.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise DataError(f"{name}: character {exc.start + 1} is not valid Unicode (a lone surrogate, "
                        f"U+{ord(item[exc.start]):04X}); remove it or paste the text again") from None
    if "\x00" in item:
        raise DataError(f"{name}: contains a NUL character (position {item.index(chr(0)) + 1}); remove it")
    return item


def pad_tokens(items: list[torch.Tensor], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad 1-D token-id tensors -> ``input_ids`` and ``attention_mask`` (B, L)."""
    longest = max(len(t) for t in items)
    ids = torch.full((len(items), longest), pad_id, dtype=torch.long)
    mask = torch.zeros(len(items), longest, dtype=torch.long)
    for i, t in enumerate(items):
        ids[i, : len(t)] = t
        mask[i, : len(t)] = 1
    return {"input_ids": ids, "attention_mask": mask}


@dataclass
class TextPreprocessor:
    """Tokenise with a ``tokenizers.Tokenizer`` (saved as ``tokenizer.json``); pad id 0."""

    tokenizer: Any = None
    max_length: int = 64
    kind: str = field(default="text", init=False)

    def check(self, item: Any, name: str = "text") -> str:
        return check_text(item, name)

    def tokens(self, item: str) -> list[str]:
        return self.tokenizer.encode(item).tokens[: self.max_length]

    def encode(self, item: Any, name: str = "text") -> torch.Tensor:
        ids = self.tokenizer.encode(self.check(item, name)).ids[: self.max_length]
        if not ids:
            ids = [1]  # [UNK]: text with no known characters still gets an embedding
        return torch.tensor(ids, dtype=torch.long)

    def collate(self, items: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        return pad_tokens(items, 0)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "text", "max_length": self.max_length, "tokenizer_file": "tokenizer.json"}


# ----------------------------------------------------------------------------- series
def check_values(arr: np.ndarray, name: str, first_step: int = 1) -> None:
    """Refuse NaN (missing), infinite and too-large values, naming the time step."""
    lim = limits().series_abs_value
    bad = ~np.isfinite(arr) | (np.abs(np.nan_to_num(arr, nan=0.0, posinf=np.inf, neginf=np.inf)) > lim)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad.reshape(len(arr), -1))[0])
        v = float(arr.reshape(len(arr), -1)[row, col])
        what = ("is missing (NaN)" if np.isnan(v) else "is infinite" if np.isinf(v)
                else f"({v:g}) is too large: values must be within +/-{lim:g}")
        raise DataError(f"{name}: the value at time step {row + first_step} {what}; fix or remove it")


def check_series_size(steps: int, channels: int, name: str) -> None:
    """Refuse a series over the step, channel or value caps of :func:`limits`."""
    lim = limits()
    if steps > lim.series_steps:
        raise DataError(f"{name}: {steps:,} time steps is over the limit of {lim.series_steps:,}; downsample it")
    if channels > lim.series_channels:
        raise DataError(f"{name}: {channels:,} channels is over the limit of {lim.series_channels:,}")
    if steps * channels > lim.series_values:
        raise DataError(f"{name}: {steps * channels:,} values is over the limit of {lim.series_values:,}")


def as_series(item: Any, name: str = "series") -> np.ndarray:
    """Validate a 1-D (T,) or 2-D (T, C) numeric array; returns float32 (T, C)."""
    shape = getattr(item, "shape", None)
    if shape is not None and len(shape) in (1, 2):
        check_series_size(int(shape[0]), int(shape[1]) if len(shape) == 2 else 1, name)
    try:
        arr = np.asarray(item, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise DataError(f"{name}: expected numbers only (one column per channel)") from None
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise DataError(f"{name}: expected a 1-D series or a time x channels table, got shape {arr.shape}")
    if arr.shape[0] < 2:
        raise DataError(f"{name}: a series needs at least 2 time steps, got {arr.shape[0]}")
    check_series_size(arr.shape[0], arr.shape[1], name)
    check_values(arr, name)
    return arr.astype(np.float32)


def resample(arr: np.ndarray, length: int) -> np.ndarray:
    """Linearly resample (T, C) to (length, C)."""
    t = arr.shape[0]
    if t == length:
        return arr
    src = np.linspace(0.0, 1.0, t)
    dst = np.linspace(0.0, 1.0, length)
    return np.stack([np.interp(dst, src, arr[:, c]) for c in range(arr.shape[1])], axis=1).astype(np.float32)


@dataclass
class SeriesPreprocessor:
    """Per-series, per-channel normalisation and optional resampling to a fixed length."""

    channels: int | None = 1         # None: any channel count (channel-independent encoders)
    normalize: str = "zscore"        # "zscore", "minmax" or "none"
    length: int | None = 128         # resample to this many steps; None keeps the length (capped)
    max_length: int = 1024           # with length=None, longer series are resampled down to this
    kind: str = field(default="timeseries", init=False)

    def transform(self, item: Any, name: str = "series") -> np.ndarray:
        """The series as the model sees it, (T, C) float32."""
        arr = as_series(item, name)
        if self.channels is not None and arr.shape[1] != self.channels:
            raise DataError(f"{name}: this model takes {self.channels} channel(s), the series has {arr.shape[1]}")
        if self.normalize == "zscore":
            arr = (arr - arr.mean(0)) / np.maximum(arr.std(0), 1e-6)
        elif self.normalize == "minmax":
            lo, hi = arr.min(0), arr.max(0)
            arr = (arr - lo) / np.maximum(hi - lo, 1e-6)
        target = self.length or min(arr.shape[0], self.max_length)
        return resample(arr, target).astype(np.float32)

    def encode(self, item: Any, name: str = "series") -> torch.Tensor:
        return torch.from_numpy(self.transform(item, name))

    def collate(self, items: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        longest = max(t.shape[0] for t in items)
        chans = {t.shape[1] for t in items}
        if len(chans) > 1:
            raise DataError(f"series in one batch have different channel counts {sorted(chans)}")
        values = torch.zeros(len(items), longest, chans.pop())
        for i, t in enumerate(items):
            values[i, : t.shape[0]] = t
        lengths = torch.tensor([t.shape[0] for t in items], dtype=torch.long)
        return {"values": values, "lengths": lengths}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def preprocessor_from_dict(data: dict[str, Any], folder: Path | None = None):
    data = dict(data)
    kind = data.pop("kind")
    data.pop("max_pixels", None)  # older configs: the caps now live in siamese_demo.limits
    data.pop("max_chars", None)
    if kind == "image":
        return ImagePreprocessor(**data)
    if kind == "timeseries":
        return SeriesPreprocessor(**data)
    if kind == "text":
        from tokenizers import Tokenizer

        tok_file = data.pop("tokenizer_file", "tokenizer.json")
        if folder is None:
            raise ValueError("a text preprocessor needs the checkpoint folder for its tokenizer")
        return TextPreprocessor(tokenizer=Tokenizer.from_file(str(Path(folder) / tok_file)), **data)
    raise ValueError(f"unknown preprocessor kind {kind!r}")
