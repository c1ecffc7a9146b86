"""Record building (issue 5), byte-exact: fixed ids and dates give a fixed WARC, whose digests warcio accepts."""

from __future__ import annotations

import base64
import hashlib
import io
import zlib

import pytest
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler
from warcio.archiveiterator import ArchiveIterator

from archive.capture import WarcCaptureMiddleware
from archive.payload import dechunk, decode_payload
from archive.records import (
    PROFILE_IDENTICAL,
    Exchange,
    RevisitOf,
    metadata_fields,
    parse_metadata_fields,
    request_record,
    resource_record,
    response_record,
    serialize,
)
from archive.verify import verify_warc

DATE = "2025-03-10T07:35:00.000000Z"


def exchange(**kw: object) -> Exchange:
    base: dict[str, object] = dict(
        url="http://www.example.gov.cn/年报/2024.html?q=公开", method="GET",
        request_headers=[("User-Agent", "nianbao-test"), ("Accept-Encoding", "gzip")], request_body=b"",
        status=200, response_headers=[("Content-Type", "text/html"), ("Transfer-Encoding", "chunked"),
                                      ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")],
        body=b"<html>\xc4\xea\xb1\xa8</html>", date=DATE, record_id="<urn:uuid:00000000-0000-0000-0000-000000000001>",
        request_record_id="<urn:uuid:00000000-0000-0000-0000-000000000002>", ip_address="192.0.2.7")
    base.update(kw)
    return Exchange(**base)  # type: ignore[arg-type]


def text(record: object) -> str:
    return zlib.decompress(serialize(record), zlib.MAX_WBITS + 16).decode("latin-1")  # type: ignore[arg-type]


def test_response_record_is_byte_exact() -> None:
    body = b"<html>\xc4\xea\xb1\xa8</html>"
    http = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Archive-Orig-Transfer-Encoding: chunked\r\n"
            b"Set-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n")
    digest = lambda b: "sha1:" + base64.b32encode(hashlib.sha1(b).digest()).decode()  # noqa: E731
    assert text(response_record(exchange())) == (
        "WARC/1.1\r\n"
        "WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-000000000001>\r\n"
        f"WARC-Date: {DATE}\r\n"
        "WARC-IP-Address: 192.0.2.7\r\n"
        "WARC-Type: response\r\n"
        "WARC-Target-URI: http://www.example.gov.cn/%E5%B9%B4%E6%8A%A5/2024.html?q=%E5%85%AC%E5%BC%80\r\n"
        f"WARC-Payload-Digest: {digest(body)}\r\n"
        f"WARC-Block-Digest: {digest(http + body)}\r\n"
        "Content-Type: application/http; msgtype=response\r\n"
        f"Content-Length: {len(http) + len(body)}\r\n\r\n" + (http + body).decode("latin-1") + "\r\n\r\n")


def test_request_record_has_the_full_request_line_and_links_to_the_response() -> None:
    t = text(request_record(exchange(method="POST", request_body=b"page=2",
                                     request_headers=[("Content-Type", "application/x-www-form-urlencoded")])))
    assert "WARC-Concurrent-To: <urn:uuid:00000000-0000-0000-0000-000000000001>\r\n" in t
    assert "\r\n\r\nPOST /%E5%B9%B4%E6%8A%A5/2024.html?q=%E5%85%AC%E5%BC%80 HTTP/1.1\r\nHost: www.example.gov.cn\r\n" in t
    assert t.endswith("Content-Length: 6\r\n\r\npage=2\r\n\r\n")


