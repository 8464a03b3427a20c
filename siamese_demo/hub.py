"""Pretrained encoders from the Hugging Face Hub and torchvision (used where the network is up).

``load_hub("sentence-transformers/all-MiniLM-L6-v2")`` wraps a sentence-transformers model;
``load_hub("torchvision/resnet18")`` uses an ImageNet-pretrained torchvision CNN. Both are tried
only when asked for explicitly. Without network (and nothing cached) they fail within seconds
with :class:`HubUnavailable`, naming what would have been downloaded.
"""
from __future__ import annotations

import socket
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import torch
from torch import nn

from .encoders import register
from .errors import DataError
from .preprocess import ImagePreprocessor, check_text, pad_tokens
from .siamese import SiameseModel

IMAGENET_MEAN, IMAGENET_STD = 0.449, 0.226  # channel-averaged ImageNet statistics


class HubUnavailable(RuntimeError):
    """A pretrained model would need a download and the network is not reachable."""


def _reachable(url: str, timeout: float = 3.0) -> bool:
    parts = urlparse(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


# ------------------------------------------------------------------ sentence-transformers
@dataclass
class SentenceTransformerConfig:
    path: str = ""               # Hub id or local folder of a sentence-transformers model
    max_length: int = 128


class SentenceTransformerEncoder(nn.Module):
    """A ``sentence_transformers.SentenceTransformer`` as an encoder: token batch -> (B, D)."""

    owns_weights = True

    def __init__(self, config: SentenceTransformerConfig):
        super().__init__()
        from sentence_transformers import SentenceTransformer

        self.config = config
        self.st = SentenceTransformer(config.path, device="cpu")
        self.st.max_seq_length = config.max_length
        get_dim = getattr(self.st, "get_embedding_dimension", None) or self.st.get_sentence_embedding_dimension
        self._dim = get_dim()

    @property
    def embedding_dim(self) -> int:
        return int(self._dim)

    @property
    def tokenizer(self):
        return self.st.tokenizer

    def early_blocks(self, k: int) -> list[nn.Module]:
        """The token embeddings and the first ``k`` transformer layers (what fine-tuning may keep fixed)."""
        bert = self.st[0].auto_model
        if not (hasattr(bert, "embeddings") and hasattr(bert, "encoder")):
            raise ValueError("no blocks to freeze in this sentence-transformers model")
        return [bert.embeddings, *list(bert.encoder.layer)[:k]] if k else []

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.st(dict(batch))["sentence_embedding"]

    def saved_config(self) -> dict[str, Any]:
        return {"name": "sentence_transformer", **asdict(self.config), "path": "sentence_transformer"}

    def save_pretrained(self, folder: Path) -> None:
        self.st.save(str(Path(folder) / "sentence_transformer"))


@dataclass
class SentenceTransformerPreprocessor:
    """Tokenises with the wrapped model's own tokenizer."""

    encoder: Any = None
    max_length: int = 128
    kind: str = field(default="st_text", init=False)

    def encode(self, item: Any, name: str = "text") -> torch.Tensor:
        check_text(item, name)
        ids = self.encoder.tokenizer(item, truncation=True, max_length=self.max_length)["input_ids"]
        return torch.tensor(ids, dtype=torch.long)

    def tokens(self, item: str) -> list[str]:
        return self.encoder.tokenizer.tokenize(item)[: self.max_length]

    def collate(self, items: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        tok = self.encoder.tokenizer
        batch = pad_tokens(items, tok.pad_token_id or 0)
        if "token_type_ids" in getattr(tok, "model_input_names", []):
            batch["token_type_ids"] = torch.zeros_like(batch["input_ids"])
        return batch

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "st_text", "max_length": self.max_length}


register("sentence_transformer", SentenceTransformerConfig, SentenceTransformerEncoder)


def _st_cached(model_id: str) -> bool:
    try:
        from huggingface_hub import snapshot_download

        snapshot_download(model_id, local_files_only=True)
        return True
    except Exception:  # noqa: BLE001 - any failure means "not usable from the cache"
        return False


def sentence_transformer_model(path_or_id: str, max_length: int = 128, threshold: float | None = None) -> SiameseModel:
    """A text SiameseModel (cosine distance) around a sentence-transformers model."""
    local = Path(path_or_id).is_dir()
    if not local and not _st_cached(path_or_id):
        from huggingface_hub import constants

        if constants.HF_HUB_OFFLINE or not _reachable(constants.ENDPOINT):
            raise HubUnavailable(
                f"would download the sentence-transformers model '{path_or_id}' from {constants.ENDPOINT}, "
                "which is not reachable from here (offline); use a shipped model instead")
    enc = SentenceTransformerEncoder(SentenceTransformerConfig(path=path_or_id, max_length=max_length))
    pre = SentenceTransformerPreprocessor(enc, max_length=max_length)
    info = {"name": path_or_id, "source": "hub" if not local else "local sentence-transformers folder"}
    return SiameseModel(enc, pre, "text", "cosine", normalize=False, threshold=threshold, info=info)


# ------------------------------------------------------------------ torchvision
def torchvision_model(arch: str = "resnet18", threshold: float | None = None, size: int = 224) -> SiameseModel:
    """An image SiameseModel (cosine distance) on an ImageNet-pretrained torchvision backbone."""
    import torchvision

    from .encoders import build_encoder

    try:
        weights = torchvision.models.get_model_weights(arch).DEFAULT
    except (ValueError, KeyError):
        raise DataError(f"unknown torchvision model {arch!r}") from None
    cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(weights.url).path).name
    if not cached.exists() and not _reachable(weights.url):
        raise HubUnavailable(f"would download the ImageNet weights of torchvision {arch} from {weights.url}, "
                             "which is not reachable from here (offline); use a shipped model instead")
    enc = build_encoder("cnn", in_channels=3, backbone=arch, pretrained=True, embedding_dim=0)
    pre = ImagePreprocessor(size=size, channels=3, invert="never", mean=IMAGENET_MEAN, std=IMAGENET_STD)
    return SiameseModel(enc, pre, "image", "cosine", threshold=threshold,
                        info={"name": f"torchvision/{arch}", "source": "torchvision ImageNet weights"})


def load_hub(model_id: str) -> SiameseModel:
    """Load ``torchvision/<arch>`` or a sentence-transformers Hub id."""
    if model_id.startswith("torchvision/"):
        return torchvision_model(model_id.split("/", 1)[1])
    return sentence_transformer_model(model_id)
