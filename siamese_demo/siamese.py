"""The Siamese model: one shared encoder for both inputs, a distance, and a saved threshold.

Conventions (see README): label 1 = same, 0 = different; distance lower = more similar;
score in [0, 1], higher = more similar; ``same = distance <= threshold``.
"""
from __future__ import annotations

import math
from functools import partial
from dataclasses import asdict, dataclass
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .distances import pair_distance, score_from_distance
from .errors import DataError
from .losses import PairHead
from .search import CANDIDATE_CACHE, EmbeddingCache, check_candidates

MODALITIES = ("image", "text", "timeseries")
DEFAULT_THRESHOLDS = {"euclidean": 1.0, "cosine": 0.5, "head": 0.5}


def reference_mean(emb: np.ndarray, normalize: bool) -> np.ndarray:
    """What a query is compared with when there are several references of one subject (a writer's genuine
    signatures): the mean of their embeddings, L2-normalised again when the model normalises its embeddings.
    ``emb``: (N, D) -> (D,)."""
    centre = np.asarray(emb, dtype=np.float64).mean(0)
    if normalize:
        centre = centre / max(float(np.linalg.norm(centre)), 1e-12)
    return centre.astype(np.float32)


def reference_spread(emb: np.ndarray, distances: Callable[[Any, Any], np.ndarray]) -> float:
    """How much several references of one subject differ among themselves: the mean distance over every pair of
    their embeddings ``emb`` (N, D), measured by ``distances(a, b)`` (a model's ``distances_from_embeddings``);
    0 for a single reference."""
    i, j = np.triu_indices(len(emb), 1)
    return float(np.mean(np.asarray(distances(emb[i], emb[j]), dtype=np.float64))) if len(i) else 0.0


def references_scale(spread: float, fitted: dict[str, Any]) -> float:
    """What a distance to several references is divided by before the fitted threshold and calibration apply:
    the references' :func:`reference_spread` plus the prior spread the recipe chose (``fitted["spread_prior"]``:
    a writer whose signatures vary among themselves gets a wider threshold; the prior keeps two near-identical
    references from narrowing it to nothing). 1.0 for a model fitted without it."""
    prior = fitted.get("spread_prior")
    return 1.0 if prior is None else float(spread) + float(prior)


def decide(distance: float, threshold: float, p_same: float) -> tuple[bool, float]:
    """The answer for a distance: same when ``distance <= threshold``, and how sure (p(same) for "same",
    1 - p(same) for "different"). The one rule, for a comparison and for a new threshold on a stored one."""
    same = bool(distance <= threshold)
    return same, float(p_same if same else 1.0 - p_same)


