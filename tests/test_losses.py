"""Losses against brute-force references written independently here."""
import math

import numpy as np
import pytest
import torch

from siamese_demo.losses import CoSENTLoss, ContrastiveLoss, PairBCELoss, TripletLoss


def test_contrastive_matches_loop():
    rng = np.random.default_rng(0)
    d = rng.uniform(0, 2, 50)
    y = rng.integers(0, 2, 50).astype(float)
    y[:5] = [0.3, 0.7, 0.5, 0.0, 1.0]  # graded labels too
    m = 1.2
    ref = 0.0
    for di, yi in zip(d, y):
        ref += yi * 0.5 * di * di + (1 - yi) * 0.5 * max(0.0, m - di) ** 2
    ref /= len(d)
    got = ContrastiveLoss(m)(torch.tensor(d), torch.tensor(y)).item()
    assert got == pytest.approx(ref, rel=1e-9)


def test_contrastive_hand_case():
    # same pair at distance 0.5 -> 0.125; different pair at 0.25 with margin 1 -> 0.5 * 0.75^2
    got = ContrastiveLoss(1.0)(torch.tensor([0.5, 0.25]), torch.tensor([1.0, 0.0])).item()
    assert got == pytest.approx((0.125 + 0.5 * 0.5625) / 2)


@pytest.mark.parametrize("distance", ["euclidean", "cosine"])
def test_triplet_matches_loop(distance):
    rng = np.random.default_rng(1)
    a, p, n = (rng.normal(size=(20, 5)) for _ in range(3))

    def dist(u, v):
        if distance == "euclidean":
            return math.sqrt(sum((x - y) ** 2 for x, y in zip(u, v)))
        dot = sum(x * y for x, y in zip(u, v))
        return 1 - dot / (math.sqrt(sum(x * x for x in u)) * math.sqrt(sum(y * y for y in v)))

    ref = np.mean([max(0.0, dist(a[i], p[i]) - dist(a[i], n[i]) + 0.3) for i in range(20)])
    got = TripletLoss(0.3, distance)(*(torch.tensor(x) for x in (a, p, n))).item()
    assert got == pytest.approx(ref, rel=1e-6)


def test_bce_matches_formula():
    logits = np.array([-2.0, 0.0, 3.0, 0.5])
    y = np.array([0.0, 1.0, 1.0, 0.0])
    s = 1 / (1 + np.exp(-logits))
    ref = -np.mean(y * np.log(s) + (1 - y) * np.log(1 - s))
    assert PairBCELoss()(torch.tensor(logits), torch.tensor(y)).item() == pytest.approx(ref, rel=1e-9)


def test_cosent_matches_a_loop_and_a_hand_case():
    rng = np.random.default_rng(1)
    d = rng.uniform(0, 1, 12)
    y = rng.choice([0.0, 0.2, 0.4, 0.8, 1.0], 12)  # graded, with ties (a tie adds no term)
    terms = [20.0 * (d[i] - d[j]) for i in range(12) for j in range(12) if y[i] > y[j]]
    ref = math.log(1.0 + sum(math.exp(t) for t in terms))
    assert CoSENTLoss(20.0)(torch.tensor(d), torch.tensor(y)).item() == pytest.approx(ref, rel=1e-6)
    # two pairs: the more similar one (label 1) at distance 0.1, the other at 0.3 -> log(1 + e^(20 * -0.2))
    got = CoSENTLoss(20.0)(torch.tensor([0.1, 0.3], dtype=torch.float64), torch.tensor([1.0, 0.0])).item()
    assert got == pytest.approx(math.log(1 + math.exp(-4.0)), rel=1e-6)


def test_cosent_on_cosine_distances_equals_sentence_transformers():
    st_losses = pytest.importorskip("sentence_transformers.sentence_transformer.losses")
    torch.manual_seed(0)
    a, b = torch.randn(16, 8), torch.randn(16, 8)
    y = torch.rand(16)
    theirs = st_losses.CoSENTLoss.compute_loss_from_embeddings(
        type("Fake", (), {"similarity_fct": staticmethod(
            lambda x, z: torch.nn.functional.cosine_similarity(x, z)), "scale": 20.0})(), [a, b], y)
    d = 1.0 - torch.nn.functional.cosine_similarity(a, b)
    assert CoSENTLoss(20.0)(d, y).item() == pytest.approx(theirs.item(), rel=1e-5)
