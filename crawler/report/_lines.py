"""Table rows printed one per line, cells separated by spaces ("1.属于国家秘密 0 0 0 0 0 0 0"): what PDF text
layers, OCR and copy-paste from a web page give. A line is a row when it ends in numbers or blank marks
(—, -, /, 无) after a label; the label is matched like a grid's. Cells are taken exactly as printed: a
line never has its numbers split further (that is for text whose separators were lost, read elsewhere),
so a line with fewer numbers than columns is left open where the identities cannot place them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from crawler.report._digits import is_blank, read_number
from crawler.report._model import Number

_CJK = re.compile(r"[\u4e00-\u9fff]")
# A digit touching a Chinese character inside a label ("总计20", "121四、结转") is a number glued to a label:
# the line is run-on text, not a row (numbering is followed by punctuation: "1.属于").
_GLUED = re.compile(r"[0-9][\u4e00-\u9fff]|[\u4e00-\u9fff）)][0-9]")
# Longer than any row label of the standard tables (the longest, 其他处理's 2., is ~45 characters).
MAX_LABEL = 80


@dataclass(frozen=True)
class LineRow:
    label: str  # the label with its spaces removed
    cells: tuple[str, ...]  # the trailing number and blank tokens, as printed
    raw: str

    def values(self) -> list[Number | None]:
        return [None if is_blank(c) else read_number(c) for c in self.cells]


_SENTENCE = re.compile(r"[。，；;,:：]")
_BRACKETED = re.compile(r"[（(][^（）()]*[）)]")  # a note in brackets may hold commas: 部分公开（区分处理的，…）


def line_rows(text: str, bare_anywhere: bool = False) -> list[LineRow]:
    """Every line of ``text`` that is a label followed by space-separated numbers or blank marks; and, between
    two such lines (anywhere with ``bare_anywhere``), a short line that is only a label (a row whose cells are
    all blank: no cells)."""
    out: list[LineRow] = []
    bare: list[tuple[int, LineRow]] = []  # label-only lines and how many numbered rows came before them
    for line in text.split("\n"):
        tokens = line.split()
        if not tokens:
            continue
        k = 0
        for tok in reversed(tokens):
            if is_blank(tok) or read_number(tok) is not None:
                k += 1
            else:
                break
        if k == 0:
            label = "".join(tokens)
            if (out or bare_anywhere) and len(label) <= 40 and _CJK.search(label) \
                    and not _SENTENCE.search(_BRACKETED.sub("", label)) \
                    and not any(ch.isdigit() for ch in label[-1:]) and not _GLUED.search(" ".join(tokens)):
                bare.append((len(out), LineRow(label, (), line.strip())))
            continue
        if k == len(tokens):
            continue
        printed = " ".join(tokens[: len(tokens) - k])
        label = printed.replace(" ", "")
        # a label ending in a digit has a number glued to it (separators lost): not a clean row
        if not _CJK.search(label) or label[-1].isdigit() or len(label) > MAX_LABEL or _GLUED.search(printed):
            continue
        out.append(LineRow(label, tuple(tokens[len(tokens) - k:]), line.strip()))
    # label-only lines count only inside the run of numbered rows, in their place
    merged: list[LineRow] = []
    j = 0
    for i, row in enumerate(out):
        while j < len(bare) and bare[j][0] <= i:
            if bare[j][0] > 0 or bare_anywhere:
                merged.append(bare[j][1])
            j += 1
        merged.append(row)
    if bare_anywhere:
        merged.extend(b for _, b in bare[j:])
    return merged
