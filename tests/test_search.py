"""One-against-many search: rank() against a brute-force loop of compare(), ties, the candidate
cache, the cap, the ranked result, the one-shot figure through rank(), and the CLI."""
import copy
import gc
import json
import threading

import numpy as np
import pytest
import torch

import siamese_demo as sd
import synthetic as syn
from conftest import tiny_model
from siamese_demo.__main__ import main
from siamese_demo.search import MAX_CANDIDATES, EmbeddingCache, ranking_result, search_candidates

CASES = [("image", "cnn"), ("text", "transformer"), ("text", "lstm"),
         ("timeseries", "lstm"), ("timeseries", "transformer")]
KINDS = ["euclidean", "cosine", "head"]


def _model(modality, encoder, kind, texts):
    distance = "cosine" if kind == "cosine" else "euclidean"
    return tiny_model(modality, encoder, texts=texts, distance=distance, head=kind == "head").eval()


def _items(modality, n=7, seed=1):
    rng = np.random.default_rng(seed)
    if modality == "image":
        return [syn.shape_image(syn.SHAPES[i % len(syn.SHAPES)], rng) for i in range(n)]
    if modality == "text":
        return [syn.sentence(list(syn.TOPICS)[i % len(syn.TOPICS)], rng) for i in range(n)]
    return [syn.series(syn.FAMILIES[i % len(syn.FAMILIES)], rng, 30 + 5 * i) for i in range(n)]


def _check_against_compare(model, query, cands, ranking):
    brute = np.array([model.compare(query, c).distance for c in cands])
    assert sorted(i for i, _ in ranking) == list(range(len(cands)))
    got = dict(ranking)
    np.testing.assert_allclose([got[i] for i in range(len(cands))], brute, rtol=1e-5, atol=1e-6)
    d = [x for _, x in ranking]
    assert d == sorted(d)
    # the order is brute force's wherever compare's distances are more than float noise apart
    assert all(brute[a] <= brute[b] + 1e-5 for (a, _), (b, _) in zip(ranking, ranking[1:]))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("modality,encoder", CASES)
def test_rank_matches_compare_loop(modality, encoder, kind, texts):
    model = _model(modality, encoder, kind, texts)
    items = _items(modality)
    query, cands = items[0], items[1:] + [items[0]]  # the query itself is among the candidates
    ranking = model.rank(query, cands, cache=EmbeddingCache())
    _check_against_compare(model, query, cands, ranking)
    if kind != "head":  # an identical item is at distance ~0, so it ranks first
        assert ranking[0][0] == len(cands) - 1 and ranking[0][1] < 1e-3


def test_rank_single_candidate_and_threshold_filter(texts):
    model = _model("text", "transformer", "euclidean", texts)
    x, y, *rest = _items("text", 6)
    [(i, d)] = model.rank(x, [y], cache=EmbeddingCache())
    assert i == 0 and d == pytest.approx(model.compare(x, y).distance, rel=1e-5, abs=1e-6)
    full = model.rank(x, [y] + rest)
    cut = full[2][1]
    assert model.rank(x, [y] + rest, threshold=cut) == [p for p in full if p[1] <= cut]
    assert model.rank(x, [y] + rest, threshold=-1.0) == []


def test_rank_ties_keep_candidate_order():
    model = tiny_model("image", head=True).eval()
    with torch.no_grad():  # a head that ignores the embeddings: every pair gets exactly the same distance
        model.head.net[-1].weight.zero_()
    items = _items("image", 5)
    ranking = model.rank(items[0], items[::-1], cache=EmbeddingCache())
    assert [i for i, _ in ranking] == [0, 1, 2, 3, 4]
    assert len({d for _, d in ranking}) == 1
    assert ranking[0][1] == pytest.approx(model.compare(items[0], items[1]).distance)


def test_rank_refuses_channel_mismatch():
    model = sd.build_model("timeseries", "lstm", {"hidden_size": 16, "embedding_dim": 16},
                           {"length": 48, "channels": None}).eval()
    q = syn.series("sine", np.random.default_rng(0), 40, channels=2)
    ok = syn.series("saw", np.random.default_rng(1), 40, channels=2)
    bad = syn.series("saw", np.random.default_rng(1), 40, channels=1)
    with pytest.raises(sd.DataError, match="candidate 2 has 1 channel"):
        model.rank(q, [ok, bad])


