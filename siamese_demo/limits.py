"""Every cap on what a visitor may send, and the allowed range of every numeric setting: one place.

``limits()`` reads the caps from the environment once (``SIAMESE_DEMO_<FIELD>``, e.g.
``SIAMESE_DEMO_IMAGE_PIXELS=12000000``); the readers, the preprocessors, the tabs, the training
engine and the README's "Limits and security" table all take their numbers from it.
``check_number`` refuses non-finite or out-of-range settings with the allowed range in the message.
"""
from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass, fields
from typing import Any

from .errors import DataError

ENV_PREFIX = "SIAMESE_DEMO_"


@dataclass(frozen=True)
class Limits:
    """Caps for a shared 2-vCPU Space. Each field's metadata-free docstring lives in ``DESCRIPTIONS``."""

    text_chars: int = 20_000            # one text to compare, or one CSV cell
    series_paste_chars: int = 1_000_000  # pasted series text, checked before parsing
    series_values: int = 200_000        # values in one series (time steps x channels)
    series_steps: int = 20_000          # time steps per series (comparisons and datasets)
    series_channels: int = 64           # channels per series
    series_file_bytes: int = 5_000_000  # one uploaded series file on a comparison tab
    series_abs_value: float = 1e15      # largest magnitude of a series value
    image_pixels: int = 25_000_000      # pixels of one image (uploads and images inside archives)
    archive_files: int = 3_000          # entries in an uploaded zip / files in a folder
    archive_bytes: int = 100_000_000    # uncompressed size of an archive
    file_bytes: int = 50_000_000        # one uploaded CSV / TSV / .ts file
    csv_rows: int = 5_000               # rows of a CSV dataset
    finetune_samples: int = 3_000       # samples or pairs in a fine-tuning dataset
    train_seconds: int = 300            # largest fine-tuning time budget
    search_candidates: int = 100        # candidates in one one-against-many search
    visitor_ttl_s: int = 3_600          # a visitor's models and files are deleted after this idle time
    download_ttl_s: int = 600           # a download link works once, within this time

    def describe(self) -> list[tuple[str, str, str]]:
        """(what, value, environment variable) rows for the README and the About tab."""
        return [(DESCRIPTIONS[f.name], _fmt(getattr(self, f.name)), ENV_PREFIX + f.name.upper())
                for f in fields(self)]


DESCRIPTIONS = {
    "text_chars": "characters in one text (comparison) or one CSV cell, checked before tokenizing",
    "series_paste_chars": "characters of a pasted series, checked before parsing",
    "series_values": "values in one series (time steps x channels)",
    "series_steps": "time steps of one series",
    "series_channels": "channels of one series",
    "series_file_bytes": "bytes of one series file uploaded for a comparison",
    "series_abs_value": "largest magnitude of a series value",
    "image_pixels": "pixels of one image (uploads, drawings and images inside archives)",
    "archive_files": "files in an uploaded zip archive",
    "archive_bytes": "uncompressed bytes of an uploaded archive",
    "file_bytes": "bytes of one uploaded CSV / TSV / .ts file",
    "csv_rows": "rows of a CSV dataset",
    "finetune_samples": "samples or pairs in a fine-tuning dataset",
    "train_seconds": "largest fine-tuning time budget (seconds)",
    "search_candidates": "candidates in one one-against-many search (gallery size), or references in one comparison",
    "visitor_ttl_s": "a visitor's models and files are deleted this many seconds after their last use",
    "download_ttl_s": "a download link works once, within this many seconds",
}


def duration_words(seconds: float) -> str:
    """A time span as a page says it: "an hour", "2 hours", "30 minutes", "45 seconds"."""
    for unit, size in (("hour", 3600), ("minute", 60), ("second", 1)):
        n = seconds / size
        if n >= 1 and (n.is_integer() or unit == "second" or n >= 10):
            n = round(n)
            return ("an hour" if unit == "hour" else f"a {unit}") if n == 1 else f"{n:,} {unit}s"
    return f"{seconds:g} seconds"


def _fmt(v: Any) -> str:
    if isinstance(v, float) and not v.is_integer():
        return f"{v:g}"
    if isinstance(v, float):
        return f"{v:.0e}" if v >= 1e9 else f"{int(v):,}"
    return f"{v:,}"


def from_env(environ: dict[str, str] | None = None) -> Limits:
    """Limits with each field overridden by ``SIAMESE_DEMO_<FIELD>`` when set (must be positive)."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for f in fields(Limits):
        raw = env.get(ENV_PREFIX + f.name.upper())
        if raw is None or not raw.strip():
            continue
        try:
            v = float(raw)
        except ValueError:
            raise ValueError(f"{ENV_PREFIX + f.name.upper()}={raw!r} is not a number") from None
        if not math.isfinite(v) or v <= 0:
            raise ValueError(f"{ENV_PREFIX + f.name.upper()}={raw!r} must be a positive number")
        values[f.name] = v if f.type in ("float", float) else int(v)
    return Limits(**values)


@functools.lru_cache(maxsize=1)
def limits() -> Limits:
    """The caps in force, read from the environment once per process."""
    return from_env()


def markdown_table(lim: Limits | None = None) -> str:
    """The README's "Limits and security" table (a test checks that the README holds exactly this)."""
    rows = ["| limit | value | environment variable |", "|---|---|---|"]
    rows += [f"| {what} | {value} | `{env}` |" for what, value, env in (lim or limits()).describe()]
    return "\n".join(rows)


