"""PDF, DOCX and DOC reports to text. Tables come out as markdown lines so the text reader takes them in."""

from __future__ import annotations

import functools
import io
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# A DOCX member larger than this, or inflating more than this ratio, is refused (zip bombs).
MAX_MEMBER_BYTES = 64 * 1024 * 1024
MAX_RATIO = 200
ANTIWORD_TIMEOUT_S = 20
# LibreOffice's start and one conversion take 1–3 s here; a file still converting after this is given up on
# (its whole process group killed) and antiword reads it instead.
SOFFICE_TIMEOUT_S = 60
# A DOCX table grid column narrower than one point (20 twips) holds no text: it is a rounding sliver
# (LibreOffice writes a 1-twip one when a Word 97 row's cell edges differ by a twip from the next row's).
SLIVER_TWIPS = 20

# pdfminer logs several thousand DEBUG records per page. Scrapy leaves the root logger at NOTSET, so each of them
# would be built and handed to every handler before being dropped: half of the crawl's parse time. Unless the
# operator has set a level for pdfminer themselves, it logs from WARNING up.
if logging.getLogger("pdfminer").level == logging.NOTSET:
    logging.getLogger("pdfminer").setLevel(logging.WARNING)


class AttachmentError(Exception):
    """The attachment cannot be read; the message says why."""


def sniff(content: bytes, content_type: str | None, url: str | None) -> str:
    ct = (content_type or "").split(";")[0].strip().lower()
    low_url = (url or "").lower().split("?")[0]
    head = content[:8]
    if head.startswith(b"%PDF") or ct == "application/pdf":
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return "docx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "doc"
    if "wordprocessingml" in ct or low_url.endswith(".docx"):
        return "docx"
    if ct in ("application/msword", "application/vnd.ms-works", "application/wps-office.wps") or \
            low_url.endswith((".doc", ".wps")):
        return "doc"
    return "markup"


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "｜").replace("\n", "") for c in cells) + " |"


def pdf_text(content: bytes) -> str:
    import pdfplumber

    out: list[str] = []
    try:
        with pdfplumber.open(io.BytesIO(content)) as pdf:
            for page in pdf.pages:
                tables = page.find_tables()
                boxes = [t.bbox for t in tables]

                def outside(obj: dict[str, Any], boxes: list[Any] = boxes) -> bool:
                    if "x0" not in obj:
                        return True
                    x = (obj["x0"] + obj["x1"]) / 2
                    y = (obj["top"] + obj["bottom"]) / 2
                    return not any(b[0] <= x <= b[2] and b[1] <= y <= b[3] for b in boxes)

                body = page.filter(outside) if boxes else page
                # text lines and tables in reading order, by their top edge
                pieces: list[tuple[float, str]] = [
                    (float(line["top"]), line["text"]) for line in body.extract_text_lines()]
                for t in tables:
                    rows = [_md_row([(c or "") for c in row]) for row in t.extract()]
                    pieces.append((float(t.bbox[1]), "\n" + "\n".join(rows) + "\n"))
                out.extend(text for _, text in sorted(pieces, key=lambda p: p[0]))
    except Exception as e:  # noqa: BLE001 - pdfminer raises arbitrary types on hostile files
        raise AttachmentError(f"unreadable PDF: {type(e).__name__}: {e}") from e
    return "\n".join(out)


def docx_text(content: bytes) -> str:
    try:
        zf = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile as e:
        raise AttachmentError(f"not a DOCX (bad zip): {e}") from e
    for info in zf.infolist():
        ratio = info.file_size / max(1, info.compress_size)
        if info.file_size > MAX_MEMBER_BYTES or ratio > MAX_RATIO:
            raise AttachmentError(
                f"DOCX member {info.filename} inflates to {info.file_size} bytes (ratio {ratio:.0f}): refused")
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(content))
        out: list[str] = []
        for item in document.iter_inner_content():
            if isinstance(item, Paragraph):
                out.append(item.text)
            elif isinstance(item, Table):
                # a merged cell comes back once per grid column it covers, like an HTML span
                out.append("")
                slivers = _sliver_columns(item)
                for row in item.rows:
                    first, texts = _row_texts(row)
                    out.append(_md_row([t for col, t in enumerate(texts, first) if col not in slivers]))
                out.append("")
    except Exception as e:  # noqa: BLE001 - python-docx/lxml raise arbitrary types on hostile files
        raise AttachmentError(f"unreadable DOCX: {type(e).__name__}: {e}") from e
    return "\n".join(out)