def test_cap_refused_with_message():
    model = tiny_model("timeseries").eval()
    cands = [[1.0, 2.0, 3.0]] * (MAX_CANDIDATES + 1)
    with pytest.raises(sd.DataError, match=f"limit of {MAX_CANDIDATES}"):
        model.rank([1.0, 2.0, 3.0], cands)
    with pytest.raises(sd.DataError, match=f"limit of {MAX_CANDIDATES}"):
        search_candidates(model, [1.0, 2.0, 3.0], cands)
    with pytest.raises(sd.DataError, match="at least one"):
        model.rank([1.0, 2.0, 3.0], [])
    batches = []
    collate = model.preprocessor.collate
    model.preprocessor.collate = lambda ts: batches.append(len(ts)) or collate(ts)
    assert len(model.rank([1.0, 2.0, 3.0], cands[:MAX_CANDIDATES], cache=EmbeddingCache())) == MAX_CANDIDATES
    assert batches == [MAX_CANDIDATES, 1]  # the candidates in one batch, then the query


def test_cache_reuses_only_for_the_same_model_state_and_candidates(texts):
    cache = EmbeddingCache(8)
    model = _model("image", "cnn", "euclidean", texts)
    items = _items("image", 6)
    q, cands = items[0], items[1:]
    first = model.rank(q, cands, cache=cache)
    assert cache.info() == {"hits": 0, "misses": 1, "entries": 1}
    assert model.rank(q, cands, cache=cache) == first
    assert model.rank(items[2], cands, cache=cache)  # another query, the same gallery
    assert cache.info()["hits"] == 2

    # another model, even one with identical weights, never reads this model's entries
    twin = copy.deepcopy(model)
    other = _model("image", "cnn", "cosine", texts)
    for m in (twin, other):
        before = cache.info()["hits"]
        _check_against_compare(m, q, cands, m.rank(q, cands, cache=cache))
        assert cache.info()["hits"] == before

    # changed candidates (one new item, or the same items in another order) miss
    misses = cache.info()["misses"]
    model.rank(q, cands[:-1] + [items[0]], cache=cache)
    model.rank(q, cands[::-1], cache=cache)
    assert cache.info()["misses"] == misses + 2

    # weights changed in place (training) miss, and the new distances are the new model's
    with torch.no_grad():
        next(model.encoder.parameters()).mul_(1.5)
    hits = cache.info()["hits"]
    _check_against_compare(model, q, cands, model.rank(q, cands, cache=cache))
    assert cache.info()["hits"] == hits


def test_cache_is_bounded_and_forgets_deleted_models(texts):
    cache = EmbeddingCache(2)
    model = _model("text", "lstm", "euclidean", texts)
    items = _items("text", 8)
    for k in range(4):
        model.rank(items[0], items[k: k + 3], cache=cache)
    assert cache.info()["entries"] == 2
    model.rank(items[0], items[0:3], cache=cache)  # evicted: least recently used
    assert cache.info()["hits"] == 0
    del model
    gc.collect()
    assert cache.info()["entries"] == 0
    assert EmbeddingCache(0).embed(tiny_model("timeseries"), [torch.zeros(4, 1)]).shape == (1, 16)


def test_shared_cache_under_concurrent_searches(texts):
    models = [_model("timeseries", "lstm", "euclidean", texts), _model("timeseries", "lstm", "cosine", texts)]
    items = _items("timeseries", 9)
    cache = EmbeddingCache(3)
    expected = [[m.rank(items[0], items[k:k + 4], cache=EmbeddingCache(0)) for k in range(3)] for m in models]
    errors, results = [], {}

    def work(t: int) -> None:
        try:
            for rep in range(5):
                for k in range(3):
                    m = t % 2
                    results[(t, rep, k)] = (m, k, models[m].rank(items[0], items[k:k + 4], cache=cache))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    for m, k, got in results.values():
        assert [i for i, _ in got] == [i for i, _ in expected[m][k]]
        np.testing.assert_allclose([d for _, d in got], [d for _, d in expected[m][k]], rtol=1e-5, atol=1e-6)
    assert cache.info()["entries"] <= 3


