"""PDF, DOCX and DOC reports to text. Tables come out as markdown lines so the text reader takes them in."""

from __future__ import annotations

import functools
import logging
import os
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from crawler.report._docx import docx_text
from crawler.report._files import MAX_MEMBER_BYTES, MAX_RATIO, SLIVER_TWIPS, AttachmentError, md_row

__all__ = ["MAX_MEMBER_BYTES", "MAX_RATIO", "SLIVER_TWIPS", "AttachmentError", "DocText", "doc_text", "md_row",
           "sniff", "soffice_docx", "antiword_tables"]

ANTIWORD_TIMEOUT_S = 20
# LibreOffice's start and one conversion take 1–3 s here; a file still converting after this is given up on
# (its whole process group killed) and antiword reads it instead.
SOFFICE_TIMEOUT_S = 60
# pdfminer logs several thousand DEBUG records per page. Scrapy leaves the root logger at NOTSET, so each of them
# would be built and handed to every handler before being dropped: half of the crawl's parse time. Unless the
# operator has set a level for pdfminer themselves, it logs from WARNING up.
if logging.getLogger("pdfminer").level == logging.NOTSET:
    logging.getLogger("pdfminer").setLevel(logging.WARNING)


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
        out.extend(md_row(row) for row in _run_on_rows(stripped))
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
