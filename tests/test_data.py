"""Upload readers and input validation: each malformed case gets its clear DataError."""
import io
import os
import stat
import zipfile

import numpy as np
import pytest
from PIL import Image

import siamese_demo as sd
import synthetic as syn
from siamese_demo.data import (Limits, check_trainable, parse_series_text, read_image_dataset,
                               read_series_dataset, read_text_dataset)
from siamese_demo.errors import DataError
from siamese_demo.preprocess import ImagePreprocessor, SeriesPreprocessor, open_image


def _png(kind="circle", seed=0, invert=False) -> bytes:
    buf = io.BytesIO()
    syn.shape_image(kind, np.random.default_rng(seed), invert=invert).save(buf, "PNG")
    return buf.getvalue()


def _zip(path, entries):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


# ------------------------------------------------------------------ images
def test_image_zip_with_class_folders_and_wrapper(tmp_path):
    z = _zip(tmp_path / "d.zip", {"data/circle/1.png": _png(), "data/circle/2.png": _png(seed=1),
                                  "data/square/1.png": _png("square"), "__MACOSX/._x.png": b"junk",
                                  "data/notes.txt": b"ignored"})
    s = read_image_dataset(z)
    assert sorted(s.labels) == ["circle", "circle", "square"] and len(s.items) == 3
    check_trainable(s)


def test_image_flat_zip_is_unlabelled(tmp_path):
    s = read_image_dataset(_zip(tmp_path / "u.zip", {"a.png": _png(), "b.png": _png("square")}))
    assert s.labels is None and len(s) == 2


def test_image_folder(tmp_path):
    for c in ("a", "b"):
        (tmp_path / "ds" / c).mkdir(parents=True)
        (tmp_path / "ds" / c / "x.png").write_bytes(_png())
    assert sorted(read_image_dataset(tmp_path / "ds").labels) == ["a", "b"]


def test_zip_with_dotdot_path_is_refused(tmp_path):
    with pytest.raises(DataError, match=r"outside the archive"):
        read_image_dataset(_zip(tmp_path / "e.zip", {"a/../../evil.png": _png(), "a/x.png": _png()}))
    assert not (tmp_path.parent / "evil.png").exists()


def test_zip_with_absolute_path_is_refused(tmp_path):
    with pytest.raises(DataError, match="absolute path"):
        read_image_dataset(_zip(tmp_path / "e.zip", {"/etc/x.png": _png()}))


def test_zip_with_symlink_is_refused(tmp_path):
    z = tmp_path / "l.zip"
    with zipfile.ZipFile(z, "w") as zf:
        info = zipfile.ZipInfo("a/link.png")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(DataError, match="symbolic link"):
        read_image_dataset(z)


def test_folder_with_symlink_is_refused(tmp_path):
    (tmp_path / "ds" / "a").mkdir(parents=True)
    (tmp_path / "ds" / "a" / "x.png").write_bytes(_png())
    os.symlink("/etc/passwd", tmp_path / "ds" / "a" / "y.png")
    with pytest.raises(DataError, match="symbolic link"):
        read_image_dataset(tmp_path / "ds")


def test_archive_caps(tmp_path):
    z = _zip(tmp_path / "big.zip", {f"a/{i}.png": _png() for i in range(5)})
    with pytest.raises(DataError, match="over the limit"):
        read_image_dataset(z, Limits(archive_files=3))
    with pytest.raises(DataError, match="MB uncompressed"):
        read_image_dataset(z, Limits(archive_bytes=500))
    with pytest.raises(DataError, match="megapixels"):
        read_image_dataset(z, Limits(image_pixels=100))


def test_corrupt_image_in_archive(tmp_path):
    z = _zip(tmp_path / "c.zip", {"b/ok.png": _png(), "a/bad.png": b"\x89PNG\r\n\x1a\nnot really"})
    with pytest.raises(DataError, match=r"a/bad.png: not a readable image"):
        read_image_dataset(z)


