"""Breaking a 公文 title into lines between words (GB/T 9704-2012 7.3.1).

7.3.1: 标题回行时，要做到词意完整，排列对称，长短适宜，间距恰当，标题排列应当使用梯形或菱形.
A 2号 title line holds 20 characters in the 156 mm block; a longer title is cut only
between jieba words, never inside a quoted or bracketed span (“一网通办”, 《条例》), a term
of ``title_words.txt`` (政务数据, 数字政府 …) or a number with its unit (2026年), and
never before closing punctuation. Among the cuts with the fewest lines it takes the one
whose longest line is shortest (排列对称), then the one with the shorter first line (梯形),
avoiding lines that start with a particle (的, 和 …).

A drafter sets breaks with a newline in the title; each of their lines is broken further
only when it is itself longer than a line.

The segmenter is jieba with our own small dictionary, loaded once per process (~0.5 s).
"""

from __future__ import annotations

import itertools
import logging
import math
import re
import threading
import unicodedata
from pathlib import Path
from typing import Any

__all__ = ["TITLE_UNITS_PER_LINE", "split_title", "title_lines"]

TITLE_UNITS_PER_LINE = 20  # 2号 (22 pt): floor(156 mm / 22 pt)
TITLE_WORDS = Path(__file__).resolve().parent / "title_words.txt"

_OPENERS = "“‘《（(〔【「『〈"
_CLOSERS = "”’》）)〕】」』〉"
# GB/T 15834 标点: these never begin a line
_NO_LINE_START = _CLOSERS + "，。、；：？！…—·"
# A line starting with a particle reads badly (「的通知」 alone on a line).
_WEAK_STARTS = frozenset("的和与及等了并或")
# 2026年, 第12次, 12号: a number stays with its unit.
_NUMBER_SPAN = re.compile(r"第?[0-9０-９]+(?:[年月日号期次届批项条款个]|周年)?")


def _units(text: str) -> float:
    return sum(1.0 if unicodedata.east_asian_width(ch) in ("W", "F", "A") else 0.5 for ch in text)


class _Segmenter:
    """One jieba tokenizer per process with our title words, built on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokenizer: Any = None
        self.terms: tuple[str, ...] = ()

    def get(self) -> Any:
        if self._tokenizer is None:
            with self._lock:
                if self._tokenizer is None:
                    import jieba

                    jieba.setLogLevel(logging.WARNING)  # jieba sets DEBUG on its logger at import
                    tokenizer = jieba.Tokenizer()
                    tokenizer.initialize()
                    terms = _read_terms()
                    for term in terms:
                        # Frequent enough that jieba keeps the term whole where it can; the
                        # protected spans below hold it whole where it cannot.
                        tokenizer.add_word(
                            term, freq=tokenizer.suggest_freq(term, tune=False) or 1000
                        )
                    self.terms = terms
                    self._tokenizer = tokenizer
        return self._tokenizer


def _read_terms() -> tuple[str, ...]:
    lines = TITLE_WORDS.read_text(encoding="utf-8").splitlines()
    terms = (line.split("#", 1)[0].strip() for line in lines)
    # longest first, so a longer term wins an overlap
    return tuple(sorted({t for t in terms if t}, key=len, reverse=True))


_segmenter = _Segmenter()


def _protected_spans(text: str, terms: tuple[str, ...]) -> list[tuple[int, int]]:
    """Half-open character ranges no line break may fall inside."""
    spans: list[tuple[int, int]] = []
    stack: list[int] = []
    for i, ch in enumerate(text):
        if ch in _OPENERS:
            stack.append(i)
        elif ch in _CLOSERS and stack:
            start = stack.pop()
            if not stack:
                spans.append((start, i + 1))
    spans.extend((m.start(), m.end()) for m in _NUMBER_SPAN.finditer(text))
    for term in terms:
        start = text.find(term)
        while start >= 0:
            spans.append((start, start + len(term)))
            start = text.find(term, start + 1)
    return spans


def _tokens(text: str) -> list[str]:
    """jieba words merged so that every boundary between tokens is an allowed break."""
    tokenizer = _segmenter.get()
    words = [w for w in tokenizer.lcut(text, HMM=False) if w]
    forbidden: set[int] = set()
    for start, end in _protected_spans(text, _segmenter.terms):
        forbidden.update(range(start + 1, end))
    for i, ch in enumerate(text):
        if ch in _NO_LINE_START:
            forbidden.add(i)  # no break before it
        if ch in _OPENERS:
            forbidden.add(i + 1)  # no break after it
    tokens: list[str] = []
    position = 0
    for word in words:
        if tokens and position in forbidden:
            tokens[-1] += word
        else:
            tokens.append(word)
        position += len(word)
    return tokens


def split_title(text: str, per_line: int = TITLE_UNITS_PER_LINE) -> list[str]:
    """``text`` (one line of the drafter's) as the fewest lines of at most ``per_line``
    characters, broken between words, as even as possible (see the module docstring)."""
    text = text.strip()
    if not text:
        return []
    if _units(text) <= per_line:
        return [text]
    tokens = _tokens(text)
    widths = [_units(t) for t in tokens]
    n = len(tokens)
    memo: dict[tuple[int, int], tuple[tuple[float, float], list[int]] | None] = {}

    def solve(start: int, lines_left: int) -> tuple[tuple[float, float], list[int]] | None:
        """Best (cost, cut positions) for tokens[start:] in exactly ``lines_left`` lines;
        cost = (longest line, penalties + a small weight on earlier lines' widths)."""
        key = (start, lines_left)
        if key in memo:
            return memo[key]
        result: tuple[tuple[float, float], list[int]] | None = None
        if lines_left == 1:
            width = sum(widths[start:])
            result = ((width, 0.0), [n]) if width <= per_line else None
        else:
            width = 0.0
            for end in range(start + 1, n):
                width += widths[end - 1]
                if width > per_line:
                    break
                rest = solve(end, lines_left - 1)
                if rest is None:
                    continue
                penalty = 1.0 if tokens[end][0] in _WEAK_STARTS else 0.0
                cost = (max(width, rest[0][0]), rest[0][1] + penalty + 0.01 * width)
                if result is None or cost < result[0]:
                    result = (cost, [end, *rest[1]])
        memo[key] = result
        return result

    for lines in range(max(2, math.ceil(sum(widths) / per_line)), n + 1):
        found = solve(0, lines)
        if found is not None:
            cuts = [0, *found[1]]
            return ["".join(tokens[a:b]) for a, b in itertools.pairwise(cuts)]
    return [text]  # one unbreakable span longer than a line: the renderer wraps it


def title_lines(title: str) -> list[str]:
    """The printed lines of ``title``: the drafter's newlines kept, each line broken
    further between words when it is too long."""
    return [part for line in title.strip().splitlines() for part in split_title(line)]