def test_ranking_result_match_scores_and_names():
    ranking = [(2, 0.25), (0, 0.5), (1, 3.0)]
    r = ranking_result(ranking, "euclidean", 1.0, ["a", "b", "c"])
    assert [(h.rank, h.index, h.name) for h in r.hits] == [(1, 2, "c"), (2, 0, "a"), (3, 1, "b")]
    assert [h.score for h in r.hits] == [0.8, 1 / 1.5, 0.25]
    assert [h.decision for h in r.hits] == ["same", "same", "different"]
    assert r.match == r.hits[0] and r.threshold_score == 0.5
    d = json.loads(json.dumps(r.to_dict()))
    assert d["match"]["name"] == "c" and d["hits"][2]["decision"] == "different"
    none = ranking_result(ranking, "euclidean", 0.2)
    assert none.match is None and none.to_dict()["match"] is None and none.hits[0].name == "candidate 3"
    at = ranking_result([(0, 0.5)], "head", 0.5)  # same when distance <= threshold
    assert at.match is not None and at.hits[0].score == 0.5
    with pytest.raises(sd.DataError, match="one name per candidate"):
        ranking_result(ranking, "cosine", 1.0, ["a", "b"])


def test_search_candidates_uses_the_saved_threshold(texts):
    model = _model("text", "transformer", "cosine", texts)
    items = _items("text", 5)
    dist = [d for _, d in model.rank(items[0], items[1:])]
    model.threshold = (dist[0] + dist[1]) / 2
    r = search_candidates(model, items[0], items[1:])
    assert r.threshold == model.threshold and r.distance_kind == "cosine"
    assert [h.same for h in r.hits] == [True, False, False, False] and r.match == r.hits[0]
    assert search_candidates(model, items[0], items[1:], threshold=dist[0] / 2).match is None
    with pytest.raises(sd.DataError, match="one name per candidate"):
        search_candidates(model, items[0], items[1:], names=["x"])


def test_one_shot_through_rank_equals_the_embedding_figure():
    from siamese_demo.recipes.omniglot_cnn import one_shot

    items, labels = syn.image_samples(6, 0)
    names = [f"{lab}_{i % 6:02d}.png" for i, lab in enumerate(labels)]  # drawer = the suffix
    s = sd.Samples(items, [f"shapes/{lab}" for lab in labels], names)
    model = tiny_model("image", normalize=True).eval()
    for n_way in (3, 5):
        acc = one_shot(model, s, n_trials=25, seed=0, n_way=n_way)
        assert one_shot(model, s, n_trials=25, seed=0, n_way=n_way, by_rank=True) == acc


def test_cli_search_table_and_json(saved_series_model, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "q.csv").write_text("\n".join(str(v) for v in np.sin(np.linspace(0, 6, 50))))
    cands = ["q.csv", "1 2 3 4 5 4 3 2 1", "5 1 5 1 5 1"]
    assert main(["search", "--model", str(saved_series_model), "q.csv", *cands]) == 0
    table = capsys.readouterr().out
    lines = table.splitlines()
    assert lines[0].split() == ["rank", "candidate", "distance", "score", "decision"]
    assert lines[1].split()[:2] == ["1", "q.csv"] and lines[1].split()[-1] == "same"
    assert "match: q.csv (candidate 1" in table and len(lines) == 6
    assert main(["search", "--model", str(saved_series_model), "--json", "q.csv", *cands]) == 0
    out = json.loads(capsys.readouterr().out)
    model = sd.load(saved_series_model)
    for h in out["hits"]:
        c = model.compare(model_item(model, "q.csv"), model_item(model, cands[h["index"]]))
        assert h["distance"] == pytest.approx(c.distance, rel=1e-4, abs=1e-5) and h["name"] == cands[h["index"]]
    assert out["threshold"] == 0.5 and out["match"]["index"] == 0
    assert main(["search", "--model", str(saved_series_model), "--threshold", "-1", "q.csv", *cands]) == 0
    assert capsys.readouterr().out.rstrip().endswith("no match")
    assert main(["search", "--model", str(saved_series_model), "1 2 3", *(["1 2 3"] * (MAX_CANDIDATES + 1))]) == 2
    assert str(MAX_CANDIDATES) in json.loads(capsys.readouterr().err)["error"]


def model_item(model, arg):
    from siamese_demo.__main__ import _item

    return _item(model, arg)
