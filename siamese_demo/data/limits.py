"""Caps on uploads; the defaults suit a shared CPU Space."""
from __future__ import annotations

from dataclasses import dataclass

from ..preprocess import MAX_IMAGE_PIXELS


@dataclass(frozen=True)
class Limits:
    max_files: int = 5_000                 # entries in an archive / files in a folder
    max_total_bytes: int = 200_000_000     # uncompressed archive size
    max_file_bytes: int = 50_000_000       # one text/CSV file
    max_image_pixels: int = MAX_IMAGE_PIXELS
    max_rows: int = 50_000                 # CSV rows
    max_text_chars: int = 20_000
    max_series_length: int = 20_000        # time steps per series
