"""One source for the fine-tuning settings: the tab's form and API, the CLI flags, the saved config
and the README all list the same settings with the same defaults (siamese_demo.settings)."""
from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

import siamese_demo as sd
from siamese_demo import settings
from siamese_demo.augment import AugmentConfig
from siamese_demo.finetune import default_config
from siamese_demo.train import TrainConfig

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_every_setting_names_a_real_field_and_defaults_to_it():
    train_fields = {f.name for f in fields(TrainConfig)}
    aug_fields = {f.name for f in fields(AugmentConfig)}
    for st in settings.SETTINGS:
        if st.field is None:
            continue
        if st.field.startswith("augment."):
            assert st.field.split(".", 1)[1] in aug_fields, st
        else:
            assert st.field in train_fields, st
        if not st.auto:
            owner = AugmentConfig() if st.field.startswith("augment.") else TrainConfig()
            assert st.form_default() == getattr(owner, st.field.split(".")[-1]), st


def test_the_api_of_the_tab_takes_the_settings_with_their_defaults(client):
    params = client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/start_finetune"]["parameters"]
    api = {p["parameter_name"]: p.get("parameter_default") for p in params}
    for name, default in settings.defaults().items():
        assert name in api, name
        assert api[name] == pytest.approx(default) if isinstance(default, float) else api[name] == default, name
    assert [p["parameter_name"] for p in params][-len(settings.NAMES):] == settings.NAMES  # same order


def test_cli_flags_are_the_settings_and_left_out_flags_give_the_form_defaults(tmp_path):
    from siamese_demo.__main__ import _setting_flags
    import argparse

    p = argparse.ArgumentParser()
    _setting_flags(p)
    flags = {a.dest: a for a in p._actions if a.dest != "help"}
    assert list(flags) == settings.NAMES
    for st in settings.SETTINGS:
        if st.choices:
            assert list(flags[st.name].choices) == list(st.choices)
    args = p.parse_args([])
    values = {n: (getattr(args, n) if getattr(args, n) is not None else d) for n, d in settings.defaults().items()}
    assert values == settings.defaults()


def test_the_config_of_a_run_is_the_settings_resolved(tmp_path):
    """Defaults through the form's path give default_config's result; every setting lands in the
    saved config (to_dict), and a set value wins."""
    from conftest import tiny_model
    import synthetic as syn

    items, labels = syn.series_samples(8, 0)
    data = sd.Samples(items, labels)
    base = tiny_model("timeseries")
    cfg = settings.train_config(base, data, settings.check(settings.defaults()))
    assert cfg.to_dict() == default_config(base, data).to_dict()
    saved = cfg.to_dict()
    for st in settings.SETTINGS:
        if st.field is None:
            continue
        head, _, tail = st.field.partition(".")
        assert (tail in saved["augment"]) if head == "augment" else (head in saved), st
    changed = settings.train_config(base, data, settings.check({**settings.defaults(), "epochs": 3, "lr": 0.01,
                                                                "color_jitter": 0.2, "augment": "off"}))
    assert (changed.epochs, changed.lr, changed.augment.color_jitter, changed.augment.enabled) == (3, 0.01, 0.2, False)
    assert cfg.augment.enabled and cfg.batch_size == 32  # auto, for a base that is not a sentence-transformers model
    with pytest.raises(sd.DataError, match="too small"):
        settings.check({**settings.defaults(), "batch_size": 2})


def test_readme_lists_the_settings_from_the_code():
    assert settings.markdown_table() in README
