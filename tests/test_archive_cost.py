"""The archive's shortcuts give what the long way gives: records built in one pass are warcio's byte for byte,
and `plainly_utf8` (which spares the capture crawler.textfix.decode) only says utf-8 when decode would."""

from __future__ import annotations

import codecs
import io
import zlib

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from archive.metadata import detect_charset, outlinks, plainly_utf8
from archive.records import (
    PROFILE_IDENTICAL,
    WARC_VERSION,
    Exchange,
    FinalRecord,
    RevisitOf,
    metadata_fields,
    metadata_record,
    request_parts,
    request_record,
    resource_record,
    response_parts,
    response_record,
    serialize,
    serialize_counted,
    sha1_digest,
    warcinfo_record,
)
from archive.urls import target_uri
from archive.verify import verify_warc
from crawler.textfix import decode
from tests.shared import shared_files

DATE = "2025-03-10T07:35:00.000000Z"
URL = "http://www.example.gov.cn/年报/2024.html?q=公开"


def exchange(**kw: object) -> Exchange:
    base: dict[str, object] = dict(
        url=URL, method="GET", request_headers=[("User-Agent", "nianbao-test"), ("Accept-Encoding", "gzip")],
        request_body=b"", status=200,
        response_headers=[("Content-Type", "text/html"), ("Transfer-Encoding", "chunked"), ("Set-Cookie", "a=1"),
                          ("Set-Cookie", "b=2")],
        body="<html>年报</html>".encode("gb18030"), date=DATE, record_id="<urn:uuid:00000000-0000-0000-0000-000000000001>",
        request_record_id="<urn:uuid:00000000-0000-0000-0000-000000000002>", ip_address="192.0.2.7")
    base.update(kw)
    return Exchange(**base)  # type: ignore[arg-type]


# --- what warcio makes of the same values (the way records.py built them before) ----------------------------

def _warcio(uri: str, rec_type: str, headers: dict[str, str], payload: bytes | None = None,
            http: StatusAndHeaders | None = None, content_type: str = "") -> bytes:
    out = io.BytesIO()
    w = WARCWriter(out, gzip=False, warc_version=WARC_VERSION)
    kw: dict[str, object] = {"warc_headers_dict": headers, "http_headers": http, "warc_content_type": content_type}
    if payload is not None:
        kw.update(payload=io.BytesIO(payload), length=len(payload))
    record = w.create_warc_record(uri, rec_type, **kw)  # type: ignore[arg-type]
    if rec_type == "resource":
        record.http_headers = None
    w.write_record(record)
    return out.getvalue()


def warcio_response(ex: Exchange) -> bytes:
    """The response record warcio builds from the same headers (the builder is what is compared)."""
    rec_type, headers, http = response_parts(ex)
    if rec_type == "revisit":
        return _warcio(target_uri(ex.url), "revisit", headers, http=http)
    return _warcio(target_uri(ex.url), "response", headers, ex.body, http)


def warcio_request(ex: Exchange) -> bytes:
    headers, http = request_parts(ex)
    return _warcio(target_uri(ex.url), "request", headers, ex.request_body, http)


def raw(record: FinalRecord) -> bytes:
    data, raw_len = serialize_counted(record)
    out = zlib.decompress(data, zlib.MAX_WBITS + 16)
    assert raw_len == len(out) and record.length == int(record.rec_headers.get_header("Content-Length"))
    again = io.BytesIO()  # warcio's own writer, handed the built record, writes the same bytes
    WARCWriter(again, gzip=False, warc_version=WARC_VERSION).write_record(record)
    assert again.getvalue() == out
    return out


EXCHANGES = {
    "response": exchange(),
    "with its digest": exchange(payload_digest=sha1_digest("<html>年报</html>".encode("gb18030"))),
    "empty body, no address": exchange(body=b"", ip_address=None),
    "truncated, odd status, non-ASCII header": exchange(
        status=599, truncated="disconnect", body=b"x" * 70_000,
        response_headers=[("Content-Type", "application/pdf"), ("Content-Disposition", "attachment; filename=年报.pdf")]),
    "POST": exchange(method="POST", request_body=b"page=2",
                     request_headers=[("Content-Type", "application/x-www-form-urlencoded"), ("Referer", URL)]),
    "revisit": exchange(revisit=RevisitOf(PROFILE_IDENTICAL, "http://www.example.gov.cn/a.html", DATE,
                                          "<urn:uuid:00000000-0000-0000-0000-000000000009>", "sha1:AAAA")),
    "revisit without record id": exchange(revisit=RevisitOf(PROFILE_IDENTICAL, "http://a/", DATE, None, "sha1:AAAA")),
}


@pytest.mark.parametrize("name", list(EXCHANGES))
def test_response_and_request_records_are_warcios_byte_for_byte(name: str) -> None:
    ex = EXCHANGES[name]
    assert raw(response_record(ex)) == warcio_response(ex)
    assert raw(request_record(ex)) == warcio_request(ex)


