"""The face and signature protocols behind the held-out numbers (recipes.verification_sets), against
loops written out here on a tiny folder of generated images."""
from __future__ import annotations

import itertools

import numpy as np
from PIL import Image

from siamese_demo.recipes.verification_sets import (RawPixels, face_pairs, face_splits, signature_scores,
                                                    split_names)


def _img(path, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(value)
    Image.fromarray((rng.random((16, 16)) * 255).astype(np.uint8)).save(path)


def test_people_split_is_disjoint_seeded_and_covers_everyone(tmp_path):
    for k in range(12):
        for i in range(3):
            _img(tmp_path / f"person{k:02d}" / f"{i}.png", 10 * k + i)
    s1, s2 = face_splits(tmp_path, seed=0), face_splits(tmp_path, seed=0)
    assert s1 == s2 and [len(s1[s]) for s in ("train", "validation", "test")] == [6, 3, 3]
    names = [set(s1[s]) for s in s1]
    assert all(not (a & b) for a, b in itertools.combinations(names, 2)) and len(set().union(*names)) == 12
    assert split_names([f"n{i}" for i in range(12)], seed=1) != split_names([f"n{i}" for i in range(12)], seed=0)


def test_face_pairs_are_every_same_pair_and_as_many_distinct_different_pairs(tmp_path):
    people = {"a": [tmp_path / f"a{i}" for i in range(3)], "b": [tmp_path / f"b{i}" for i in range(2)],
              "c": [tmp_path / "c0"]}
    items, i, j, y = face_pairs(people, seed=0)
    owner = [p.name[0] for p in items]
    same = {(x, z) for x, z in itertools.combinations(range(len(items)), 2) if owner[x] == owner[z]}
    got = list(zip(i.tolist(), j.tolist()))
    assert {p for p, lab in zip(got, y) if lab == 1} == same and len(same) == 4  # 3 (a) + 1 (b)
    diff = [p for p, lab in zip(got, y) if lab == 0]
    assert len(diff) == len(same) == len(set(diff)) and all(owner[x] != owner[z] and x < z for x, z in diff)


def test_signature_scores_are_the_mean_and_min_distance_to_the_first_five_genuine(tmp_path):
    writers = {}
    for w in range(2):
        g = [tmp_path / f"w{w}" / "genuine" / f"U{w}S{k}.png" for k in range(1, 8)]
        f = [tmp_path / f"w{w}" / "forged" / f"U{w}F{k}.png" for k in range(1, 4)]
        for k, p in enumerate(g + f):
            _img(p, 100 * w + k)
        writers[f"w{w}"] = {"genuine": g, "forged": f}
    raw = RawPixels(16)
    got = signature_scores(raw, writers)
    means, mins, centroids, labels = [], [], [], []
    for w in sorted(writers):
        refs, queries = writers[w]["genuine"][:5], writers[w]["genuine"][5:] + writers[w]["forged"]
        er, eq = raw.embed(refs), raw.embed(queries)
        centre = er.astype(np.float64).mean(0)  # cosine: the centre's length does not matter
        for q in eq:
            d = [float(raw.distances_from_embeddings(q[None], r[None])[0]) for r in er]
            means.append(np.mean(d))
            mins.append(min(d))
            centroids.append(1 - float(q @ centre) / (np.linalg.norm(q) * np.linalg.norm(centre)))
        labels += [1.0] * 2 + [0.0] * 3
    np.testing.assert_allclose(got["mean"], means, atol=1e-5)
    np.testing.assert_allclose(got["min"], mins, atol=1e-5)
    np.testing.assert_allclose(got["centroid"], centroids, atol=1e-5)
    assert got["labels"].tolist() == labels
    # with a spread prior (info["references"]): the centroid distance divided by the references' mean pairwise
    # distance plus the prior, as compare_to_references decides
    raw.info = {"references": {"spread_prior": 0.05}}
    scaled = signature_scores(raw, writers)
    spreads = []
    for w in sorted(writers):
        er = raw.embed(writers[w]["genuine"][:5])
        pair = [float(raw.distances_from_embeddings(er[a][None], er[b][None])[0])
                for a, b in itertools.combinations(range(5), 2)]
        spreads += [np.mean(pair)] * 5
    np.testing.assert_allclose(scaled["spread"], spreads, atol=1e-6)
    np.testing.assert_allclose(scaled["centroid_distance"], centroids, atol=1e-5)
    np.testing.assert_allclose(scaled["centroid"], np.array(centroids) / (np.array(spreads) + 0.05), rtol=1e-4)
