"""One-against-many search: the candidate cap, a bounded thread-safe cache of candidate embeddings,
and the ranked result (index, name, distance, score, same/different, best match) a UI or CLI shows.

Conventions as everywhere (README): distance lower = more similar, score in [0, 1] higher = more
similar, ``same`` when ``distance <= threshold``. :meth:`SiameseModel.rank` does the ranking.
"""
from __future__ import annotations

import hashlib
import itertools
import queue
import threading
import weakref
from collections import OrderedDict
from dataclasses import asdict, dataclass
from typing import Any, Callable, Sequence

import torch

from .distances import score_from_distance
from .errors import DataError
from .limits import limits

MAX_CANDIDATES = limits().search_candidates  # candidates per search (siamese_demo.limits); more are refused
CACHE_GALLERIES = 32     # candidate sets whose embeddings the shared cache keeps (least recently used go)


def check_candidates(candidates: Sequence[Any], what: str = "candidates") -> list[Any]:
    """The candidates (or ``what``: the references of a comparison) as a list: at least one and at most
    :data:`MAX_CANDIDATES`, else a DataError."""
    per = "per search" if what == "candidates" else "per comparison"
    if isinstance(candidates, (str, bytes)) or not hasattr(candidates, "__len__"):
        raise DataError(f"{what} must be a list of items, one per {what[:-1]}")
    items = list(candidates)
    if not items:
        raise DataError(f"no {what}: give at least one item" + (" to search" if what == "candidates" else ""))
    if len(items) > MAX_CANDIDATES:
        raise DataError(f"{len(items)} {what} is over the limit of {MAX_CANDIDATES} {per}; "
                        f"give at most {MAX_CANDIDATES}")
    return items


def content_hash(tensors: Sequence[torch.Tensor]) -> str:
    """A hash of preprocessed item tensors (dtype, shape and values of each, in order)."""
    h = hashlib.blake2b(digest_size=20)
    for t in tensors:
        t = t.detach().cpu().contiguous()
        h.update(f"{t.dtype}{tuple(t.shape)};".encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()


class EmbeddingCache:
    """Least-recently-used store of candidate embeddings, keyed by the model and a content hash of
    the candidates as the model sees them (after preprocessing), so a path whose file changed or a
    changed preprocessing misses. Thread-safe (one lock) and bounded to ``max_entries`` candidate sets.

    A model is told apart by identity (a token held through a weak reference, never reused) and its
    state: encoder config, normalisation, device and the in-place version counters of its weights,
    so training a model further invalidates its entries. Entries of a deleted model are dropped.
    """

    def __init__(self, max_entries: int = CACHE_GALLERIES):
        self.max_entries = max(0, int(max_entries))
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple, torch.Tensor] = OrderedDict()
        self._tokens: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._counter = itertools.count()
        self._dead: queue.SimpleQueue[int] = queue.SimpleQueue()  # tokens of deleted models, purged under the lock
        self._hits = 0
        self._misses = 0

    def _token(self, model: torch.nn.Module) -> int:
        with self._lock:
            token = self._tokens.get(model)
            if token is None:
                token = self._tokens[model] = next(self._counter)
                # SimpleQueue.put is safe from a finalizer, which may run while this thread holds the lock
                weakref.finalize(model, self._dead.put, token)
            return token

    def _purge(self) -> None:
        """Drop the entries of deleted models (call with the lock held)."""
        dead = set()
        while not self._dead.empty():
            dead.add(self._dead.get_nowait())
        if dead:
            for key in [k for k in self._entries if k[0] in dead]:
                del self._entries[key]

    @staticmethod
    def _state(model: Any) -> tuple:
        versions = sum(t._version for t in itertools.chain(model.parameters(), model.buffers()))
        return (repr(getattr(model.encoder, "config", None)), bool(model.normalize), str(model.device), versions)

    def embed(self, model: Any, tensors: list[torch.Tensor],
              compute: Callable[[list[torch.Tensor]], torch.Tensor] | None = None) -> torch.Tensor:
        """(N, D) CPU embeddings of preprocessed ``tensors``: cached, or ``compute(tensors)``
        (default ``model.embed_tensors``) stored for next time. Callers must not modify the result."""
        return self.cached(model, tensors, lambda: (compute or model.embed_tensors)(tensors).detach().cpu(),
                           tag="embeddings")

    def cached(self, model: Any, tensors: list[torch.Tensor], compute: Callable[[], Any], tag: str = "") -> Any:
        """Any result computed from ``model`` and the preprocessed ``tensors`` (an explanation, say):
        cached under the same model identity and state as embeddings, plus ``tag`` (what was computed,
        and any raw input the result depends on beyond the tensors). Callers must not modify it."""
        key = (self._token(model), self._state(model), tag, content_hash(tensors))
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                self._hits += 1
                return self._entries[key]
            self._misses += 1
        value = compute()
        if self.max_entries:
            with self._lock:
                self._purge()
                self._entries[key] = value
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
        return value

    def info(self) -> dict[str, int]:
        """Hits, misses and stored candidate sets so far."""
        with self._lock:
            self._purge()
            return {"hits": self._hits, "misses": self._misses, "entries": len(self._entries)}

    def clear(self) -> None:
        """Forget every entry (the counters stay)."""
        with self._lock:
            self._entries.clear()


