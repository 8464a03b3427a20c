"""Metrics against scikit-learn and brute-force loops."""
import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

from siamese_demo import evaluate as ev


@pytest.fixture
def scores():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    d = rng.normal(1.0 - 0.6 * y, 0.4)
    return d, y


def test_auc_is_pairwise_ranking_probability(scores):
    d, y = scores
    pos, neg = d[y == 1], d[y == 0]
    ref = np.mean([(p < n) + 0.5 * (p == n) for p in pos for n in neg])
    assert ev.roc_auc(d, y) == pytest.approx(ref)


def test_max_accuracy_threshold_is_best_over_all_cuts(scores):
    d, y = scores
    t = ev.choose_threshold(d, y, "max_accuracy")
    best = max(accuracy_score(y, d <= c) for c in np.concatenate([d, [d.min() - 1]]))
    assert accuracy_score(y, d <= t) == pytest.approx(best)


def test_target_far_threshold(scores):
    d, y = scores
    t = ev.choose_threshold(d, y, "target_far", target_far=0.05)
    far = np.mean(d[y == 0] <= t)
    assert far <= 0.05
    # the next larger negative distance would exceed the target
    next_neg = np.sort(d[y == 0][d[y == 0] > t])[0]
    assert np.mean(d[y == 0] <= next_neg) > 0.05


def test_eer_hand_case():
    d = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])
    y = np.array([1, 1, 1, 0, 1, 0, 0, 0])
    rate, thr = ev.eer(d, y)
    assert rate == pytest.approx(0.25)
    far = np.mean(d[y == 0] <= thr)
    frr = np.mean(d[y == 1] > thr)
    assert far == pytest.approx(frr)


def test_classification_metrics_match_sklearn(scores):
    d, y = scores
    m = ev.classification_metrics(d, y, 0.7)
    pred = (d <= 0.7).astype(int)
    assert m["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert m["precision"] == pytest.approx(precision_score(y, pred))
    assert m["recall"] == pytest.approx(recall_score(y, pred))
    assert m["f1"] == pytest.approx(f1_score(y, pred))


def test_spearman_matches_rank_pearson():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=50), rng.normal(size=50)
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    assert ev.spearman(a, b) == pytest.approx(np.corrcoef(ra, rb)[0, 1])


def test_one_shot_accuracy_and_trials():
    d = np.array([[0.1, 0.5, 0.9], [0.4, 0.3, 0.2], [0.7, 0.1, 0.8]])
    assert ev.one_shot_accuracy(d, [0, 1, 1]) == pytest.approx(2 / 3)
    labels = np.repeat(np.arange(30), 4)
    drawers = np.tile(np.arange(4), 30)
    groups = (labels >= 25).astype(int)  # group 1 has only 5 classes: never used for 20-way
    q, c, k = ev.one_shot_trials(labels, groups, drawers, n_way=20, n_trials=50, seed=0)
    assert c.shape == (50, 20)
    for qi, ci, ki in zip(q, c, k):
        assert labels[ci[ki]] == labels[qi] and drawers[ci[ki]] != drawers[qi]
        assert len(set(labels[ci])) == 20 and set(groups[ci]) == {0}
        assert len(set(drawers[ci])) == 1


def test_threshold_needs_both_classes():
    with pytest.raises(ValueError):
        ev.choose_threshold([0.1, 0.2], [1, 1])


def test_leave_one_out_1nn_matches_sklearn():
    from sklearn.model_selection import LeaveOneOut, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.default_rng(0)
    emb = rng.normal(size=(40, 5))
    labels = rng.integers(0, 3, 40)
    emb[labels == 1] += 1.5
    expected = cross_val_score(KNeighborsClassifier(n_neighbors=1), emb, labels, cv=LeaveOneOut()).mean()
    assert abs(ev.loo_1nn_accuracy(emb, labels) - expected) < 1e-12
    # hand cases: each point's nearest other point is its pair partner
    assert ev.loo_1nn_accuracy([[0.0], [0.1], [5.0], [5.1]], ["a", "a", "b", "b"]) == 1.0
    assert ev.loo_1nn_accuracy([[0.0], [0.1], [5.0], [5.1]], ["a", "b", "a", "b"]) == 0.0


def test_calibration_fits_any_distance_scale():
    """p(same | distance) from the logistic fit does not depend on the distances' units: on distances a
    thousand times smaller (the texture readout's cosine distances are near 0.001) it gives the same
    probabilities, and on a clean split they run from near 1 (close) to near 0 (far). The oracle is
    scikit-learn's unregularised fit (the maximum-likelihood one, which no change of units alters)."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    d = np.r_[rng.normal(0.3, 0.1, 200), rng.normal(0.7, 0.1, 200)]
    y = np.r_[np.ones(200), np.zeros(200)]
    ref = LogisticRegression(C=np.inf).fit(d[:, None], y).predict_proba(d[:, None])[:, 1]
    for scale in (1.0, 1e-3):
        cal = ev.calibrate(d * scale, y)
        p = 1 / (1 + np.exp(-(cal["coef"] * d * scale + cal["intercept"])))
        assert np.allclose(p, ref, atol=0.02), scale
        assert p[d < 0.2].min() > 0.9 and p[d > 0.8].max() < 0.1


def test_calibration_of_nearly_equal_distances_stays_finite():
    """Distances equal up to float noise carry no information: the fit must not blow up into a 0/1 step."""
    d = 0.5 + np.r_[np.zeros(50), np.full(50, 1e-12)]
    cal = ev.calibrate(d, np.r_[np.ones(50), np.zeros(50)])
    assert abs(cal["coef"]) < 1e3 and np.isfinite(cal["intercept"])


def test_distances_keep_their_digits_when_small():
    """Rounding for the page and the records: 4 decimals, 4 significant digits below 0.1, 0 for float noise
    (also a tiny negative cosine distance), non-finite values untouched; the sentence form never shows an
    exponent of float noise. Hand-computed cases."""
    from siamese_demo.distances import format_distance, round_distance, round_distances

    assert round_distance(0.78613) == 0.7861 and round_distance(1.23456) == 1.2346
    assert round_distance(0.000918359) == 0.0009184 and round_distance(0.0123456) == 0.01235
    assert round_distance(-5.96e-11) == 0.0 and round_distance(float("inf")) == float("inf")
    assert round_distances([0.000918359, 0.5], 5) == [0.00091836, 0.5]
    assert format_distance(0.78613) == "0.786" and format_distance(0.000918359) == "0.000918"
    assert format_distance(-5.96e-08) == "0" and format_distance(0.0) == "0" and format_distance(float("nan")) == "nan"
