"""(term, definition) pairs from two dictionaries shipped as Debian packages, for pre-training.

- GCIDE, the GNU Collaborative International Dictionary of English (Debian ``dict-gcide``;
  GPL-2+; mostly Webster's 1913 with later additions): every headword or ``{phrase}`` with each of
  its numbered senses.
- WordNet 3.0 (Debian ``wordnet-base``; WordNet licence): every lemma of a synset with the synset's
  definition, and every usage example with the definition.

A text encoder that maps a word close to its definition learns the meaning of far more words than
the ~8k sentence pairs of STS-B contain; the STS-B stage then starts from those meanings.
"""
from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np

from .wordnet_pairs import read_synsets

GCIDE_FILE = Path("/usr/share/dictd/gcide.dict.dz")

_PRON = re.compile(r"\\[^\\\n]*\\")                    # \Ab*do"men\
_BRACKET = re.compile(r"\[[^\[\]]*\]", re.S)           # [L. abdomen ...], [1913 Webster], [R.]
_CITE = re.compile(r"--\s*[A-Z].*$", re.S)             # --Bailey. and quotations after it
_DOMAIN = re.compile(r"^(\((?:[A-Z][\w.]*\.?\s*(?:&\s*)?)+\)\s*,?\s*)+")  # (Anat.) (Zool.)
_SENSE = re.compile(r"(?:^|\s)\d{1,2}\.\s+")
_POS_HEAD = re.compile(r"^[^,]*,\s*(?:[a-z]{1,6}\.\s*(?:&\s*)?)*(?:;[^.]*\.)?")  # "Abdomen , n." / "v. t."


def _clean(text: str) -> str:
    text = _CITE.sub("", text)
    text = _DOMAIN.sub("", text.strip())
    text = re.sub(r"[{}]", "", text)
    text = re.sub(r"\s+", " ", text).strip(" ;,.")
    return text


def read_gcide(path: Path = GCIDE_FILE) -> list[tuple[str, str]]:
    """(term, sense definition) pairs from the dictd-format GCIDE file."""
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: install Debian's dict-gcide (apt-get install dict-gcide)")
    raw = gzip.open(path, "rt", encoding="utf-8", errors="replace").read()
    pairs: list[tuple[str, str]] = []
    head = None
    for block in raw.split("\n\n"):
        if not block.strip():
            continue
        if block.lstrip("\n")[0] not in " \t":  # a new entry: "Word \pron\, pos. [etym]" then senses
            first = block.lstrip("\n").split("\n", 1)[0]
            head = first.split("\\", 1)[0].strip().rstrip(",")
            block = _POS_HEAD.sub("", _BRACKET.sub("", _PRON.sub("", block)), count=1)
        if not head or not re.fullmatch(r"[A-Za-z][A-Za-z' -]{0,40}", head):  # also skips 00-database-*
            continue
        text = _BRACKET.sub("", _PRON.sub("", block))  # on a head block, a second pass removes nested [..[..]..]
        if "Syn:" in text or "Note:" in text.split("\n", 1)[0]:
            continue
        phrase = re.match(r"\s*\{([^}]{2,60})\}", text)  # {Abdominal ring} (Anat.), a fancied ...
        term = phrase.group(1) if phrase else head
        if phrase:
            text = text[phrase.end():]
        for sense in _SENSE.split(text):
            d = _clean(sense)
            if len(d.split()) >= 3 and re.match(r"[A-Za-z(]", d):
                pairs.append((term.lower(), d))
    return pairs


def wordnet_definition_pairs() -> list[tuple[str, str]]:
    pairs = []
    for lemmas, definition, examples in read_synsets():
        if not definition:
            continue
        pairs.extend((lem.lower(), definition) for lem in lemmas)
        pairs.extend((ex, definition) for ex in examples)
    return pairs


def build_pairs(seed: int = 0, exclude: set[str] | None = None,
                sources: list[tuple[str, str]] | None = None) -> list[tuple[str, str]]:
    """GCIDE + WordNet (term, definition) pairs (or ``sources``), deduplicated case-insensitively and
    shuffled with ``seed``. ``exclude``: lower-cased texts never to use (any sentence of an evaluation set).
    """
    exclude = exclude or set()
    seen, out = set(), []
    for a, b in (read_gcide() + wordnet_definition_pairs() if sources is None else sources):
        key = (a.lower(), b.lower())
        if key in seen or a.lower() in exclude or b.lower() in exclude:
            continue
        seen.add(key)
        out.append((a, b))
    order = np.random.default_rng(seed).permutation(len(out))
    return [out[k] for k in order]