# The one shared cache: bounded and locked. It holds embeddings only (no inputs), and an entry is found
# only by a caller who gives the same model and the same candidate content.
CANDIDATE_CACHE = EmbeddingCache()


@dataclass(frozen=True)
class Hit:
    """One ranked candidate."""

    rank: int          # 1 = best
    index: int         # position in the candidates given
    name: str
    distance: float    # lower = more similar
    score: float       # [0, 1], higher = more similar
    same: bool         # distance <= threshold

    @property
    def decision(self) -> str:
        return "same" if self.same else "different"


@dataclass(frozen=True)
class SearchResult:
    """A ranking ready to show: candidates best first, the threshold and the match (or None)."""

    hits: tuple[Hit, ...]
    threshold: float
    threshold_score: float
    distance_kind: str
    match: Hit | None  # the best candidate when its distance <= threshold, else None ("no match")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for h, d in zip(self.hits, out["hits"]):
            d["decision"] = h.decision
        out["match"] = None if self.match is None else out["hits"][0]
        return out


def ranking_result(ranking: Sequence[tuple[int, float]], kind: str, threshold: float,
                   names: Sequence[str] | None = None) -> SearchResult:
    """Turn ``rank()``'s ``(index, distance)`` pairs (best first) into a :class:`SearchResult`.

    ``kind`` is the model's decision kind ("euclidean", "cosine" or "head"), ``threshold`` is in
    distance units; ``names[index]`` names each candidate (default "candidate <index + 1>").
    """
    if names is not None and any(i >= len(names) for i, _ in ranking):
        raise DataError(f"{len(names)} names for candidates numbered up to {max(i for i, _ in ranking) + 1}; "
                        "give one name per candidate")
    thr = float(threshold)
    hits = tuple(
        Hit(rank=r, index=int(i), name=str(names[i]) if names is not None else f"candidate {i + 1}",
            distance=float(d), score=float(score_from_distance(d, kind)), same=bool(d <= thr))
        for r, (i, d) in enumerate(ranking, start=1))
    match = hits[0] if hits and hits[0].same else None
    return SearchResult(hits, thr, float(score_from_distance(thr, kind)), kind, match)


def search_candidates(model: Any, query: Any, candidates: Sequence[Any], names: Sequence[str] | None = None,
                      threshold: float | None = None, cache: EmbeddingCache | None = None) -> SearchResult:
    """Rank ``candidates`` against ``query`` with ``model`` and decide each at ``threshold``
    (distance units; default the model's saved threshold)."""
    items = check_candidates(candidates)
    if names is not None and len(names) != len(items):
        raise DataError(f"{len(names)} names for {len(items)} candidates; give one name per candidate")
    ranking = model.rank(query, items, cache=cache)
    return ranking_result(ranking, model.decision_kind, model.effective_threshold(threshold), names)
