"""Pair construction, samplers and triplet miners against brute-force references."""
import numpy as np
import pytest
import torch

from siamese_demo.errors import DataError
from siamese_demo.pairs import MPerClassSampler, in_batch_pairs, make_pairs, mine_triplets


def test_make_pairs_balanced_and_correct():
    labels = np.repeat(np.arange(5), 4)
    i, j, y = make_pairs(labels, 101, seed=3)
    assert len(y) == 101 and y.sum() == 50
    assert all((labels[a] == labels[b]) == bool(t) for a, b, t in zip(i, j, y))
    assert all(a != b for a, b, t in zip(i, j, y) if t == 1)
    i2, j2, y2 = make_pairs(labels, 101, seed=3)
    assert (i == i2).all() and (j == j2).all() and (y == y2).all()
    assert not (make_pairs(labels, 101, seed=4)[0] == i).all()


def test_make_pairs_errors():
    with pytest.raises(DataError, match="one class"):
        make_pairs([0, 0, 0], 10)
    with pytest.raises(DataError, match="single sample"):
        make_pairs([0, 1, 2], 10)


def test_in_batch_pairs_balanced():
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 2])
    i, j, y = in_batch_pairs(labels, torch.Generator().manual_seed(0))
    pos = [(a, b) for a in range(7) for b in range(a + 1, 7) if labels[a] == labels[b]]
    assert int(y.sum()) == len(pos) == 5 and len(y) == 10
    assert all((labels[a] == labels[b]).item() == bool(t) for a, b, t in zip(i, j, y))


def test_m_per_class_sampler():
    labels = np.repeat(np.arange(6), [2, 5, 5, 5, 5, 5])
    s = MPerClassSampler(labels, m=3, batch_size=12, seed=0)
    batches = list(s)
    assert len(batches) == len(s) == 3
    for b in batches:
        cls, counts = np.unique(labels[b], return_counts=True)
        assert len(cls) == 4 and (counts == 3).all()
    assert batches == list(MPerClassSampler(labels, m=3, batch_size=12, seed=0))
    with pytest.raises(DataError):
        MPerClassSampler([1, 1, 1], m=2, batch_size=4)


def _brute_distance(e):
    n = len(e)
    return np.array([[np.sqrt(((e[a] - e[b]) ** 2).sum()) for b in range(n)] for a in range(n)])


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(12, 4))
    labels = np.repeat(np.arange(4), 3)
    return emb, labels


def test_hard_miner_matches_brute_force(batch):
    emb, labels = batch
    d = _brute_distance(emb)
    got = mine_triplets(torch.tensor(emb), torch.tensor(labels), "hard").tolist()
    ref = []
    for a in range(12):
        pos = [p for p in range(12) if p != a and labels[p] == labels[a]]
        neg = [q for q in range(12) if labels[q] != labels[a]]
        ref.append([a, max(pos, key=lambda p: d[a, p]), min(neg, key=lambda q: d[a, q])])
    assert got == ref


def test_semihard_miner_matches_brute_force(batch):
    emb, labels = batch
    d = _brute_distance(emb)
    got = mine_triplets(torch.tensor(emb), torch.tensor(labels), "semihard", margin=0.2).tolist()
    ref = []
    for a in range(12):
        for p in range(12):
            if p == a or labels[p] != labels[a]:
                continue
            neg = [q for q in range(12) if labels[q] != labels[a]]
            farther = [q for q in neg if d[a, q] > d[a, p]]
            q = min(farther, key=lambda q: d[a, q]) if farther else max(neg, key=lambda q: d[a, q])
            ref.append([a, p, q])
    assert got == ref


def test_random_miner_valid_and_seeded(batch):
    emb, labels = batch
    t1 = mine_triplets(torch.tensor(emb), torch.tensor(labels), "random", generator=torch.Generator().manual_seed(1))
    t2 = mine_triplets(torch.tensor(emb), torch.tensor(labels), "random", generator=torch.Generator().manual_seed(1))
    assert torch.equal(t1, t2) and len(t1) == 12 * 2
    for a, p, q in t1.tolist():
        assert a != p and labels[a] == labels[p] and labels[a] != labels[q]
