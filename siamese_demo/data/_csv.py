"""Shared CSV helpers: decode as UTF-8 with a clear error, sniff the delimiter, cap the size."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from ..errors import DataError
from .limits import Limits


def read_text_file(source: str | Path | bytes, name: str, limits: Limits) -> str:
    if isinstance(source, (bytes, bytearray)):
        raw = bytes(source)
    else:
        p = Path(source)
        if not p.is_file():
            raise DataError(f"{name}: file not found")
        if p.stat().st_size > limits.file_bytes:
            raise DataError(f"{name}: {p.stat().st_size / 1e6:.1f} MB is over the limit of "
                            f"{limits.file_bytes / 1e6:.0f} MB")
        raw = p.read_bytes()
    if len(raw) > limits.file_bytes:
        raise DataError(f"{name}: over the limit of {limits.file_bytes / 1e6:.0f} MB")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(f"{name}: not UTF-8 text (bad byte at line {line}); save the file as UTF-8") from None
    if not text.strip():
        raise DataError(f"{name}: the file is empty")
    return text


def sniff_rows(text: str, name: str, limits: Limits, delimiters: str = ",\t;") -> list[list[str]]:
    sample = text[:20_000]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=delimiters)
        delim = dialect.delimiter
    except csv.Error:
        delim = "\t" if "\t" in sample else ","
    rows = [r for r in csv.reader(io.StringIO(text), delimiter=delim) if any(c.strip() for c in r)]
    if len(rows) > limits.csv_rows + 1:
        raise DataError(f"{name}: {len(rows):,} rows is over the limit of {limits.csv_rows:,}")
    return rows
