"""The process's global torch random state, shared safely between a training run and other visitors.

A fine-tune's augmentation, dropout and triplet mining draw from torch's global generator (torchvision
transforms and dropout take no generator), and other visitors' requests seed that generator too (a
model trained from scratch is initialised at a seed; augmented views for unlabelled data). Everything
that touches the global state does it here, under one lock: a run keeps its own state
(:class:`RunRandom`) and swaps it in only for its own steps, so the same seed and data give the same
numbers whatever other visitors do meanwhile.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator, TypeVar

import torch

GLOBAL_RNG_LOCK = threading.RLock()
T = TypeVar("T")


@contextmanager
def seeded(seed: int):
    """Run a block with torch's global generator at ``seed``, then put back the state it had."""
    with GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


class RunRandom:
    """One run's own torch random state (as ``torch.manual_seed(seed)`` leaves it), made the global
    state only inside :meth:`active`, under the lock, and saved again at its end."""

    def __init__(self, seed: int):
        with seeded(seed):
            self.state = torch.get_rng_state()

    @contextmanager
    def active(self):
        with GLOBAL_RNG_LOCK:
            saved = torch.get_rng_state()
            torch.set_rng_state(self.state)
            try:
                yield
            finally:
                self.state = torch.get_rng_state()
                torch.set_rng_state(saved)

    def iterate(self, items: Iterator[T]) -> Iterator[T]:
        """Each ``next()`` of ``items`` (a batch generator that augments) with this run's state."""
        while True:
            with self.active():
                try:
                    item = next(items)
                except StopIteration:
                    return
            yield item
