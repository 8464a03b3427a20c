"""Every model shipped in models/ loads offline, embeds with the right shape, is deterministic and
ranks an obvious positive above an obvious negative."""
from pathlib import Path

import numpy as np
import pytest

import siamese_demo as sd

EX = Path(__file__).resolve().parent.parent / "examples"
MODELS = sd.available_models()
T = np.linspace(0, 12, 120)
CASES = {
    "image": (str(EX / "images" / "latin_c01_a.png"), str(EX / "images" / "latin_c01_b.png"),
              str(EX / "images" / "latin_c02_a.png")),
    "text": ("A man is playing a guitar.", "A man plays the guitar.", "The stock market fell sharply on Monday."),
    "timeseries": (np.sin(T), np.sin(T) + np.random.default_rng(0).normal(0, 0.05, len(T)),
                   np.r_[np.zeros(60), np.ones(60)]),
}


def test_models_are_shipped():
    modalities = {sd.load(m).modality for m in MODELS}
    assert modalities == {"image", "text", "timeseries"}


@pytest.mark.parametrize("name", MODELS)
def test_shipped_model(name):
    model = sd.load(name)
    anchor, positive, negative = CASES[model.modality]
    emb = model.embed([anchor, positive, negative])
    assert emb.shape[0] == 3 and emb.shape[1] == model.encoder.embedding_dim and np.isfinite(emb).all()
    np.testing.assert_array_equal(emb, model.embed([anchor, positive, negative]))
    pos, neg = model.compare(anchor, positive), model.compare(anchor, negative)
    assert pos.distance < neg.distance and pos.same and not neg.same
    assert model.threshold is not None and model.info.get("calibration")
    assert (sd.MODELS_DIR / name / "run_record.json").exists() and (sd.MODELS_DIR / name / "README.md").exists()