def test_metadata_resource_and_warcinfo_records_are_warcios_byte_for_byte() -> None:
    content: dict[str, object] = {"role": "report", "charset": "gb18030", "outlinks": [URL, "http://a/b"]}
    rid = "<urn:uuid:00000000-0000-0000-0000-000000000003>"
    headers = {"WARC-Record-ID": rid, "WARC-Date": DATE, "WARC-Concurrent-To": EXCHANGES["response"].record_id,
               "Content-Type": "application/warc-fields"}
    assert raw(metadata_record(URL, DATE, EXCHANGES["response"].record_id, content, record_id=rid)) == _warcio(
        target_uri(URL), "metadata", headers, metadata_fields(content), content_type="application/warc-fields")

    body = "<html>渲染</html>".encode()
    headers = {"WARC-Record-ID": rid, "WARC-Date": DATE, "Content-Type": "text/html; charset=utf-8",
               "WARC-Concurrent-To": "<urn:uuid:1>", "WARC-Source-URI": target_uri(URL)}
    assert raw(resource_record("urn:dom:" + URL, DATE, "text/html; charset=utf-8", body, record_id=rid,
                               concurrent_to="<urn:uuid:1>", source_uri=URL)) == _warcio(
        "urn:dom:" + URL, "resource", headers, body, StatusAndHeaders("", [], protocol=""), "text/html; charset=utf-8")

    info = warcinfo_record("x.warc.gz", [("software", "nianbao"), ("operator", "测试"), ("empty", "")], DATE)
    headers = {"WARC-Record-ID": info.rec_headers.get_header("WARC-Record-ID"), "WARC-Date": DATE,
               "WARC-Filename": "x.warc.gz", "Content-Type": "application/warc-fields"}
    assert raw(info) == _warcio("", "warcinfo", headers, "software: nianbao\r\noperator: 测试\r\n".encode(),
                                content_type="application/warc-fields")


def test_records_read_back_valid(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "x.warc.gz"
    path.write_bytes(b"".join(serialize(r) for ex in EXCHANGES.values() for r in (response_record(ex),
                                                                                  request_record(ex))))
    assert verify_warc(path) == []


# --- charset: the shortcut agrees with crawler.textfix.decode -----------------------------------------------

def _bodies() -> list[tuple[str, bytes]]:
    # without ../shared: one line of report text in the same encodings
    texts = [p.read_text(encoding="utf-8") for p in shared_files("real-samples")
             if p.suffix in (".txt", ".html", ".md")][:4]
    out: list[tuple[str, bytes]] = []
    for i, text in enumerate(texts or ["政府信息公开工作年度报告"]):
        for enc in ("utf-8", "gb18030", "big5"):
            out.append((f"sample {i} {enc}", text.encode(enc, "replace")))
        utf8 = text.encode("utf-8")
        out += [(f"sample {i} utf-8 cut mid-character", utf8[:len(utf8) // 2] + "年".encode()[:2]),
                (f"sample {i} utf-8 with BOM", codecs.BOM_UTF8 + utf8),
                (f"sample {i} utf-16", text.encode("utf-16")), (f"sample {i} utf-16-le", text.encode("utf-16-le"))]
    html = '<html><head><meta charset="gbk"></head><body>年度报告 2024</body></html>'
    out += [("ascii", b"<html><body>annual report</body></html>"), ("utf-8 declared gbk", html.encode("utf-8")),
            ("gbk declared gbk", html.encode("gbk")), ("pdf signature, utf-8 after", "%PDF-1.7 年报".encode()),
            ("gzip signature", b"\x1f\x8b\x08\x00" + "年报".encode()), ("NUL", "年报\x00年报".encode()),
            ("controls", ("\x01\x02\x03年" * 50).encode()), ("few controls", ("\x01" + "年报" * 40).encode()),
            ("empty", b""), ("lone surrogate", b"\xed\xa0\x80" + "年报".encode())]
    return out


@pytest.mark.parametrize(("name", "body"), _bodies())
def test_plainly_utf8_only_when_decode_says_utf8(name: str, body: bytes) -> None:
    for content_type in (None, "text/html", "text/html; charset=gbk", "text/html; charset=big5"):
        expected = str(decode(body, headers={"Content-Type": content_type} if content_type else None, url="u").charset)
        if plainly_utf8(body):
            assert expected == "utf-8", (name, content_type)
        assert detect_charset(body, content_type, "u") == expected, (name, content_type)


def test_repeated_links_are_joined_once_with_the_same_result() -> None:
    body = (b'<html><body><a href="a.html">1</a><a href=" a.html ">2</a><a href="/b">3</a><a href="a.html">4</a>'
            b'<iframe src="a.html"></iframe><a href="#top">5</a><a href="c.html#x">6</a></body></html>')
    assert outlinks(body, "http://h/x/y.html", "utf-8") == ["http://h/x/a.html", "http://h/b", "http://h/x/c.html#x"]
