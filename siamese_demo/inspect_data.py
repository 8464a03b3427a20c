"""What a dataset will give the training before it starts: classes and counts, the pairs and
triplets that can be built, duplicates across splits, small classes, imbalance, and a preview of
positive and negative pairs. Pure functions over :class:`Samples` / :class:`PairSet`."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from .pairs import PairSet, Samples, make_pairs

NEAR_DUPLICATE_COSINE = 0.999  # prepared images/series this alike count as near-duplicates
IMBALANCE_RATIO = 5.0


def pair_counts(data: Samples | PairSet) -> dict[str, int]:
    """How many positive / negative pairs and triplets the data can form (exact counts)."""
    if isinstance(data, PairSet):
        pos = int((data.labels >= 0.5).sum())
        return {"positive_pairs": pos, "negative_pairs": len(data) - pos, "triplets": 0}
    if data.labels is None:  # each item with an augmented view of itself; others are negatives
        n = len(data)
        return {"positive_pairs": n, "negative_pairs": n * (n - 1) // 2, "triplets": n * (n - 1)}
    counts = np.array(list(Counter(map(str, data.labels)).values()), dtype=np.int64)
    n = int(counts.sum())
    pos = int((counts * (counts - 1) // 2).sum())
    return {"positive_pairs": pos, "negative_pairs": n * (n - 1) // 2 - pos,
            "triplets": int((counts * (counts - 1) * (n - counts)).sum())}


def all_items(data: Samples | PairSet) -> list[Any]:
    """Every item of a dataset: the samples, or both sides of the pairs."""
    return list(data.items) if isinstance(data, Samples) else list(data.a) + list(data.b)


def _norm_text(t: str) -> str:
    return re.sub(r"[^\w]+", " ", str(t).lower()).strip()


def _fingerprints(model, items: list[Any]) -> tuple[list[str], torch.Tensor | None]:
    """Exact keys and, for images/series, unit vectors of the prepared tensors (for near-duplicates)."""
    if model.modality == "text":
        return [_norm_text(t) for t in items], None
    tensors = model.prepare(items)
    keys = [str(hash(t.numpy().tobytes())) for t in tensors]
    flat = torch.stack([t.float().flatten() for t in tensors])
    flat = flat - flat.mean(dim=1, keepdim=True)
    return keys, torch.nn.functional.normalize(flat, dim=1)


def cross_split_duplicates(model, parts: dict[str, Samples | PairSet]) -> dict[str, dict[str, int]]:
    """Items of validation/test that also occur in train: identical after the model's preprocessing
    (or the same text up to case and punctuation), and near-identical (cosine >= 0.999) for
    images and series."""
    train_keys, train_vec = _fingerprints(model, all_items(parts["train"]))
    seen = set(train_keys)
    out = {}
    for name in ("validation", "test"):
        keys, vec = _fingerprints(model, all_items(parts[name]))
        exact = sum(k in seen for k in keys)
        near = exact
        if vec is not None and train_vec is not None and len(keys):
            near = int(((vec @ train_vec.T).max(dim=1).values >= NEAR_DUPLICATE_COSINE).sum())
        out[name] = {"exact": int(exact), "near": int(max(near, exact))}
    return out


def summarize(model, parts: dict[str, Samples | PairSet], split_mode: str) -> dict[str, Any]:
    """Counts per split and warnings a visitor should read before training."""
    train = parts["train"]
    warnings: list[str] = []
    summary: dict[str, Any] = {"split": split_mode, "kind": "pairs" if isinstance(train, PairSet) else
                               ("labelled" if train.labels is not None else "unlabelled"), "splits": {}}
    for name, part in parts.items():
        summary["splits"][name] = {**part.summary(), **pair_counts(part)}
    if isinstance(train, Samples) and train.labels is not None:
        counts = Counter(map(str, train.labels))
        summary["class_counts"] = dict(sorted(counts.items()))
        small = sorted(c for c, k in counts.items() if k < 2)
        summary["classes_too_small"] = small
        if small:
            warnings.append(f"{len(small)} training class(es) have a single sample and cannot form positive "
                            f"pairs: {', '.join(small[:5])}{' ...' if len(small) > 5 else ''}")
        ratio = max(counts.values()) / max(min(counts.values()), 1)
        summary["imbalance_ratio"] = round(ratio, 2)
        if ratio >= IMBALANCE_RATIO:
            warnings.append(f"classes are imbalanced: the largest has {ratio:.0f}x the samples of the smallest; "
                            "batches draw the same number per class, so small classes are repeated more often")
    elif isinstance(train, PairSet):
        share = float((train.labels >= 0.5).mean()) if len(train) else 0.0
        summary["positive_share"] = round(share, 3)
        if share < 0.2 or share > 0.8:
            warnings.append(f"{share:.0%} of the training pairs are positive; a threshold chosen for accuracy "
                            "will lean towards the majority")
    else:
        warnings.append("no labels: the model learns that an item and an augmented copy of it are the same "
                        "(self-supervised); the test numbers measure exactly that")
    dup = cross_split_duplicates(model, parts)
    summary["duplicates_across_splits"] = dup
    for name, d in dup.items():
        if d["near"]:
            warnings.append(f"{d['near']} {name} item(s) are (near-)duplicates of training items "
                            f"({d['exact']} identical): {name} numbers will look better than they are")
    for name in ("validation", "test"):
        pc = summary["splits"][name]
        if pc["positive_pairs"] == 0 or pc["negative_pairs"] == 0:
            warnings.append(f"the {name} split cannot form both positive and negative pairs")
    summary["warnings"] = warnings
    return summary


def preview_pairs(data: Samples | PairSet, n: int = 4, seed: int = 0) -> list[dict[str, Any]]:
    """A few positive and negative training pairs, as the engine will build them."""
    rng = np.random.default_rng(seed)
    out = []
    if isinstance(data, PairSet):
        y = data.labels >= 0.5
        for want in (True, False):
            idx = np.flatnonzero(y == want)
            for k in rng.permutation(idx)[:n]:
                out.append({"a": data.a[k], "b": data.b[k], "label": float(data.labels[k]),
                            "a_name": f"pair {k + 1}", "b_name": f"pair {k + 1}"})
        return out
    names = data.names or [f"item {i + 1}" for i in range(len(data))]
    if data.labels is None:
        for k in rng.permutation(len(data))[:n]:
            out.append({"a": data.items[k], "b": data.items[k], "label": 1.0, "a_name": names[k],
                        "b_name": f"{names[k]} (augmented view)"})
        return out
    i, j, y = make_pairs(data.label_ids(), 400, seed)
    for want in (1.0, 0.0):
        for k in [k for k in range(len(y)) if y[k] == want][:n]:
            a, b = int(i[k]), int(j[k])
            out.append({"a": data.items[a], "b": data.items[b], "label": want,
                        "a_name": f"{names[a]} [{data.labels[a]}]", "b_name": f"{names[b]} [{data.labels[b]}]"})
    return out


# ----------------------------------------------------------------------------- input preparation
INK_BORDER = 0.75      # a border this bright (grey, 0-1) on average is paper
INK_MID_TONES = 0.2    # ... and at most this share of mid-tone pixels: ink on paper, not a photo
WIDE = 1.35            # median width / height beyond this (or below its inverse): keep the aspect ratio (pad)
# From-scratch input sizes, chosen by the images' median short side. At most 64 px: within a CPU time budget a
# bigger input costs more per step than it gives. `benchmarks/input_plan.py` (60 s from scratch, test AUC of unseen
# classes, fitted vs the old 48 px grey preset): with 64 px, LFW faces 0.598 vs 0.534, SVC2004 writers 0.982 vs
# 0.989; before the cap (128 / 96 px, the machine shared with a test run) 0.520 vs 0.534 and 0.906 vs 0.910.
SIZES = (32, 48, 64)
# What a visitor may set instead of the fitted choice (the fine-tune form's "Images from scratch" settings)
PLAN_CHOICES = {"image_kind": ("auto", "ink", "photo"), "image_channels": ("auto", "grey", "colour"),
                "image_fit": ("auto", "stretch", "center_crop", "pad")}


def image_input_plan(items: list[Any], sample: int = 24, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """How images like ``items`` should become a model's input, decided from ``sample`` of them spread over
    the data: ink on paper (crop to the strokes, bright strokes on dark) or photos; grey or colour; keep the
    aspect ratio (pad) for wide or tall images; a from-scratch input size from the median short side. Returns
    the ``ImagePreprocessor`` fields (``preprocessing``), the measurements and a reason per choice.

    ``overrides`` (the form's settings; "auto" or 0 leaves the fitted choice): ``image_kind`` ink / photo,
    ``image_channels`` grey / colour, ``image_fit`` stretch / center_crop / pad, ``image_size`` in pixels.
    A choice made this way is marked "set by you" in the reasons."""
    plan = _fitted_plan(items, sample)
    return apply_plan_overrides(plan, overrides or {})


def apply_plan_overrides(plan: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """The fitted ``plan`` with the visitor's choices applied (see :func:`image_input_plan`)."""
    if not plan.get("preprocessing"):
        return plan
    pre, why = dict(plan["preprocessing"]), dict(plan["reasons"])
    kind = overrides.get("image_kind", "auto")
    if kind not in ("auto", None) and kind != plan["kind"]:
        ink = kind == "ink"
        pre.update(invert="auto" if ink else "never", crop_to_content=ink)
        if pre["fit"] != "pad":
            pre["fit"] = "stretch" if ink else "center_crop"
        if ink:
            pre["channels"] = 1
        why.update(kind=f"{kind}: set by you (fitted: {plan['kind']})", invert="follows the kind you set",
                   crop_to_content="follows the kind you set")
    channels = overrides.get("image_channels", "auto")
    if channels not in ("auto", None):
        pre["channels"] = 1 if channels == "grey" else 3
        why["channels"] = f"{channels}: set by you"
    fit = overrides.get("image_fit", "auto")
    if fit not in ("auto", None):
        pre["fit"] = fit
        why["fit"] = f"{fit}: set by you"
    size = overrides.get("image_size") or 0
    if size:
        pre["size"] = int(size)
        why["size"] = f"{int(size)} px: set by you"
    return {**plan, "kind": kind if kind not in ("auto", None) else plan["kind"], "preprocessing": pre,
            "reasons": why, "overrides": {k: v for k, v in overrides.items() if v not in ("auto", 0, None)}}


def _fitted_plan(items: list[Any], sample: int) -> dict[str, Any]:
    from .domain import PHOTO_COLOUR as COLOUR, image_tones
    from .preprocess import open_image

    picks = [items[int(i)] for i in np.linspace(0, len(items) - 1, min(sample, len(items)))] if items else []
    sizes, colour, border, mid = [], [], [], []
    for item in picks:
        try:
            img = open_image(item, reduce_to=256)
        except Exception:  # noqa: BLE001 - unreadable files are reported by the data checks
            continue
        size = img.size
        if isinstance(item, (str, Path)):  # the file's own size (the pixels above may be a reduced copy)
            with Image.open(item) as header:
                size = header.size
        sizes.append(size)
        tones = image_tones(img)
        colour.append(tones["colour"])
        border.append(tones["border"])
        mid.append(tones["mid_tones"])
    if not sizes:
        return {"preprocessing": {}, "measured": {"images": 0}, "reasons": {}}
    w, h = (np.array(v, dtype=np.float64) for v in zip(*sizes))
    aspect, short = float(np.median(w / h)), float(np.median(np.minimum(w, h)))
    m = {"images": len(sizes), "median_width": int(np.median(w)), "median_height": int(np.median(h)),
         "median_aspect": round(aspect, 2), "colour": round(float(np.median(colour)), 3),
         "border_brightness": round(float(np.median(border)), 3), "mid_tones": round(float(np.median(mid)), 3)}
    ink = m["border_brightness"] >= INK_BORDER and m["mid_tones"] <= INK_MID_TONES and m["colour"] <= COLOUR
    wide = aspect > WIDE or aspect < 1 / WIDE
    size = next((s for s in SIZES if s >= short * 0.75), SIZES[-1]) if short >= SIZES[0] else SIZES[0]
    if ink and not wide:  # strokes need few pixels: 48 px is what the shipped handwriting model reads
        size = min(size, 48)
    plan = {"channels": 1 if ink or m["colour"] <= COLOUR / 2 else 3, "invert": "auto" if ink else "never",
            "crop_to_content": ink, "fit": "pad" if wide else ("stretch" if ink else "center_crop"), "size": size}
    why = {
        "kind": (f"ink on paper: a bright border ({m['border_brightness']:.2f}) and few mid tones ({m['mid_tones']:.0%})"
                 if ink else f"photos: {m['mid_tones']:.0%} mid tones, border brightness {m['border_brightness']:.2f}"),
        "channels": ("grey: " + ("ink drawings" if ink else f"hardly any colour (saturation {m['colour']:.2f})")
                     if plan["channels"] == 1 else f"colour (saturation {m['colour']:.2f})"),
        "invert": "bright strokes on dark, whatever the paper" if ink else "photos are used as they are",
        "crop_to_content": "cropped to the strokes' box" if ink else "the whole image",
        "fit": (f"padded to a square: the images are {'wide' if aspect > 1 else 'tall'} (median width / height "
                f"{aspect:.2f}), so the aspect ratio is kept" if wide else
                f"about square (median width / height {aspect:.2f})"),
        "size": (f"{size} px for a model trained from scratch (median short side {short:.0f} px; at most "
                 f"{SIZES[-1]} px, so a CPU budget buys enough steps)"),
    }
    return {"preprocessing": plan, "kind": "ink" if ink else "photo", "measured": m, "reasons": why}
