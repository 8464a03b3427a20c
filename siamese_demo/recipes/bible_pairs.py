"""Sentence-level paraphrase pairs: the same Bible verse in two English translations.

- King James Version (Debian ``sword-text-kjv``, module ``engKJV2006eb``; public domain outside the UK)
- World English Bible (Debian ``sword-text-web``, module ``engWEB2015eb``; public domain)

Both are read with ``mod2imp`` (Debian ``libsword-utils``), which prints a module as ``$$$Book C:V``
lines, each followed by the verse in OSIS markup. The pairs (KJV verse, WEB verse) say the same thing
in 17th-century and modern wording: sentence paraphrases, which the term/definition pairs of
``dictionary_pairs`` do not give.

    apt-get install sword-text-kjv sword-text-web libsword-utils
"""
from __future__ import annotations

import html
import re
import subprocess
from pathlib import Path

MODULES = {"kjv": "engKJV2006eb", "web": "engWEB2015eb"}

_NOTE = re.compile(r"<note\b.*?</note>", re.S)
_TAG = re.compile(r"<[^>]+>")


def clean_osis(markup: str) -> str:
    """OSIS verse markup -> plain text: footnotes dropped, tags removed, whitespace collapsed."""
    text = _TAG.sub(" ", _NOTE.sub(" ", markup))
    text = html.unescape(text).replace("¶", " ")
    text = re.sub(r"\s+([,.;:!?’”)])", r"\1", text)
    text = re.sub(r"([(“‘])\s+", r"\1", text)
    return re.sub(r"\s+", " ", text).strip()


def parse_imp(text: str) -> dict[str, str]:
    """``mod2imp`` output -> {"Genesis 1:1": plain verse text}; headings and empty verses skipped."""
    verses, key, lines = {}, None, []

    def flush():
        if key and re.search(r" \d+:[1-9]\d*$", key):
            verse = clean_osis(" ".join(lines))
            if verse:
                verses[key] = verse

    for line in text.splitlines():
        if line.startswith("$$$"):
            flush()
            key, lines = line[3:].strip(), []
        else:
            lines.append(line)
    flush()
    return verses


def read_module(name: str, source: str | Path = "auto") -> dict[str, str]:
    """Verses of ``name`` ("kjv" or "web"): exported with ``mod2imp`` (``source="auto"``) or read from
    ``source/<name>.imp``, a file written earlier by ``mod2imp <module> > <name>.imp``."""
    if str(source) == "auto":
        try:
            out = subprocess.run(["mod2imp", MODULES[name]], capture_output=True, text=True, check=True).stdout
        except FileNotFoundError as exc:
            raise RuntimeError("mod2imp not found: apt-get install libsword-utils sword-text-kjv sword-text-web") from exc
    else:
        out = (Path(source) / f"{name}.imp").read_text(encoding="utf-8")
    verses = parse_imp(out)
    if not verses:
        raise RuntimeError(f"no verses read from the {MODULES[name]} module")
    return verses


def build_pairs(source: str | Path = "auto", min_words: int = 4, max_ratio: float = 2.0) -> list[tuple[str, str]]:
    """(KJV verse, WEB verse) for every verse both translations have, in canonical order. Verses of
    fewer than ``min_words`` words, and pairs whose word counts differ more than ``max_ratio`` times
    (the WEB module appends its glossary to the last verse) are left out."""
    kjv, web = read_module("kjv", source), read_module("web", source)
    pairs = []
    for k, a in kjv.items():
        b = web.get(k)
        if b is None or a == b:
            continue
        na, nb = len(a.split()), len(b.split())
        if min(na, nb) >= min_words and max(na, nb) <= max_ratio * min(na, nb):
            pairs.append((a, b))
    return pairs