def test_truncated_image(tmp_path):
    data = _png()
    with pytest.raises(DataError, match="corrupt or truncated|not a readable image"):
        open_image(data[: len(data) // 2], name="half.png")


def test_not_a_zip_and_mixed_layout_and_no_images(tmp_path):
    (tmp_path / "x.zip").write_bytes(b"hello")
    with pytest.raises(DataError, match="not a readable zip"):
        read_image_dataset(tmp_path / "x.zip")
    with pytest.raises(DataError, match="top level"):
        read_image_dataset(_zip(tmp_path / "m.zip", {"a/x.png": _png(), "y.png": _png(), "b/z.png": _png()}))
    with pytest.raises(DataError, match="no images"):
        read_image_dataset(_zip(tmp_path / "n.zip", {"a/readme.txt": b"hi"}))


def test_one_class_and_singleton_classes_refused(tmp_path):
    s = read_image_dataset(_zip(tmp_path / "o.zip", {"only/1.png": _png(), "only/2.png": _png()}))
    with pytest.raises(DataError, match="at least two classes"):
        check_trainable(sd.Samples(s.items, ["only"] * 2))
    s = read_image_dataset(_zip(tmp_path / "s.zip", {"a/1.png": _png(), "b/1.png": _png()}))
    with pytest.raises(DataError, match="single sample"):
        check_trainable(s)


def test_fifty_megapixel_image_is_refused_before_decoding(tmp_path):
    p = tmp_path / "huge.png"
    Image.new("1", (8000, 6250)).save(p)
    with pytest.raises(DataError, match="50.0 megapixels is too large"):
        ImagePreprocessor().encode(str(p))


def test_image_preprocessing_normalises_polarity_and_alpha():
    pre = ImagePreprocessor(size=32, crop_to_content=True)
    rng = np.random.default_rng(0)
    dark = syn.shape_image("cross", rng)
    light = Image.eval(dark, lambda v: 255 - v)
    a, b = pre.encode(dark), pre.encode(light)
    assert float((a - b).abs().max()) < 1e-6
    assert a.mean() < 0.5  # strokes bright on a dark background
    rgba = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    rgba.paste((0, 0, 0, 255), (10, 10, 30, 30))
    assert pre.encode(rgba).max() > 0.9
    assert pre.encode(np.asarray(dark.convert("RGB"))).shape == (1, 32, 32)


# ------------------------------------------------------------------ text
def test_text_pairs_binary_and_graded(tmp_path):
    p = tmp_path / "p.csv"
    p.write_text("text_a,text_b,label\nA cat,A kitten,1\nA cat,A car,0\n")
    s = read_text_dataset(p)
    assert s.a == ["A cat", "A cat"] and list(s.labels) == [1, 0] and not s.graded
    p.write_text("text_a\ttext_b\tlabel\nx\ty\t4.0\nx\tz\t1.5\n")
    s = read_text_dataset(p)
    assert s.graded and np.allclose(s.labels, [0.8, 0.3])


def test_labelled_texts(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text('text,label\n"Hello, world",greet\nBye,leave\n')
    s = read_text_dataset(p)
    assert s.items == ["Hello, world", "Bye"] and s.labels == ["greet", "leave"]


@pytest.mark.parametrize("content,match", [
    ("sentence1,sentence2,score\na,b,1\n", "not recognised; expected a header 'text_a,text_b,label'"),
    ("text_a,text_b,label\na,,1\n", "row 2: 'text_b' is empty"),
    ("text_a,text_b,label\na,b,yes\n", "row 2: label 'yes' is not a number"),
    ("text_a,text_b,label\na,b,7\n", "between 0 and 5"),
    ("text_a,text_b,label\n", "no data rows"),
    ("   \n", "empty"),
    ("text,label\n" + "x" * 30_000 + ",a\n", "characters"),
])
def test_text_bad_files(tmp_path, content, match):
    p = tmp_path / "bad.csv"
    p.write_text(content)
    with pytest.raises(DataError, match=match):
        read_text_dataset(p)


def test_non_utf8_text(tmp_path):
    p = tmp_path / "latin.csv"
    p.write_bytes("text,label\ncaf\xe9,a\n".encode("latin-1"))
    with pytest.raises(DataError, match="not UTF-8 text .*line 2"):
        read_text_dataset(p)


def test_empty_and_huge_text_inputs(texts):
    from conftest import tiny_model

    model = tiny_model("text", texts=texts)
    with pytest.raises(DataError, match="first input is empty"):
        model.compare("   ", "hello")
    with pytest.raises(DataError, match="100,000 characters"):
        model.compare("hello", "a" * 100_000)


# ------------------------------------------------------------------ series
def test_ucr_csv_with_variable_lengths(tmp_path):
    p = tmp_path / "u.tsv"
    p.write_text("1\t0.1\t0.2\t0.3\t0.4\n2\t1.0\t2.0\t3.0\t\n1.0\t5\t6\tNaN\tNaN\n")
    s = read_series_dataset(p)
    assert s.labels == ["1", "2", "1"] and [x.shape for x in s.items] == [(4, 1), (3, 1), (2, 1)]


@pytest.mark.parametrize("content,match", [
    ("a,1,2,3\nb,1,x,3\n", "row 2: 'x' is not a number"),
    ("a,1,,3\n", "missing \\(NaN\\)"),
    ("a,1\n", "at least 2 values"),
    (",1,2,3\n", "class label"),
])
def test_series_bad_files(tmp_path, content, match):
    p = tmp_path / "bad.csv"
    p.write_text(content)
    with pytest.raises(DataError, match=match):
        read_series_dataset(p)


def test_ts_file_multivariate(tmp_path):
    p = tmp_path / "m.ts"
    p.write_text("@problemName x\n@univariate false\n@classLabel true a b\n@data\n"
                 "1,2,3:4,5,6:a\n7,8,9,10:1,2,3,4:b\n")
    s = read_series_dataset(p)
    assert s.labels == ["a", "b"] and s.items[0].shape == (3, 2) and s.items[1].shape == (4, 2)
    np.testing.assert_array_equal(s.items[0][:, 1], [4, 5, 6])
    p.write_text("@classLabel true a\n@data\n1,2,3:4,5:a\n")
    with pytest.raises(DataError, match="different lengths"):
        read_series_dataset(p)
    p.write_text("@classLabel true a\n1,2,3:a\n")
    with pytest.raises(DataError, match="@data"):
        read_series_dataset(p)


def test_parse_series_text():
    assert parse_series_text("1 2 3 4").shape == (4, 1)
    assert parse_series_text("1\n2\n3").shape == (3, 1)
    x = parse_series_text("a,b\n1,2\n3,4\n5,6")
    assert x.shape == (3, 2) and x[2, 1] == 6
    for bad, match in [("", "empty"), ("1,2\n3\n", "different numbers of columns"),
                       ("1\nnan\n3", "missing or not finite|missing"), ("5", "at least 2"),
                       ("1, 2, 3x, 4", "not a number"), ("hello world", "no numbers|not a number")]:
        with pytest.raises(DataError, match=match):
            parse_series_text(bad)


def test_series_channel_mismatch_in_compare():
    from conftest import tiny_model

    model = tiny_model("timeseries")
    with pytest.raises(DataError, match="takes 1 channel"):
        model.compare(np.zeros((10, 2)), np.zeros(10))
    pre = SeriesPreprocessor(channels=None)
    m2 = sd.build_model("timeseries", "lstm", {"hidden_size": 8, "embedding_dim": 8}, {"channels": None})
    with pytest.raises(DataError, match="different channel counts"):
        m2.compare(np.random.rand(10, 2), np.random.rand(10, 3))
    assert pre.encode(np.random.rand(10, 3)).shape == (128, 3)


def test_check_image_file_without_decoding(tmp_path):
    from siamese_demo.preprocess import check_image_file

    huge = tmp_path / "huge.png"
    Image.new("1", (8000, 6250)).save(huge)
    with pytest.raises(DataError, match="megapixels"):
        check_image_file(huge)
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"GIF89a broken")
    with pytest.raises(DataError, match="not a readable image"):
        check_image_file(bad)
    ok = tmp_path / "ok.png"
    ok.write_bytes(_png())
    check_image_file(ok)
