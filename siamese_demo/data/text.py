"""Text datasets: CSV with ``text_a,text_b,label`` (pairs) or ``text,label`` (labelled texts).

Pair labels are 0/1 or a graded score: scores in 0-1 are kept, scores up to 5 (STS style)
are divided by 5, so every pair label ends in [0, 1] with 1 = same / most similar.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError
from ..pairs import PairSet, Samples
from ._csv import read_text_file, sniff_rows
from .limits import Limits, limits as current_limits

PAIR_COLUMNS = ("text_a", "text_b", "label")
LABELLED_COLUMNS = ("text", "label")


def read_text_dataset(source: str | Path | bytes, name: str | None = None, limits: Limits | None = None) -> PairSet | Samples:
    limits = limits or current_limits()
    name = name or (Path(source).name if not isinstance(source, (bytes, bytearray)) else "upload")
    rows = sniff_rows(read_text_file(source, name, limits), name, limits)
    header = [c.strip().lower() for c in rows[0]]
    if all(c in header for c in PAIR_COLUMNS):
        cols = [header.index(c) for c in PAIR_COLUMNS]
        kind = "pairs"
    elif all(c in header for c in LABELLED_COLUMNS):
        cols = [header.index(c) for c in LABELLED_COLUMNS]
        kind = "labelled"
    else:
        raise DataError(f"{name}: columns {rows[0]} are not recognised; expected a header "
                        "'text_a,text_b,label' (pairs) or 'text,label' (labelled texts)")
    body = rows[1:]
    if not body:
        raise DataError(f"{name}: the header is there but no data rows follow")
    values: list[list[str]] = []
    for r, row in enumerate(body, start=2):
        if len(row) <= max(cols):
            raise DataError(f"{name}, row {r}: {len(row)} column(s), expected {len(header)}")
        cells = [row[c].strip() for c in cols]
        for col, cell in zip(PAIR_COLUMNS if kind == "pairs" else LABELLED_COLUMNS, cells):
            if not cell:
                raise DataError(f"{name}, row {r}: '{col}' is empty")
            if "\x00" in cell:
                raise DataError(f"{name}, row {r}: '{col}' contains a NUL character; remove it")
            if len(cell) > limits.text_chars:
                raise DataError(f"{name}, row {r}: '{col}' has {len(cell):,} characters "
                                f"(limit {limits.text_chars:,})")
        values.append(cells)
    if kind == "labelled":
        return Samples([v[0] for v in values], [v[1] for v in values], [f"row {i + 2}" for i in range(len(values))])
    labels = []
    for r, v in enumerate(values, start=2):
        try:
            labels.append(float(v[2]))
        except ValueError:
            raise DataError(f"{name}, row {r}: label '{v[2]}' is not a number; use 0/1 or a 0-5 score") from None
    y = np.asarray(labels, dtype=np.float32)
    if not np.isfinite(y).all() or y.min() < 0 or y.max() > 5:
        raise DataError(f"{name}: labels must be 0/1 or a similarity score between 0 and 5")
    graded = not set(np.unique(y).tolist()) <= {0.0, 1.0}
    if graded and y.max() > 1:
        y = y / 5.0
    return PairSet([v[0] for v in values], [v[1] for v in values], y, graded=graded)
