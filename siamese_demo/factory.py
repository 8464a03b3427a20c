"""Build fresh (untrained) Siamese models with preprocessing that suits each modality."""
from __future__ import annotations

from typing import Any, Sequence

from .encoders import build_encoder
from .preprocess import ImagePreprocessor, SeriesPreprocessor, TextPreprocessor, train_tokenizer
from .siamese import SiameseModel

DEFAULT_ENCODER = {"image": "cnn", "text": "transformer", "timeseries": "lstm"}


def build_model(
    modality: str,
    encoder: str | None = None,
    encoder_options: dict[str, Any] | None = None,
    preprocessing: dict[str, Any] | None = None,
    distance: str = "euclidean",
    normalize: bool = False,
    head: bool = False,
    texts: Sequence[str] | None = None,
    tokenizer=None,
    vocab_size: int = 8000,
) -> SiameseModel:
    """A new model for ``modality``. Text needs a ``tokenizer`` or ``texts`` to train one on."""
    encoder = encoder or DEFAULT_ENCODER[modality]
    opts = dict(encoder_options or {})
    prep = dict(preprocessing or {})
    if modality == "image":
        pre = ImagePreprocessor(**prep)
        opts.setdefault("in_channels", pre.channels)
    elif modality == "timeseries":
        pre = SeriesPreprocessor(**prep)
        opts.setdefault("input_kind", "series")
        if pre.channels is None:
            opts.setdefault("channel_independent", True)
        else:
            opts.setdefault("in_channels", pre.channels)
    elif modality == "text":
        if tokenizer is None:
            if not texts:
                raise ValueError("a text model needs a tokenizer or texts to train one on")
            tokenizer = train_tokenizer(list(texts), vocab_size=vocab_size, min_frequency=1)
        pre = TextPreprocessor(tokenizer=tokenizer, **prep)
        opts.setdefault("input_kind", "tokens")
        opts.setdefault("vocab_size", tokenizer.get_vocab_size())
        if encoder == "transformer":
            opts.setdefault("max_length", max(pre.max_length, 8))
    else:
        raise ValueError(f"unknown modality {modality!r}")
    return SiameseModel(build_encoder(encoder, **opts), pre, modality, distance, normalize, head)