def test_revisit_and_resource_records_read_back_valid(tmp_path) -> None:  # type: ignore[no-untyped-def]
    rev = exchange(revisit=RevisitOf(PROFILE_IDENTICAL, "http://www.example.gov.cn/a.html", DATE,
                                     "<urn:uuid:00000000-0000-0000-0000-000000000009>", "sha1:AAAA"))
    dom = resource_record("urn:dom:http://www.example.gov.cn/", DATE, "text/html; charset=utf-8",
                          "<html>渲染</html>".encode())
    path = tmp_path / "x.warc.gz"
    path.write_bytes(serialize(response_record(exchange())) + serialize(response_record(rev)) + serialize(dom))
    assert verify_warc(path) == []
    with open(path, "rb") as fh:
        recs = []
        for r in ArchiveIterator(fh):
            r.body = r.content_stream().read()
            recs.append(r)
    assert [r.rec_type for r in recs] == ["response", "revisit", "resource"]
    assert recs[1].rec_headers.get_header("WARC-Profile") == PROFILE_IDENTICAL
    assert recs[1].rec_headers.get_header("WARC-Refers-To-Target-URI") == "http://www.example.gov.cn/a.html"
    assert recs[2].http_headers is None and recs[2].body == "<html>渲染</html>".encode()


def test_metadata_fields_round_trip() -> None:
    content = {"role": "report", "discovery": ["http://a/", "http://a/b"], "charset": "gb18030",
               "outlinks": ["http://a/年报.pdf", "http://a/c"], "list_title": "2024年度报告"}
    block = metadata_fields(content)
    assert block.startswith(b"nianbao-metadata: {") and b"\r\noutlink: http://a/%E5%B9%B4%E6%8A%A5.pdf\r\n" in block
    back = parse_metadata_fields(block)
    assert back == {**content, "outlinks": ["http://a/%E5%B9%B4%E6%8A%A5.pdf", "http://a/c"]}


def test_payload_decoding() -> None:
    assert dechunk(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n") == b"hello world"
    assert dechunk(b"not chunked") == b"not chunked"
    gz = io.BytesIO()
    import gzip

    with gzip.GzipFile(fileobj=gz, mode="wb") as f:
        f.write(b"payload")
    assert decode_payload(gz.getvalue(), [("Content-Encoding", "gzip")]) == b"payload"
    chunked_gz = f"{len(gz.getvalue()):x}\r\n".encode() + gz.getvalue() + b"\r\n0\r\n\r\n"
    assert decode_payload(chunked_gz, [("Transfer-Encoding", "chunked"), ("Content-Encoding", "gzip")]) == b"payload"
    assert decode_payload(b"plain", [("Content-Encoding", "gzip")]) == b"plain"  # mislabelled: as stored


def test_settings_are_checked_once_with_a_clear_error() -> None:
    with pytest.raises(NotConfigured, match="ARCHIVE_ENABLED"):
        WarcCaptureMiddleware.from_crawler(get_crawler(settings_dict={"ARCHIVE_ENABLED": False}))
    with pytest.raises(ValueError, match="ARCHIVE_WARC_MAX_SIZE must be a positive number of bytes, got 0"):
        WarcCaptureMiddleware.from_crawler(get_crawler(settings_dict={"ARCHIVE_WARC_MAX_SIZE": 0}))
    with pytest.raises(ValueError, match="ARCHIVE_GZIP_LEVEL must be between 1 and 9, got 12"):
        WarcCaptureMiddleware.from_crawler(get_crawler(settings_dict={"ARCHIVE_GZIP_LEVEL": 12}))
    mw = WarcCaptureMiddleware.from_crawler(get_crawler(settings_dict={"ARCHIVE_DIR": "/nonexistent/x"}))
    assert mw.cfg.max_size == 1_000_000_000 and mw.cfg.warc_dir.as_posix() == "/nonexistent/x/warc"


def test_decode_payload_is_bounded() -> None:
    import gzip as _gzip

    from archive.payload import PayloadTooLarge, decode_payload

    bomb = _gzip.compress(b"\0" * (4 * 1024 * 1024))
    headers = [("Content-Encoding", "gzip")]
    assert decode_payload(bomb, headers) == b"\0" * (4 * 1024 * 1024)
    with pytest.raises(PayloadTooLarge, match="inflates past 1048576 bytes"):
        decode_payload(bomb, headers, limit=1024 * 1024)
