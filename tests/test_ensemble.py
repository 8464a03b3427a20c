"""The ensemble encoder (encoders.ensemble): its cosine similarity is the mean of its members' (numpy by hand),
it saves and loads with its members' settings as they are, and fine-tuning can freeze each member's early blocks."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import siamese_demo as sd
from siamese_demo.card import model_card
from siamese_demo.encoders import EnsembleEncoder, build_encoder, encoder_to_dict
from siamese_demo.preprocess import ImagePreprocessor


def _members(n=3, dim=8):
    torch.manual_seed(0)
    return [build_encoder("cnn", depth=2, width=4, embedding_dim=dim).eval() for _ in range(n)]


def _cos(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_the_ensemble_similarity_is_the_mean_of_the_members_similarities():
    members = _members()
    ens = EnsembleEncoder.of(members).eval()
    x = {"pixels": torch.randn(4, 1, 16, 16)}
    with torch.no_grad():
        e = ens(x).numpy().astype(np.float64)
        each = [m(x).numpy().astype(np.float64) for m in members]
    assert e.shape == (4, 24) and ens.embedding_dim == 24
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-6)
    for a, b in [(0, 1), (2, 3), (0, 3)]:
        want = np.mean([_cos(m[a], m[b]) for m in each])
        assert float(e[a] @ e[b]) == pytest.approx(want, abs=1e-6)


def test_an_ensemble_saves_and_loads_with_its_members_settings_as_they_are(tmp_path):
    members = _members(2)
    members[1].config.flip_average = True  # changed in place after the ensemble was built
    ens = EnsembleEncoder.of(members).eval()
    model = sd.SiameseModel(ens, ImagePreprocessor(size=16), "image", "cosine", normalize=True, threshold=0.3)
    sd.save(model, tmp_path / "ens")
    back = sd.load(tmp_path / "ens")
    assert isinstance(back.encoder, EnsembleEncoder)
    assert [m.config.flip_average for m in back.encoder.members] == [False, True]
    x = {"pixels": torch.randn(3, 1, 16, 16)}
    with torch.no_grad():
        np.testing.assert_allclose(back.encoder(x).numpy(), ens(x).numpy(), atol=1e-6)
    config = (tmp_path / "ens" / "config.json").read_text()
    card = model_card(__import__("json").loads(config), None)
    assert "an ensemble of 2 encoders" in card and "the first `cnn`" in card  # members differ: flip_average


def test_an_ensemble_needs_two_members_of_a_plain_encoder():
    one = _members(1)
    with pytest.raises(ValueError, match="at least 2"):
        EnsembleEncoder.of(one)
    inner = EnsembleEncoder.of(_members(2))
    with pytest.raises(ValueError, match="cannot be ensembles"):
        build_encoder("ensemble", members=[encoder_to_dict(inner), encoder_to_dict(_members(1)[0])])


def test_freezing_early_blocks_freezes_them_in_every_member():
    from siamese_demo.train import freeze_early

    ens = EnsembleEncoder.of(_members(2))
    frozen = freeze_early(ens, 1)
    first_blocks = [p for m in ens.members for p in m.features[0].parameters()]
    assert {id(p) for p in frozen} == {id(p) for p in first_blocks}
    assert all(not p.requires_grad for p in first_blocks)
    assert all(p.requires_grad for m in ens.members for p in m.features[1].parameters())


def test_the_face_recipe_sets_its_crop_widths_on_every_member():
    from siamese_demo.recipes import verification_models as vm

    models = [sd.SiameseModel(m, ImagePreprocessor(size=16, channels=1), "image", "cosine", normalize=True,
                              info={"name": f"m{k}"}) for k, m in enumerate(_members(3))]
    ens = vm.with_face_views(vm.ensemble(models))
    assert isinstance(ens.encoder, EnsembleEncoder) and ens.info["name"] == "m0"
    want = [(1 + 2 * m) / (1 + 2 * max(vm.FACE_VIEW_MARGINS)) for m in vm.FACE_VIEW_MARGINS]
    for member in ens.encoder.members:
        assert member.config.view_crops == pytest.approx(want) and member.config.view_size == vm.TASKS["faces"]["size"]
    assert vm.ensemble(models[:1]) is models[0]


def test_the_shipped_face_model_is_an_ensemble_of_its_recipes_size():
    from siamese_demo.recipes.verification_models import FACE_MEMBERS

    model = sd.load(sd.MODELS_DIR / "face-efficientnet")
    assert isinstance(model.encoder, EnsembleEncoder) and len(model.encoder.members) == FACE_MEMBERS
    assert all(m.config.view_crops and m.config.flip_average for m in model.encoder.members)
