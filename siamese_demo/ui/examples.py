"""Clickable examples for the tabs: a clear positive and a clear negative each, from held-out data."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "examples"


HANDWRITING_MODEL, FACE_MODEL, PHOTO_MODEL = "omniglot-cnn", "face-efficientnet", "image-efficientnet-lite0"
SIGNATURE_MODEL = "signature-efficientnet"


def image_examples() -> list[list[str]]:
    """Handwritten characters, each pair with the handwriting model (clicking one also picks it)."""
    d = ROOT / "images"
    return [[str(d / "latin_c01_a.png"), str(d / "latin_c01_b.png"), HANDWRITING_MODEL],
            [str(d / "latin_c01_a.png"), str(d / "latin_c02_a.png"), HANDWRITING_MODEL],
            [str(d / "latin_c02_a.png"), str(d / "latin_c02_b.png"), HANDWRITING_MODEL]]


def photo_examples() -> tuple[list[list[str]], list[str]]:
    """Photos for the photo and face models (scikit-image's sample photos: public domain / CC0), each pair with
    the model it is for (clicking one also picks it), and their labels."""
    d = ROOT / "photos"
    a, mirrored, cat, coffee = (str(d / n) for n in ("astronaut.jpg", "astronaut_mirrored_darker.jpg",
                                                     "chelsea_cat.jpg", "coffee.jpg"))
    return ([[a, mirrored, FACE_MODEL], [a, cat, FACE_MODEL], [cat, coffee, PHOTO_MODEL]],
            ["a face: one photo, mirrored and darker", "a face and a cat (the face model finds no face)",
             "a cat and a coffee cup"])


def signature_examples() -> tuple[list[list[str]], list[str]]:
    """Synthetic signatures drawn here (``siamese_demo.recipes.signature_examples``; Hershey glyphs, public
    domain), each pair with the signature model, and their labels: what each pair is, not what the model says."""
    d = ROOT / "signatures"
    ref, genuine, forged, other = (str(d / f"{n}.png") for n in ("reference", "genuine", "forged", "other_hand"))
    return ([[ref, genuine, SIGNATURE_MODEL], [ref, forged, SIGNATURE_MODEL], [ref, other, SIGNATURE_MODEL]],
            ["one signer, twice", "the signer and a shaky, careful copy (a forgery)", "the same name in another hand"])


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


GALLERY = {
    "image": "20 Korean characters of Omniglot, one drawing each (an alphabet held out from training; "
             "MIT licence, Lake et al. 2015)",
    "text": "ten sentences written for this app",
    "timeseries": "six held-out test series of GunPoint and ItalyPowerDemand (UCR archive via aeon, BSD-3)",
}


def image_gallery() -> list[str]:
    """The bundled 20-way one-shot gallery: one drawing each of 20 held-out characters."""
    return sorted(str(p) for p in (ROOT / "gallery" / "omniglot20").glob("*.png"))


TEXT_GALLERY = ["A man is playing a guitar.", "A woman is slicing an onion.", "Two children are swimming in a pool.",
                "The stock market fell sharply on Monday.", "A cat sleeps on the couch.",
                "A dog runs across the grass.", "The train to Paris was delayed by an hour.",
                "She is reading a book in the library.", "Heavy rain is expected this weekend.",
                "A chef is cooking pasta in a kitchen."]


def series_gallery() -> list[tuple[str, str]]:
    """(name, pasted numbers) of the bundled series gallery."""
    d = ROOT / "series"
    return [(p.stem, p.read_text()) for p in sorted(d.glob("*.txt"))]


def series_example_labels() -> list[str]:
    return ["GunPoint: same class", "GunPoint: different classes", "ItalyPowerDemand: same class",
            "ItalyPowerDemand: different classes"]
