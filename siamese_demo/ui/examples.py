"""Clickable examples for the tabs: a clear positive and a clear negative each, from held-out data."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "examples"


def image_examples() -> list[list[str]]:
    d = ROOT / "images"
    return [[str(d / "latin_c01_a.png"), str(d / "latin_c01_b.png")],
            [str(d / "latin_c01_a.png"), str(d / "latin_c02_a.png")],
            [str(d / "latin_c02_a.png"), str(d / "latin_c02_b.png")]]


def text_examples() -> list[list[str]]:
    return [["A woman is slicing an onion.", "A woman is cutting an onion."],
            ["A woman is slicing an onion.", "Two children are swimming in a pool."],
            ["The cat is sleeping on the sofa.", "A cat sleeps on the couch."],
            ["A dog is running in the park.", "A puppy runs across the grass."]]


def series_examples() -> list[list[str]]:
    d = ROOT / "series"
    read = lambda name: (d / f"{name}.txt").read_text()  # noqa: E731
    return [[read("gunpoint_class1_a"), read("gunpoint_class1_b")],
            [read("gunpoint_class1_a"), read("gunpoint_class2_a")],
            [read("italypower_class1_a"), read("italypower_class1_b")],
            [read("italypower_class1_a"), read("italypower_class2_a")]]