# ----------------------------------------------------------------------------- numeric settings
SEED_MAX = 2**32 - 1

# name -> (low, high, integer, low_open): the allowed range of each numeric setting. The fine-tune
# form's sliders, the CLI and the server-side checks read these.
RANGES: dict[str, tuple[float, float, bool, bool]] = {
    "margin": (0.0, 10.0, False, False),        # 0 = the loss's default
    "batch_size": (0, 512, True, False),          # 0 = by the base; else at least 4 (AUTO_OR_AT_LEAST)
    "epochs": (1, 200, True, False),
    "lr": (0.0, 1.0, False, False),              # 0 = the default for the base
    "weight_decay": (0.0, 1.0, False, False),
    "lr_patience": (1, 50, True, False),
    "patience": (0, 100, True, False),
    "rotation": (0.0, 180.0, False, False),
    "crop_scale": (0.1, 1.0, False, False),
    "color_jitter": (0.0, 1.0, False, False),
    "jitter": (0.0, 1.0, False, False),
    "scaling": (0.0, 1.0, False, False),
    "warp": (0.0, 1.0, False, False),
    "word_dropout": (0.0, 0.9, False, False),
    "target_far": (0.0, 1.0, False, True),       # a rate in (0, 1]
    "seed": (0, SEED_MAX, True, False),
    "time_budget_s": (5, None, False, False),     # high: limits().train_seconds
    "image_size": (0, 224, True, False),          # 0 = fitted to the images
}
# settings whose 0 means "auto" and whose set values start higher: name -> the smallest set value
AUTO_OR_AT_LEAST = {"batch_size": 4}


def setting_range(name: str) -> tuple[float, float, bool, bool]:
    lo, hi, integer, lo_open = RANGES[name]
    if name == "time_budget_s":
        hi = limits().train_seconds
    return lo, hi, integer, lo_open


def check_number(value: Any, name: str, low: float | None = None, high: float | None = None,
                 integer: bool = False, low_open: bool = False) -> float | int:
    """``value`` as a finite number within [low, high] (``(low, high]`` with ``low_open``), else a
    DataError naming the setting and the allowed range. Strings holding a number are accepted."""
    if name in RANGES and low is None and high is None:
        low, high, integer, low_open = setting_range(name)
    rng = _range_text(low, high, integer, low_open)
    if isinstance(value, bool) or value is None:
        raise DataError(f"{name}: expected a number {rng}, got {value!r}")
    try:
        v = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError, OverflowError):
        raise DataError(f"{name}: {str(value)[:40]!r} is not a number; expected a number {rng}") from None
    if not math.isfinite(v):
        raise DataError(f"{name}: {value!r} is not a finite number; expected a number {rng}")
    if integer and not v.is_integer():
        raise DataError(f"{name}: {value!r} is not a whole number; expected a whole number {rng}")
    if (low is not None and (v < low or (low_open and v == low))) or (high is not None and v > high):
        raise DataError(f"{name}: {value!r} is out of range; expected a number {rng}")
    least = AUTO_OR_AT_LEAST.get(name)
    if least is not None and 0 < v < least:
        raise DataError(f"{name}: {value!r} is too small; expected 0 (auto) or a number from {least} to {high:,g}")
    return int(v) if integer else v


def _range_text(low, high, integer: bool, low_open: bool) -> str:
    f = (lambda x: f"{int(x):,}") if integer else (lambda x: f"{x:g}")
    if low is None and high is None:
        return "(finite)"
    if high is None:
        return f"{'above' if low_open else 'at least'} {f(low)}"
    if low is None:
        return f"at most {f(high)}"
    return f"{'above' if low_open else 'from'} {f(low)} {'up ' if low_open else ''}to {f(high)}"


def check_choice(value: Any, name: str, options) -> str:
    """``value`` when it is one of ``options``, else a DataError listing them."""
    opts = list(options)
    if not isinstance(value, str) or value not in opts:
        raise DataError(f"{name}: {str(value)[:40]!r} is not one of {', '.join(map(str, opts))}")
    return value


def ranges_table(lim: Limits | None = None) -> str:
    """The README's table of numeric settings and their allowed ranges."""
    lim = lim or limits()
    rows = ["| setting | allowed |", "|---|---|"]
    for name, (lo, hi, integer, lo_open) in RANGES.items():
        hi = lim.train_seconds if name == "time_budget_s" else hi
        if name in AUTO_OR_AT_LEAST:
            rows.append(f"| `{name}` | 0 (auto) or a {'whole number ' if integer else 'number '}"
                        f"{_range_text(AUTO_OR_AT_LEAST[name], hi, integer, lo_open)} |")
            continue
        rows.append(f"| `{name}` | {'whole number ' if integer else ''}{_range_text(lo, hi, integer, lo_open)} |")
    from .distances import distance_range

    spans = [f"{lo:g} to {hi:g} ({words})" for (lo, hi), words in
             ((distance_range(kind), words) for kind, words in
              (("cosine", "cosine"), ("head", "pair head"), ("euclidean", "Euclidean")))]
    rows.append(f"| threshold | from {', '.join(spans)} |")
    return "\n".join(rows)