def _row_texts(row: Any) -> tuple[int, list[str]]:
    """The grid column a DOCX table row's first text stands in, and the texts, one per grid column from
    there (a merged cell repeats, like an HTML span).

    python-docx refuses a row whose vertical merge points at a cell the row above does not have
    (LibreOffice writes such rows when it re-saves a table it misread); that row is read cell by cell,
    each cell's own text repeated over its span, instead of losing the whole document."""
    try:
        return row._tr.grid_before, [cell.text for cell in row.cells]
    except ValueError:
        from docx.table import _Cell

        tr = row._tr
        texts = [""] * tr.grid_before
        for tc in tr.tc_lst:
            texts.extend([_Cell(tc, row.table).text] * tc.grid_span)
        return 0, texts


def _sliver_columns(table: Any) -> set[int]:
    """The grid columns of a DOCX table narrower than ``SLIVER_TWIPS`` that no cell lies wholly in.

    Every cell over such a column also covers a real one, so reading it would only repeat that cell's text
    (LibreOffice's DOC→DOCX gives Table 4's 总计 a 1-twip second column: 16 numbers for 15 columns). A table
    without a grid, or with one that does not parse, has none: it is read as before."""
    from docx.oxml.ns import qn
    from docx.shared import Twips

    try:
        grid = table._tbl.find(qn("w:tblGrid"))
        if grid is None:
            return set()
        slivers = {j for j, col in enumerate(grid.findall(qn("w:gridCol")))
                   if col.w is not None and col.w < Twips(SLIVER_TWIPS)}
        for tr in table._tbl.tr_lst if slivers else ():
            col = tr.grid_before
            for tc in tr.tc_lst:
                span = set(range(col, col + tc.grid_span))
                if span <= slivers:  # a cell all in slivers: its text stands only there, keep its columns
                    slivers -= span
                col += tc.grid_span
    except Exception:  # noqa: BLE001 - python-docx raises arbitrary types on malformed widths and spans
        return set()
    return slivers


@dataclass(frozen=True)
class DocText:
    """A DOC/WPS file's text, the converter that gave it, and why a converter tried before it failed."""

    text: str
    converter: str  # "libreoffice" or "antiword"
    fallback_reason: str | None = None  # set when LibreOffice is installed but gave nothing: why


def doc_text(content: bytes) -> DocText:
    """A Word 97–2003 (or WPS) file to text, tables as markdown rows.

    LibreOffice headless, where installed, converts it to DOCX (read by ``docx_text``); it reads every table.
    antiword, the fallback, loses rows of seven or more cells (see ``antiword_tables``). A LibreOffice failure
    (timeout, exit status, no output, an unreadable result) falls back to antiword, and says why."""
    soffice = shutil.which("soffice")
    antiword = shutil.which("antiword")
    if soffice is None and antiword is None:
        raise AttachmentError("DOC/WPS attachment and neither LibreOffice (soffice) nor antiword installed")
    reason = None
    if soffice is not None:
        try:
            return DocText(docx_text(soffice_docx(content, soffice)), "libreoffice")
        except AttachmentError as e:
            reason = str(e)
    if antiword is None:  # LibreOffice failed (both missing was said above)
        raise AttachmentError(f"{reason}; no antiword installed to fall back on")
    try:
        text = _antiword_text(content, antiword)
    except AttachmentError as e:
        raise AttachmentError(f"{reason}; {e}" if reason else str(e)) from e
    return DocText(text, "antiword", reason)


