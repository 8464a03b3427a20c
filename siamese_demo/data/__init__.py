"""Readers and validators for the upload formats (images, text CSV, time-series CSV/TSV/.ts).

Every problem raises :class:`siamese_demo.errors.DataError` with a message naming the file,
row or entry, what is wrong and what is expected. Archives are read in memory with caps on
entry count, total size and image pixels; nothing is written to disk.
"""
from ..errors import DataError
from .images import read_image_dataset
from .limits import Limits
from .series import parse_series_text, read_series_dataset
from .text import read_text_dataset


def check_trainable(samples) -> None:
    """Raise DataError unless class-labelled ``samples`` can form positive and negative pairs."""
    if samples.labels is None:
        if len(samples) < 2:
            raise DataError("an unlabelled set needs at least two samples")
        return
    from collections import Counter

    counts = Counter(map(str, samples.labels))
    if len(counts) < 2:
        only = next(iter(counts))
        raise DataError(f"only one class ({only!r}): training needs at least two classes to form "
                        "different-class pairs")
    if max(counts.values()) < 2:
        raise DataError("every class has a single sample: same-class pairs need at least one class "
                        "with two or more samples")


__all__ = ["DataError", "Limits", "check_trainable", "read_image_dataset", "read_text_dataset",
           "read_series_dataset", "parse_series_text"]
