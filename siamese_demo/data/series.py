"""Time-series datasets (UCR-style CSV/TSV with the class label in the first column, and
sktime/aeon ``.ts`` files) and single series pasted or uploaded for a comparison."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..pairs import Samples
from ..preprocess import as_series, check_series_size, check_values
from ._csv import read_text_file, sniff_rows
from .limits import Limits, limits as current_limits

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^(nan|NaN|NA|)$|^[+-]?(inf|infinity)$", re.I)


def _to_float(cell: str, where: str) -> float:
    cell = cell.strip()
    if cell in ("", "nan", "NaN", "NA", "?"):
        return np.nan
    try:
        return float(cell)
    except ValueError:
        raise DataError(f"{where}: '{cell[:30]}' is not a number") from None


def _trim(values: np.ndarray, where: str) -> np.ndarray:
    """Drop trailing NaN padding (UCR variable-length layout); inner NaN is an error."""
    finite = np.flatnonzero(np.isfinite(values).all(axis=-1) if values.ndim > 1 else np.isfinite(values))
    if len(finite) == 0:
        raise DataError(f"{where}: no numbers")
    values = values[: finite[-1] + 1]
    if len(values) < 2:
        raise DataError(f"{where}: a series needs at least 2 values")
    check_series_size(len(values), values.shape[1] if values.ndim > 1 else 1, where)
    check_values(values, where)
    return values


def _read_ts(text: str, name: str, limits: Limits) -> Samples:
    items, labels = [], []
    in_data = False
    has_labels = True
    for lineno, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not in_data:
            low = line.lower()
            if low.startswith("@classlabel"):
                has_labels = "true" in low.split()[1:2]
            if low.startswith("@data"):
                in_data = True
            continue
        parts = line.split(":")
        label = parts.pop().strip() if has_labels else None
        if not parts:
            raise DataError(f"{name}, line {lineno}: no values before the class label")
        dims = [np.array([_to_float(c, f"{name}, line {lineno}") for c in p.split(",")]) for p in parts]
        if len({len(d) for d in dims}) != 1:
            raise DataError(f"{name}, line {lineno}: the {len(dims)} channels have different lengths")
        items.append(_trim(np.stack(dims, axis=1), f"{name}, line {lineno}"))
        labels.append(label)
        if len(items) > limits.csv_rows:
            raise DataError(f"{name}: more than {limits.csv_rows:,} series")
    if not in_data:
        raise DataError(f"{name}: a .ts file needs an '@data' line before the series")
    if not items:
        raise DataError(f"{name}: no series after '@data'")
    if len({x.shape[1] for x in items}) != 1:
        raise DataError(f"{name}: series have different channel counts")
    return Samples(items, labels if has_labels else None, [f"series {i + 1}" for i in range(len(items))])


def read_series_dataset(source: str | Path | bytes, name: str | None = None, limits: Limits | None = None) -> Samples:
    """Labelled series from a UCR CSV/TSV (label, v1, v2, ...) or a ``.ts`` file."""
    limits = limits or current_limits()
    name = name or (Path(source).name if not isinstance(source, (bytes, bytearray)) else "upload")
    data = _read_series(source, name, limits)
    for i, x in enumerate(data.items):
        if len(x) > limits.series_steps:
            raise DataError(f"{name}: series {i + 1} has {len(x):,} time steps (limit {limits.series_steps:,}); "
                            "downsample it first")
    return data


def _read_series(source, name: str, limits: Limits) -> Samples:
    text = read_text_file(source, name, limits)
    if name.lower().endswith(".ts") or re.search(r"^\s*@data", text, re.I | re.M):
        return _read_ts(text, name, limits)
    rows = sniff_rows(text, name, limits, delimiters=",\t; ")
    if len(rows[0]) > 1 and not all(_NUMBER.match(c.strip()) for c in rows[0][1:]):
        rows = rows[1:]  # a header row
    if not rows:
        raise DataError(f"{name}: no data rows")
    items, labels = [], []
    for r, row in enumerate(rows, start=1):
        cells = [c for c in row if c is not None]
        if len(cells) < 3:
            raise DataError(f"{name}, row {r}: expected the class label then at least 2 values "
                            "(UCR layout: label, v1, v2, ...)")
        where = f"{name}, row {r}"
        values = np.array([_to_float(c, where) for c in cells[1:]])
        items.append(_trim(values, where)[:, None].astype(np.float32))
        label = cells[0].strip()
        if not label:
            raise DataError(f"{where}: the class label (first column) is empty")
        labels.append(label[:-2] if re.fullmatch(r"-?\d+\.0", label) else label)
    return Samples(items, labels, [f"row {i + 1}" for i in range(len(items))])


_GROUPED = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")


def _refuse_thousands_separators(lines: list[str], name: str) -> None:
    """'1,000 2,000' is ambiguous (two values with thousands separators, or four values): refuse it
    rather than guess. Only lines that also separate values by spaces or tabs are checked."""
    for i, ln in enumerate(lines, start=1):
        words = ln.split()
        if len(words) > 1 and any(_GROUPED.match(w.strip(",;")) for w in words):
            bad = next(w for w in words if _GROUPED.match(w.strip(",;")))
            raise DataError(f"{name}, line {i}: '{bad[:30]}' looks like a number with a thousands separator; "
                            "write numbers without separators (1000, not 1,000) and separate values with "
                            "commas, spaces or new lines")


def parse_series_text(text: str, name: str = "series") -> np.ndarray:
    """One series from pasted text or a small file: numbers separated by commas, spaces or
    newlines; several columns are channels; a header line is skipped. Returns (T, C)."""
    if text is not None and not isinstance(text, str):
        raise DataError(f"{name}: expected pasted numbers as text, got {type(text).__name__}")
    cap = current_limits().series_paste_chars
    if text is not None and len(text) > cap:
        raise DataError(f"{name}: {len(text):,} characters of pasted numbers is over the limit of {cap:,}; "
                        "upload a file or downsample the series")
    if text is None or not str(text).strip():
        raise DataError(f"{name} is empty: paste numbers or upload a CSV/TSV/TXT file")
    lines = [ln for ln in str(text).strip().splitlines() if ln.strip()]
    _refuse_thousands_separators(lines, name)
    split = [re.split(r"[,\t; ]+", ln.strip()) for ln in lines]
    check_series_size(len(split) if len(split) > 1 else len(split[0]), len(split[0]) if len(split) > 1 else 1, name)
    if split and not all(_NUMBER.match(c) for c in split[0]):
        if any(re.match(r"^[+-]?[\d.]", c) for c in split[0]):
            bad = next(c for c in split[0] if not _NUMBER.match(c))
            raise DataError(f"{name}: '{bad[:30]}' on line 1 is not a number")
        split = split[1:]  # header
    if not split:
        raise DataError(f"{name}: no numbers found")
    if len(split) == 1:
        split = [[c] for c in split[0]]  # one line of numbers = a univariate series
    widths = {len(r) for r in split}
    if len(widths) != 1:
        raise DataError(f"{name}: rows have different numbers of columns {sorted(widths)}; "
                        "every row needs one value per channel")
    values = np.array([[_to_float(c, f"{name}, line {i + 1}") for c in r] for i, r in enumerate(split)])
    return as_series(values, name)