@dataclass
class Comparison:
    score: float            # [0, 1], higher = more similar
    distance: float         # lower = more similar (for a pair head: 1 - p(same))
    threshold: float        # in distance units: same when distance <= threshold
    threshold_score: float  # the threshold on the score scale
    same: bool
    confidence: float       # probability that the decision is right, from the model's calibration
    p_same: float           # calibrated probability that the pair is "same"
    distance_kind: str      # "euclidean", "cosine" or "head"
    calibrated: bool        # False when the model has no validation calibration

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class SiameseModel(nn.Module):
    def __init__(
        self,
        encoder: nn.Module,
        preprocessor: Any,
        modality: str,
        distance: str = "euclidean",
        normalize: bool = False,
        head: bool = False,
        threshold: float | None = None,
        info: dict[str, Any] | None = None,
    ):
        super().__init__()
        if modality not in MODALITIES:
            raise ValueError(f"modality must be one of {MODALITIES}")
        if distance not in ("euclidean", "cosine"):
            raise ValueError("distance must be 'euclidean' or 'cosine'")
        self.encoder = encoder
        self.preprocessor = preprocessor
        self.modality = modality
        self.distance = distance
        self.normalize = normalize
        self.head = PairHead(encoder.embedding_dim) if head else None
        self.threshold = threshold
        self.info: dict[str, Any] = dict(info or {})

    # ------------------------------------------------------------------ tensors
    @property
    def decision_kind(self) -> str:
        return "head" if self.head is not None else self.distance

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def encode(self, batch: dict[str, torch.Tensor], encoder: torch.nn.Module | None = None) -> torch.Tensor:
        """Batch dict -> (B, D) embeddings (L2-normalised when ``normalize``). ``encoder`` replaces
        the own encoder for one call (the training engine passes its DistributedDataParallel wrapper)."""
        emb = (encoder or self.encoder)(batch).float()
        return F.normalize(emb, dim=-1) if self.normalize else emb

    def forward(self, batch_a: dict[str, torch.Tensor], batch_b: dict[str, torch.Tensor]):
        """Both branches through the same encoder -> (emb_a, emb_b), each (B, D)."""
        return self.encode(batch_a), self.encode(batch_b)

    def pair_logits(self, emb_a: torch.Tensor, emb_b: torch.Tensor) -> torch.Tensor:
        if self.head is None:
            raise ValueError("this model has no pair head (it was not built for binary cross-entropy)")
        return self.head(emb_a, emb_b)

    def decision_distance(self, emb_a: torch.Tensor, emb_b: torch.Tensor) -> torch.Tensor:
        """(B,) distances the threshold applies to: embedding distance, or 1 - p(same) with a head."""
        if self.head is not None:
            return 1.0 - torch.sigmoid(self.head(emb_a, emb_b))
        return pair_distance(emb_a, emb_b, self.distance)

    # ------------------------------------------------------------------ raw items
    def prepare(self, items: Sequence[Any], names: Sequence[str] | None = None) -> list[torch.Tensor]:
        out = []
        for i, item in enumerate(items):
            name = names[i] if names else (f"item {i + 1}" if len(items) > 1 else None)
            out.append(self.preprocessor.encode(item, name) if name else self.preprocessor.encode(item))
        return out

    @torch.no_grad()
    def embed_tensors(self, tensors: list[torch.Tensor], batch_size: int = 64) -> torch.Tensor:
        was_training = self.training
        self.eval()
        try:
            if not tensors:
                return torch.zeros(0, self.encoder.embedding_dim)
            # batches of similar lengths (token ids, series): less padding to compute; images are all one size
            order = sorted(range(len(tensors)), key=lambda k: tensors[k].shape[0] if tensors[k].dim() else 0)
            chunks = []
            for start in range(0, len(order), batch_size):
                batch = self.preprocessor.collate([tensors[k] for k in order[start: start + batch_size]])
                batch = {k: v.to(self.device) for k, v in batch.items()}
                chunks.append(self.encode(batch).float().cpu())
            done = torch.cat(chunks)
            out = torch.empty_like(done)
            out[torch.as_tensor(order)] = done
            return out
        finally:
            self.train(was_training)

    def embed(self, items: Sequence[Any], batch_size: int = 64) -> np.ndarray:
        """Raw items (PIL images / paths, strings, 1-D or (T, C) arrays) -> (N, D) float32."""
        if isinstance(items, (str, bytes)) or not isinstance(items, Sequence) and not isinstance(items, np.ndarray):
            items = [items]
        return self.embed_tensors(self.prepare(list(items)), batch_size).numpy()

    @torch.no_grad()
    def distances_from_embeddings(self, emb_a, emb_b) -> np.ndarray:
        ea, eb = torch.as_tensor(emb_a).to(self.device), torch.as_tensor(emb_b).to(self.device)
        was_training = self.training
        self.eval()
        try:
            return self.decision_distance(ea, eb).float().cpu().numpy()
        finally:
            self.train(was_training)

    def p_same(self, distance: float, fitted: dict[str, Any] | None = None) -> tuple[float, bool]:
        """Calibrated probability of "same" at ``distance`` (logistic fit on validation pairs). ``fitted``: a
        threshold and calibration for another kind of distance (``info["references"]``: to the mean of several
        references)."""
        fitted = fitted or {}
        cal = fitted.get("calibration") if fitted else self.info.get("calibration")
        if cal:
            z = cal["coef"] * distance + cal["intercept"]
            return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0))), True
        thr = fitted.get("threshold") or self.effective_threshold()
        scale = 0.15 * max(thr, 1e-6)  # relative to the threshold, whatever its scale
        z = (thr - distance) / scale
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0))), False

    def effective_threshold(self, threshold: float | None = None) -> float:
        if threshold is not None:
            return float(threshold)
        if self.threshold is not None:
            return float(self.threshold)
        return DEFAULT_THRESHOLDS[self.decision_kind]

    def compare(self, a: Any, b: Any, threshold: float | None = None) -> Comparison:
        """Compare two raw items; ``threshold`` (distance units) overrides the saved one."""
        ta = self.prepare([a], ["first input"])
        tb = self.prepare([b], ["second input"])
        if self.modality == "timeseries" and ta[0].shape[1] != tb[0].shape[1]:
            raise DataError(f"the two series have different channel counts ({ta[0].shape[1]} and "
                            f"{tb[0].shape[1]}); give both the same channels")
        emb = self.embed_tensors(ta + tb)
        d = float(self.distances_from_embeddings(emb[:1], emb[1:])[0])
        return self._answer(d, self.effective_threshold(threshold))

    def _answer(self, d: float, threshold: float, fitted: dict[str, Any] | None = None) -> Comparison:
        """The :class:`Comparison` for distance ``d`` at ``threshold``, p(same) from the model's calibration
        (``fitted``'s, for a distance to several references)."""
        p, calibrated = self.p_same(d, fitted)
        same, confidence = decide(d, threshold, p)
        kind = self.decision_kind
        return Comparison(score=float(score_from_distance(d, kind)), distance=d, threshold=threshold,
                          threshold_score=float(score_from_distance(threshold, kind)), same=same,
                          confidence=confidence, p_same=float(p), distance_kind=kind, calibrated=calibrated)

    def compare_to_references(self, references: Sequence[Any], query: Any,
                              threshold: float | None = None) -> Comparison:
        """Compare ``query`` with several ``references`` of one subject (a writer's known genuine signatures):
        the distance from its embedding to the references' mean (:func:`reference_mean`), steadier than any one
        of them. The threshold and calibration are those the model's recipe fitted to such distances on
        validation data (``info["references"]``) when it has them, widened for references that differ among
        themselves where it fitted them so (:func:`references_scale`), else its pair ones; ``threshold``
        (distance units) overrides."""
        if self.head is not None:
            raise DataError("this model scores pairs with a learned head, which takes two inputs, not a mean of "
                            "several; compare the pairs one by one")
        refs = check_candidates(references, "references")
        tensors = self.prepare(refs + [query], [f"reference {i + 1}" for i in range(len(refs))] + ["the query"])
        if self.modality == "timeseries" and len({t.shape[1] for t in tensors}) > 1:
            raise DataError("the series have different channel counts; give them all the same channels")
        emb = self.embed_tensors(tensors)
        centre = torch.from_numpy(reference_mean(emb[:-1].numpy(), self.normalize))
        d = float(self.distances_from_embeddings(emb[-1:], centre[None])[0])
        fitted = dict(self.info.get("references") or {})
        if fitted.get("spread_prior") is not None and fitted.get("threshold") is not None:
            # fitted to distance / scale: in distance units, these references' threshold and calibration
            scale = references_scale(reference_spread(emb[:-1], self.distances_from_embeddings), fitted)
            fitted["threshold"] = float(fitted["threshold"]) * scale
            if fitted.get("calibration"):
                fitted["calibration"] = {**fitted["calibration"], "coef": fitted["calibration"]["coef"] / scale}
        thr = float(threshold) if threshold is not None else float(fitted.get("threshold") or
                                                                   self.effective_threshold())
        return self._answer(d, thr, fitted)

    def rank(self, query: Any, candidates: Sequence[Any], threshold: float | None = None,
             cache: EmbeddingCache | None = None) -> list[tuple[int, float]]:
        """Rank raw ``candidates`` against ``query`` -> ``(index, distance)`` pairs, smallest distance
        first (ties by index). Each distance is the one ``compare(query, candidate)`` gives (embedding
        distance, or 1 - p(same) with a pair head); the candidates are embedded in one batch and
        cached (``cache``, default :data:`search.CANDIDATE_CACHE`), so an unchanged gallery is embedded
        once. ``threshold`` (distance units) keeps only candidates with distance <= threshold; None
        keeps all. At most :data:`search.MAX_CANDIDATES` candidates, else a DataError."""
        items = check_candidates(candidates)
        tq = self.prepare([query], ["query"])
        tc = self.prepare(items, [f"candidate {i + 1}" for i in range(len(items))])
        if self.modality == "timeseries":
            for i, t in enumerate(tc):
                if t.shape[1] != tq[0].shape[1]:
                    raise DataError(f"candidate {i + 1} has {t.shape[1]} channel(s), the query {tq[0].shape[1]}; "
                                    "give every series the query's channels")
        one_batch = partial(self.embed_tensors, batch_size=len(tc))
        emb_c = (CANDIDATE_CACHE if cache is None else cache).embed(self, tc, one_batch)
        emb_q = self.embed_tensors(tq)
        d = self.distances_from_embeddings(emb_q.expand(len(tc), -1), emb_c)
        ranking = [(int(i), float(d[i])) for i in np.argsort(d, kind="stable")]
        return ranking if threshold is None else [(i, x) for i, x in ranking if x <= threshold]

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
