"""Chinese text processing for the archive index, identical at index and at query time.

Elasticsearch's integ-test build has no ``analysis-common`` module (no ``cjk`` analyzer,
no n-grams, no lowercase filter), so the words are cut here, in Python, with jieba and a
versioned user dictionary, and sent to a ``whitespace``-analysed field. A second copy of
the text goes to a ``standard``-analysed field, which emits one token per Han character:
``match_phrase`` on it is an exact substring search, and it is the field highlights come
from.

Normalisation (``fold``) is NFKC, so full-width Latin letters and digits ("ＡＩ", "２０２６")
become their half-width forms, compatibility ideographs become the unified ones, and the
ideographic space becomes a space. Chinese full-width punctuation (，：（）) is kept as it is,
because the folded text is also what highlighted snippets show.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from pathlib import Path
from typing import Any

DICTIONARY_VERSION = "v1"
DICTIONARY_DIR = Path(__file__).resolve().parent / "dictionary"

# Full-width punctuation NFKC would turn into ASCII: protected by swapping it for
# private-use code points around the normalisation (a few C-level replacements).
_KEEP = "，。：；！？（）【】《》、“”‘’「」"
_PROTECTED = [(c, chr(0xF0000 + i)) for i, c in enumerate(sorted(c for c in _KEEP if unicodedata.normalize("NFKC", c) != c))]
# Highlight markers (see query.py) must never occur in indexed text.
HIGHLIGHT_PRE = "\ue000"
HIGHLIGHT_POST = "\ue001"
_STRIP = (HIGHLIGHT_PRE, HIGHLIGHT_POST, "\x00")

# 〔2026〕, [2026], （2026）, ［2026］, 【2026】 are all written for the year bracket of a 发文字号;
# the standard form (GB/T 9704 7.2.4) is the hexagonal bracket 〔〕.
_DOC_NUMBER_RE = re.compile(
    r"^\s*(?P<code>[^\s\[\]［］（）()【】〔〕]*)\s*[\[［（(【〔]\s*(?P<year>\d{4})\s*[\]］）)】〕]"
    r"\s*第?\s*0*(?P<serial>\d+)\s*号\s*$"
)


def fold(text: str) -> str:
    """NFKC with Chinese punctuation kept; drops NULs and our highlight markers."""
    if not text:
        return ""
    # str.replace runs in C; str.translate with a dict is several times slower here.
    for char in _STRIP:
        if char in text:
            text = text.replace(char, "")
    for char, private in _PROTECTED:
        text = text.replace(char, private)
    text = unicodedata.normalize("NFKC", text)
    for char, private in _PROTECTED:
        text = text.replace(private, char)
    return text


def normalise_doc_number(value: str) -> str:
    """The canonical 发文字号, e.g. "浙政办发[2026]012号" → "浙政办发〔2026〕12号"."""
    folded = fold(value).strip()
    match = _DOC_NUMBER_RE.match(folded)
    if not match:
        return re.sub(r"\s+", "", folded)
    return f"{match['code']}〔{match['year']}〕{int(match['serial'])}号"


def normalise_code(value: str) -> str:
    """Archive codes are compared folded, upper-case, without spaces ("z109-ws·2026…")."""
    return re.sub(r"\s+", "", fold(value)).upper().replace("．", "·").replace("・", "·")


class _Segmenter:
    """One jieba tokenizer per process with our user dictionary, built on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokenizer = None

    def get(self) -> Any:  # jieba.Tokenizer (jieba has no type information)
        if self._tokenizer is None:
            with self._lock:
                if self._tokenizer is None:
                    import logging

                    import jieba

                    jieba.setLogLevel(logging.WARNING)  # jieba forces DEBUG on its logger at import

                    tokenizer = jieba.Tokenizer()
                    tokenizer.initialize()
                    tokenizer.load_userdict(str(DICTIONARY_DIR / f"{DICTIONARY_VERSION}.txt"))
                    self._tokenizer = tokenizer
        return self._tokenizer


_segmenter = _Segmenter()
_WORD_RE = re.compile(r"\w", re.UNICODE)


def words(text: str) -> list[str]:
    """Folded, lower-cased search words: jieba's search mode (long words and their parts)."""
    folded = fold(text).casefold()
    if not folded.strip():
        return []
    return [w for w in _segmenter.get().cut_for_search(folded, HMM=True) if _WORD_RE.search(w)]


def segment(text: str) -> str:
    """The whitespace-joined words sent to the ``*_seg`` fields."""
    return " ".join(words(text))
