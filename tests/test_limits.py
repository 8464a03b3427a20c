"""The caps and setting ranges live in one place (siamese_demo.limits); the README shows the same
numbers; check_number refuses what it should, with the range in the message."""
import math
from pathlib import Path

import pytest

from siamese_demo.errors import DataError
from siamese_demo.limits import Limits, check_choice, check_number, from_env, markdown_table, ranges_table

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_readme_lists_the_code_limits():
    assert markdown_table(Limits()) in README
    assert ranges_table(Limits()) in README


def test_env_overrides_and_refuses_nonsense():
    assert from_env({"SIAMESE_DEMO_IMAGE_PIXELS": "1000"}).image_pixels == 1000
    assert from_env({}).image_pixels == Limits().image_pixels
    for bad in ("-1", "nan", "abc", "0"):
        with pytest.raises(ValueError, match="SIAMESE_DEMO_TEXT_CHARS"):
            from_env({"SIAMESE_DEMO_TEXT_CHARS": bad})


@pytest.mark.parametrize("value,name,match", [
    (float("nan"), "threshold", "not a finite"), (math.inf, "margin", "not a finite"),
    ("abc", "lr", "not a number"), (-5, "margin", "from 0 to 10"), (2, "target_far", "above 0 up to 1"),
    (0, "target_far", "above 0"), (-1, "seed", "from 0 to 4,294,967,295"), (2**70, "seed", "out of range"),
    (1.5, "epochs", "whole number"), (None, "lr", "expected a number"), (True, "seed", "expected a number"),
    (2, "batch_size", "too small; expected 0 .auto. or a number from 4 to 512"),
])
def test_check_number_refuses(value, name, match):
    with pytest.raises(DataError, match=match) as exc:
        check_number(value, name) if name != "threshold" else check_number(value, name, 0, 2)
    assert name in str(exc.value)


def test_check_number_accepts_and_converts():
    assert check_number("0.01", "target_far") == 0.01
    assert check_number(7.0, "seed") == 7 and isinstance(check_number(7.0, "seed"), int)
    assert check_number(1, "target_far") == 1.0
    assert check_choice("triplet", "loss", ["triplet", "bce"]) == "triplet"
    with pytest.raises(DataError, match="not one of triplet, bce"):
        check_choice("hinge", "loss", ["triplet", "bce"])


@pytest.mark.parametrize("seconds, words", [(3600, "an hour"), (7200, "2 hours"), (1800, "30 minutes"),
                                            (60, "a minute"), (90, "90 seconds"), (600, "10 minutes"),
                                            (5400, "90 minutes"), (45, "45 seconds")])
def test_duration_words(seconds, words):
    from siamese_demo.limits import duration_words

    assert duration_words(seconds) == words


def test_the_pages_say_the_idle_time_in_force(monkeypatch):
    from siamese_demo.limits import limits
    from siamese_demo.ui.about_tab import own_models_markdown

    monkeypatch.setenv("SIAMESE_DEMO_VISITOR_TTL_S", "1800")
    limits.cache_clear()
    try:
        assert "after 30 minutes idle" in own_models_markdown({"yours: m": _Model()})
    finally:
        monkeypatch.delenv("SIAMESE_DEMO_VISITOR_TTL_S")
        limits.cache_clear()
    assert "after an hour idle" in own_models_markdown({"yours: m": _Model()})


class _Model:
    modality, info = "text", {}

    class encoder:  # noqa: N801 - stands in for an encoder class
        pass

    def effective_threshold(self):
        return 0.5


def test_text_candidates_are_capped_in_lines_and_characters():
    from siamese_demo.errors import DataError
    from siamese_demo.limits import limits
    from siamese_demo.ui.text_tab import parse_candidates

    lim = limits()
    assert parse_candidates("a cat\n\n a dog \n") == ["a cat", "a dog"]
    assert len(parse_candidates("\n".join(["x"] * lim.search_candidates))) == lim.search_candidates
    with pytest.raises(DataError, match=f"{lim.search_candidates + 1} candidates is over the limit"):
        parse_candidates("\n".join(["x"] * (lim.search_candidates + 1)))
    with pytest.raises(DataError, match="characters is over the limit"):  # refused before any line is read
        parse_candidates("y" * (lim.search_candidates * (lim.text_chars + 1) + 1))
    with pytest.raises(DataError, match="candidate 2"):  # one line too long
        parse_candidates("short\n" + "z" * (lim.text_chars + 1))
