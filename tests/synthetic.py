"""Small synthetic datasets for the tests (no files from ../shared needed)."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

SHAPES = ("circle", "square", "triangle", "cross", "hbar", "vbar")


def shape_image(kind: str, rng: np.random.Generator, size: int = 32, invert: bool = False) -> Image.Image:
    img = Image.new("L", (size, size), 255 if not invert else 0)
    d = ImageDraw.Draw(img)
    ink = 0 if not invert else 255
    c = size / 2 + rng.uniform(-3, 3, size=2)
    r = rng.uniform(size * 0.22, size * 0.35)
    w = int(rng.integers(2, 4))
    x0, y0, x1, y1 = c[0] - r, c[1] - r, c[0] + r, c[1] + r
    if kind == "circle":
        d.ellipse([x0, y0, x1, y1], outline=ink, width=w)
    elif kind == "square":
        d.rectangle([x0, y0, x1, y1], outline=ink, width=w)
    elif kind == "triangle":
        d.line([(c[0], y0), (x1, y1), (x0, y1), (c[0], y0)], fill=ink, width=w)
    elif kind == "cross":
        d.line([(x0, y0), (x1, y1)], fill=ink, width=w)
        d.line([(x0, y1), (x1, y0)], fill=ink, width=w)
    elif kind == "hbar":
        d.line([(x0, c[1]), (x1, c[1])], fill=ink, width=w + 1)
    else:
        d.line([(c[0], y0), (c[0], y1)], fill=ink, width=w + 1)
    return img


def image_samples(n_per_class: int = 12, seed: int = 0, kinds=SHAPES):
    rng = np.random.default_rng(seed)
    items, labels = [], []
    for k in kinds:
        for _ in range(n_per_class):
            items.append(shape_image(k, rng))
            labels.append(k)
    return items, labels


FAMILIES = ("sine", "square", "saw", "chirp", "bump")


def series(kind: str, rng: np.random.Generator, length: int = 64, channels: int = 1) -> np.ndarray:
    t = np.linspace(0, 1, length)
    out = []
    for _ in range(channels):
        ph = rng.uniform(0, 0.2)
        if kind == "sine":
            x = np.sin(2 * np.pi * 3 * (t + ph))
        elif kind == "square":
            x = np.sign(np.sin(2 * np.pi * 3 * (t + ph)))
        elif kind == "saw":
            x = 2 * (((t + ph) * 3) % 1) - 1
        elif kind == "chirp":
            x = np.sin(2 * np.pi * (1 + 6 * t) * t)
        else:
            x = np.exp(-((t - 0.5 - ph) ** 2) / 0.01)
        out.append(x * rng.uniform(0.8, 1.2) + rng.normal(0, 0.05, length))
    return np.stack(out, axis=1).astype(np.float32)


def series_samples(n_per_class: int = 12, seed: int = 0, channels: int = 1, length: int = 64):
    rng = np.random.default_rng(seed)
    items, labels = [], []
    for k in FAMILIES:
        for _ in range(n_per_class):
            items.append(series(k, rng, int(length * rng.uniform(0.8, 1.2)), channels))
            labels.append(k)
    return items, labels


TOPICS = {
    "weather": "rain sun cloud storm wind snow cold warm forecast sky thunder humid".split(),
    "food": "bread cheese pasta soup salad apple spice bake cook dinner sauce fruit".split(),
    "sport": "goal team match score player coach ball league win race sprint referee".split(),
    "music": "song guitar piano melody band concert rhythm drum singer album note chord".split(),
}
FILLER = "the a today we they it was is very quite really and".split()


def sentence(topic: str, rng: np.random.Generator) -> str:
    words = list(rng.choice(TOPICS[topic], size=4, replace=False)) + list(rng.choice(FILLER, size=3))
    rng.shuffle(words)
    return " ".join(words)


def text_samples(n_per_class: int = 15, seed: int = 0):
    rng = np.random.default_rng(seed)
    items, labels = [], []
    for k in TOPICS:
        for _ in range(n_per_class):
            items.append(sentence(k, rng))
            labels.append(k)
    return items, labels


def text_pairs(n: int = 120, seed: int = 0):
    rng = np.random.default_rng(seed)
    topics = list(TOPICS)
    a, b, y = [], [], []
    for i in range(n):
        t1 = topics[rng.integers(len(topics))]
        t2 = t1 if i % 2 == 0 else topics[(topics.index(t1) + 1 + rng.integers(len(topics) - 1)) % len(topics)]
        a.append(sentence(t1, rng))
        b.append(sentence(t2, rng))
        y.append(1.0 if t1 == t2 else 0.0)
    return a, b, np.array(y, dtype=np.float32)