_SOFFICE_PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="DisableMacrosExecution" \
oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="MacroSecurityLevel" \
oor:op="fuse"><value>3</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="BlockUntrustedRefererLinks" \
oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Writer/Content/Update"><prop oor:name="Link" oor:op="fuse">\
<value>0</value></prop></item>
</oor:items>
"""


@functools.lru_cache(maxsize=1)
def _offline_prefix() -> tuple[str, ...] | None:
    """The command prefix that runs a program with no network: a new network namespace (only a loopback,
    down) through util-linux ``unshare``; as root directly, otherwise in a user namespace. ``None`` when this
    machine allows neither (asked once per process)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return None
    prefix = (unshare, "--net") if os.geteuid() == 0 else (unshare, "--net", "--map-root-user")
    try:
        ok = subprocess.run([*prefix, "true"], capture_output=True, timeout=10, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    return prefix if ok else None


def soffice_docx(content: bytes, soffice: str) -> bytes:
    """The DOCX LibreOffice headless makes of a DOC/WPS file, or ``AttachmentError`` saying why there is none.

    Each call has its own temporary directory: the input under a fixed name (never the URL's), the output,
    and a throw-away user profile (concurrent conversions never share one; macros off, links never
    updated, untrusted links blocked). It runs without network (in a network namespace), in its own
    process group, killed whole after ``SOFFICE_TIMEOUT_S``. The export filter is named, so a file that is
    really HTML or RTF (sites serve such as .doc) converts too: the default one refuses a document
    LibreOffice opened as HTML."""
    prefix = _offline_prefix()
    if prefix is None:
        raise AttachmentError("LibreOffice not run: no network namespace (util-linux unshare) to run it offline")
    with tempfile.TemporaryDirectory(prefix="nianbao-soffice-") as tmp:
        root = Path(tmp)
        src, out, profile = root / "input.doc", root / "out", root / "profile"
        src.write_bytes(content)
        (profile / "user").mkdir(parents=True)
        (profile / "user" / "registrymodifications.xcu").write_text(_SOFFICE_PROFILE, encoding="utf-8")
        cmd = [*prefix, soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
               "--nologo", "--nolockcheck", "--convert-to", "docx:MS Word 2007 XML", "--outdir", str(out), str(src)]
        # stderr to a file, not a pipe: a child that outlived the kill could hold a pipe open, and reading it
        # would wait for that child
        with open(root / "stderr", "wb") as err_file:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err_file,
                                    cwd=tmp, start_new_session=True)
            try:
                proc.wait(timeout=SOFFICE_TIMEOUT_S)
            except subprocess.TimeoutExpired as e:
                raise AttachmentError(f"LibreOffice took longer than {SOFFICE_TIMEOUT_S}s") from e
            finally:
                if proc.returncode is None:  # timed out or interrupted: the leader is not reaped, the group is ours
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
        err = (root / "stderr").read_bytes()[:4096]
        said = [line for line in err.decode("utf-8", "replace").replace(tmp, "…").splitlines()
                if line.strip() and "javaldx" not in line]
        detail = f": {said[0].strip()}" if said else ""
        if proc.returncode != 0:
            raise AttachmentError(f"LibreOffice exited with status {proc.returncode}{detail}")
        result = out / "input.docx"
        if not result.is_file():
            raise AttachmentError(f"LibreOffice wrote no DOCX{detail}")
        if result.stat().st_size > MAX_MEMBER_BYTES:
            raise AttachmentError(f"LibreOffice's DOCX is over {MAX_MEMBER_BYTES} bytes: refused")
        return result.read_bytes()


def _antiword_text(content: bytes, antiword: str) -> str:
    try:
        # -w 0: a whole paragraph per line (the default wraps at 80 columns, splitting digit runs)
        proc = subprocess.run([antiword, "-m", "UTF-8.txt", "-w", "0", "-"], input=content, capture_output=True,
                              timeout=ANTIWORD_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as e:
        raise AttachmentError(f"antiword took longer than {ANTIWORD_TIMEOUT_S}s") from e
    if proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise AttachmentError(f"antiword could not read it: {msg[0] if msg else proc.returncode}")
    return antiword_tables(proc.stdout.decode("utf-8", "replace"))


def antiword_tables(text: str) -> str:
    """antiword's text with its run-on table rows turned into markdown rows.

    antiword prints a table row whose properties it finds as ``|cell   |cell   |``, which the text reader
    takes as it is. A row whose properties it cannot find comes out run on, one line for the whole table:
    ``cell |cell |cell | |cell |…``, every cell followed by ``|`` and each row's end mark printed as one
    more empty cell. LibreOffice stores the properties of any row of seven or more cells in a "huge PAPX"
    (sprmPHugePapx), which antiword 0.37 does not follow, so Tables 3 and 4 come out this way (other writers
    may do the same when a row's properties are long).
    An empty cell right after a filled one is taken for the row's end, unless it stands between two numbers
    (a blank data cell); empty cells after the end (merged-cell continuations) lead the next row. A row whose
    last cell is blank loses that cell, and the parser treats the row as one printed short. antiword drops such rows' text when a row it can read comes next in
    the same table run; that loss cannot be seen here, and shows later as missing rows or tables."""
    out: list[str] = []
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith("|") or not stripped.endswith("|") or stripped.count("|") < 3:
            out.append(line)
            continue
        out.append("")
        out.extend(_md_row(row) for row in _run_on_rows(stripped))
        out.append("")
    return "\n".join(out)


def _run_on_rows(line: str) -> list[list[str]]:
    cells = [c.strip() for c in line.split("|")[:-1]]
    rows: list[list[str]] = []
    row: list[str] = []
    for i, cell in enumerate(cells):
        after = cells[i + 1] if i + 1 < len(cells) else ""
        if not cell and row and row[-1] and not (_is_number(row[-1]) and _is_number(after)):
            rows.append(row)  # the row's end mark
            row = []
        else:
            row.append(cell)  # a cell (an empty one between two numbers is a blank data cell)
    if any(row):
        rows.append(row)
    return rows


def _is_number(cell: str) -> bool:
    return bool(cell) and cell.replace(".", "", 1).replace(",", "").lstrip("-").isdigit()
