"""The PDF reader's row repairs on their own: a table row a page break cut in two (``_join_split_rows``), and the
spanned-slot marks of a printed table resolved into one cell's slots (``_plaintext._spanned``). The end-to-end cases
are in ``tests/test_report_pdf_layouts.py`` (LibreOffice renderings); these pin each rule, including when the
reader must leave the rows alone."""

from __future__ import annotations

from crawler.report._files import SPAN_LEFT, SPAN_UP
from crawler.report._pdf import _join_split_rows, _TablePiece
from crawler.report._plaintext import _spanned

XS = (50.0, 150.0, 300.0, 350.0)  # a label column, a sub-label column and two number columns


def _pages(upper_rows: list[list[str]], lower_rows: list[list[str]], *, lower_xs: tuple[float, ...] = XS,
           between: tuple[str, ...] = ("— 3 —",)) -> list[list[str | _TablePiece]]:
    return [["二、主动公开政府信息情况", _TablePiece(XS, upper_rows), *between],
            [_TablePiece(lower_xs, lower_rows), "四、存在的主要问题及改进情况"]]


def test_a_row_cut_by_a_page_break_is_put_back_together() -> None:
    """``20`` at the foot of one page, ``4`` at the head of the next (no label of its own), for 204; the page
    number between them is skipped, and the lower piece, empty once its row has moved up, is dropped."""
    pages = _pages([["三、收到和处理政府信息公开申请情况", "（一）予以公开", "20", "1"]], [["", "", "4", ""]])
    _join_split_rows(pages)
    upper = pages[0][1]
    assert isinstance(upper, _TablePiece)
    assert upper.rows == [["三、收到和处理政府信息公开申请情况", "（一）予以公开", "204", "1"]]
    assert pages[1] == ["四、存在的主要问题及改进情况"]


def test_a_label_cut_in_two_is_joined_when_only_the_whole_label_is_a_row_of_the_form() -> None:
    """The lower half's label (``公开申请数量``) is no row of the form, the two halves joined are: one row."""
    pages = _pages([["本年新收政府信息", "", "1", "2"]], [["公开申请数量", "", "3", ""], ["（一）予以公开", "", "5", "6"]])
    _join_split_rows(pages)
    upper, lower = pages[0][1], pages[1][0]
    assert isinstance(upper, _TablePiece) and isinstance(lower, _TablePiece)
    assert upper.rows == [["本年新收政府信息公开申请数量", "", "13", "2"]]
    assert lower.rows == [["（一）予以公开", "", "5", "6"]]


def test_a_next_row_with_a_label_of_its_own_is_left_alone() -> None:
    rows_before = [["（一）予以公开", "", "20", "1"]]
    pages = _pages([list(r) for r in rows_before], [["（二）部分公开", "", "4", ""]])
    _join_split_rows(pages)
    upper, lower = pages[0][1], pages[1][0]
    assert isinstance(upper, _TablePiece) and isinstance(lower, _TablePiece)
    assert upper.rows == rows_before and lower.rows == [["（二）部分公开", "", "4", ""]]


def test_other_columns_or_text_between_mean_another_table() -> None:
    """A lower row whose filled slots are not the upper table's columns, or a heading between the two tables (not
    a page number), is not a continuation."""
    # the third column lines up, the fourth does not: the row belongs to a table with other columns
    shifted = _pages([["（一）予以公开", "", "20", "1"]], [["", "", "4", "7"]], lower_xs=(50.0, 150.0, 300.0, 380.0))
    _join_split_rows(shifted)
    assert isinstance(shifted[0][1], _TablePiece) and shifted[0][1].rows[0][2] == "20"
    assert isinstance(shifted[1][0], _TablePiece) and shifted[1][0].rows == [["", "", "4", "7"]]
    headed = _pages([["（一）予以公开", "", "20", "1"]], [["", "", "4", ""]], between=("三、收到和处理政府信息公开申请情况",))
    _join_split_rows(headed)
    assert isinstance(headed[0][1], _TablePiece) and headed[0][1].rows[0][2] == "20"


def test_span_marks_in_the_lower_half_add_nothing() -> None:
    """A merged label cell printed on both pages comes back as ``⇑``/``⇐`` marks in the lower half: they are
    not text to append, and a lower row of marks only is no continuation at all."""
    pages = _pages([["（一）予以公开", "", "20", "1"]], [[SPAN_UP, SPAN_LEFT, "4", ""]])
    _join_split_rows(pages)
    assert isinstance(pages[0][1], _TablePiece) and pages[0][1].rows == [["（一）予以公开", "", "204", "1"]]
    marks_only = _pages([["（一）予以公开", "", "20", "1"]], [[SPAN_UP, SPAN_LEFT, "", ""]])
    _join_split_rows(marks_only)
    assert isinstance(marks_only[0][1], _TablePiece) and marks_only[0][1].rows[0][2] == "20"
    assert isinstance(marks_only[1][0], _TablePiece) and len(marks_only[1][0].rows) == 1


def test_span_marks_become_one_cells_slots() -> None:
    """``⇐`` takes the text and identity of the slot to its left, ``⇑`` of the slot above, so a label cell spanning
    two rows and a header spanning two columns read like an HTML table's spans."""
    grid = _spanned([["申请人情况", SPAN_LEFT, "总计"],
                     ["自然人", "法人", SPAN_UP],
                     ["1", "2", "3"]])
    assert grid.rows == [["申请人情况", "申请人情况", "总计"], ["自然人", "法人", "总计"], ["1", "2", "3"]]
    ids = grid.cell_ids()
    assert ids[0][0] == ids[0][1] and ids[0][2] == ids[1][2]
    assert len({ids[1][0], ids[1][1], ids[2][0], ids[2][1], ids[2][2], ids[0][0], ids[0][2]}) == 7


def test_marks_with_nothing_to_cover_stay_blank_cells() -> None:
    """A mark in the first column or the first row has no cell to take: it is a blank slot of its own, never
    text. A table without marks keeps its rows as they are (every slot its own cell)."""
    grid = _spanned([[SPAN_LEFT, SPAN_UP], ["a", "b"]])
    assert grid.rows == [["", ""], ["a", "b"]]
    ids = grid.cell_ids()
    assert len({ids[0][0], ids[0][1], ids[1][0], ids[1][1]}) == 4
    plain = _spanned([["a", "b"], ["c", "d"]])
    assert plain.rows == [["a", "b"], ["c", "d"]] and plain.ids is None
