"""The text recipe's dictionary pre-training: the GCIDE parser and the term -> definition stage."""
import gzip

import numpy as np
import torch
from conftest import tiny_model

from siamese_demo.recipes import dictionary_pairs as dp
from siamese_demo.recipes.stsb_text import pretrain

GCIDE_SNIPPET = """00-database-info
     This file was converted from the original database.

Abdomen \\Ab*do"men\\, n. [L. abdomen (a word of uncertain
   etymol.): cf. F. abdomen.]
   1. (Anat.) The belly, or that part of the body between the
      thorax and the pelvis.
      [1913 Webster]

   2. (Zool.) The posterior section of the body, behind the
      thorax, in insects. --Owen.
      [1913 Webster]

Abdicator \\Ab"di*ca`tor\\, n.
   One who abdicates.
   [1913 Webster]

   {Abdominal ring} (Anat.), a fancied ringlike opening on each
      side of the abdomen.
      [1913 Webster]

   Syn: -- Belly; paunch.
      [1913 Webster]

Abed \\A*bed"\\, adv.
   In bed.
   [1913 Webster]
"""


def test_gcide_parser_reads_senses_phrases_and_drops_markup(tmp_path):
    path = tmp_path / "gcide.dict.dz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write(GCIDE_SNIPPET)
    assert dp.read_gcide(path) == [
        ("abdomen", "The belly, or that part of the body between the thorax and the pelvis"),
        ("abdomen", "The posterior section of the body, behind the thorax, in insects"),
        ("abdicator", "One who abdicates"),
        ("abdominal ring", "a fancied ringlike opening on each side of the abdomen"),
    ]  # database info, the synonym block and the two-word "In bed" are left out


def test_build_pairs_dedupes_excludes_and_shuffles_by_seed():
    src = [("Cat", "a small animal"), ("cat", "A small animal"), ("dog", "a loyal animal"),
           ("held", "a test sentence"), *[(f"w{i}", f"meaning number {i}") for i in range(20)]]
    a = dp.build_pairs(seed=1, exclude={"a test sentence"}, sources=src)
    assert len(a) == 22 and sorted(a) == sorted([src[0], src[2], *src[4:]])
    assert dp.build_pairs(seed=1, exclude={"a test sentence"}, sources=src) == a
    assert dp.build_pairs(seed=2, exclude={"a test sentence"}, sources=src) != a


def _retrieval_accuracy(model, pairs):
    ea = model.embed([a for a, _ in pairs])
    eb = model.embed([b for _, b in pairs])
    ea /= np.linalg.norm(ea, axis=1, keepdims=True)
    eb /= np.linalg.norm(eb, axis=1, keepdims=True)
    hits = 0
    for i in range(len(pairs)):  # brute force: is the own definition the most similar one?
        sims = [float(ea[i] @ eb[j]) for j in range(len(pairs))]
        hits += int(np.argmax(sims) == i)
    return hits / len(pairs)


PAIRS = [("cat", "small furry pet that purrs"), ("river", "large natural stream of water"),
         ("piano", "keyboard instrument with strings"), ("bread", "food baked from flour dough"),
         ("winter", "coldest season of the year"), ("doctor", "person who treats the sick"),
         ("hammer", "tool for driving nails"), ("moon", "satellite that circles the earth")]


def test_pretraining_maps_terms_to_their_definitions_and_repeats_with_the_seed(capsys):
    texts = [x for p in PAIRS for x in p] * 3
    torch.manual_seed(0)  # the untrained model's retrieval accuracy must not depend on what ran before
    model = tiny_model("text", "transformer", texts=texts)
    before = _retrieval_accuracy(model, PAIRS)
    info = pretrain(model, PAIRS, steps=80, batch_size=8, lr=3e-3, seed=0, log_every=40)
    after = _retrieval_accuracy(model, PAIRS)
    assert after == 1.0 and before < 0.5
    assert info["steps"] == 80 and len(info["log"]) == 2
    assert info["log"][-1]["loss"] < 0.2  # from about ln(8) = 2.08 with 8 pairs a batch
    # the same tokenizer: tokenizers' trainer breaks frequency ties differently from run to run
    twin = tiny_model("text", "transformer", tokenizer=model.preprocessor.tokenizer)
    pretrain(twin, PAIRS, steps=80, batch_size=8, lr=3e-3, seed=0, log_every=40)
    for p, q in zip(model.parameters(), twin.parameters()):
        assert torch.equal(p, q)


KJV_IMP = """$$$[ Module Heading ]

$$$Genesis 0:0
<milestone type="x-importer" subType="x-osis2mod"/>
$$$Genesis 1:1
<w lemma="strong:H7225">In the beginning</w> <w lemma="strong:H0430">God</w> created the heaven and the earth.
$$$Genesis 1:2
And the earth was without form, and void;
and darkness <transChange type="added">was</transChange> upon the face of the deep.
$$$Genesis 1:3
And God said, Let there be light: and there was light.
$$$John 11:35
Jesus wept.
$$$Revelation 22:21
The grace of our Lord Jesus Christ <i>be</i> with you all. Amen.
"""

WEB_IMP = """$$$Genesis 1:1
<div sID="gen1" type="x-p"/>In the beginning, God created the heavens and the earth.<note placement="foot">1:1 a note</note>
$$$Genesis 1:2
¶ The earth was formless and empty. Darkness was on the surface of the deep &amp; the waters.
$$$Genesis 1:3
And God said, Let there be light: and there was light.
$$$John 11:35
Jesus wept.
$$$Revelation 22:21
The grace of the Lord Jesus Christ be with all the saints. Amen. A glossary of many words that the module
appends to its last verse: one two three four five six seven eight nine ten eleven twelve thirteen fourteen.
"""


def test_bible_verse_pairs_from_mod2imp_files(tmp_path):
    from siamese_demo.recipes import bible_pairs as bp

    (tmp_path / "kjv.imp").write_text(KJV_IMP, encoding="utf-8")
    (tmp_path / "web.imp").write_text(WEB_IMP, encoding="utf-8")
    kjv = bp.read_module("kjv", tmp_path)
    # headings and verse 0 are not verses; markup and footnotes are gone, lines joined
    assert list(kjv) == ["Genesis 1:1", "Genesis 1:2", "Genesis 1:3", "John 11:35", "Revelation 22:21"]
    assert kjv["Genesis 1:2"] == ("And the earth was without form, and void; and darkness was upon the face of the "
                                  "deep.")
    assert bp.read_module("web", tmp_path)["Genesis 1:1"] == "In the beginning, God created the heavens and the earth."
    assert bp.clean_osis("¶ the deep &amp; the waters <b>.</b>") == "the deep & the waters."
    # identical verses (1:3), verses under 4 words (John 11:35) and the glossary verse (> 2x longer) are dropped
    assert bp.build_pairs(tmp_path) == [
        ("In the beginning God created the heaven and the earth.",
         "In the beginning, God created the heavens and the earth."),
        ("And the earth was without form, and void; and darkness was upon the face of the deep.",
         "The earth was formless and empty. Darkness was on the surface of the deep & the waters."),
    ]
