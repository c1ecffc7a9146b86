"""Wire-faithful capture (issue 5): a real crawl of a local site through the project's settings, then the WARCs
are read back with warcio, FastWARC and our reader."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from pathlib import Path

import pytest
from cdxj_indexer.main import CDXJIndexer
from warcio.archiveiterator import ArchiveIterator

from archive import iter_captures, list_captures, load_capture
from archive.naming import parse_warc_name
from archive.testing import GBK_TEXT, run_crawl, start_site
from archive.verify import verify_warc


def sha1(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("capture")
    site = start_site()
    try:
        meta_out = tmp / "meta.jsonl"
        run_crawl(tmp / "data", [site.u("/")], posts=[(site.u("/api/list"), "page=2&type=nb")], meta_out=meta_out)
        yield site, tmp / "data", [json.loads(line) for line in meta_out.read_text().splitlines()]
    finally:
        site.stop()


def _records(archive: Path) -> list:
    out = []
    for f in sorted((archive / "warc").glob("*.warc.gz")):
        with open(f, "rb") as fh:
            for rec in ArchiveIterator(fh, no_record_parse=False):
                rec.raw = rec.content_stream().read() if rec.rec_type != "request" else rec.raw_stream.read()
                rec.file = f.name
                out.append(rec)
    return out


def test_every_warc_passes_warcio_and_fastwarc(crawl) -> None:
    _, archive, _ = crawl
    files = sorted((archive / "warc").glob("*"))
    assert files and all(f.name.endswith(".warc.gz") for f in files)
    for f in files:
        assert parse_warc_name(f.name) is not None, f.name
        assert verify_warc(f) == []
        with gzip.open(f, "rb") as fh:
            assert fh.read(8) == b"WARC/1.1"


def test_one_warcinfo_first_in_each_file(crawl) -> None:
    _, archive, _ = crawl
    for f in (archive / "warc").glob("*.warc.gz"):
        with open(f, "rb") as fh:
            types = [r.rec_type for r in ArchiveIterator(fh)]
        assert types[0] == "warcinfo" and types.count("warcinfo") == 1
        with open(f, "rb") as fh:
            info = next(iter(ArchiveIterator(fh))).content_stream().read().decode()
        for key in ("software:", "hostname:", "robots: obey", "crawl-configuration:", "format: WARC File Format 1.1"):
            assert key in info


def test_gzip_page_archived_still_encoded(crawl) -> None:
    site, archive, _ = crawl
    cap = load_capture(site.u("/gzip.html"), archive_dir=archive)
    assert cap.header("Content-Encoding") == "gzip"
    assert cap.raw_payload[:2] == b"\x1f\x8b"
    assert cap.payload_digest == sha1(cap.raw_payload)
    assert "压缩页面".encode() in cap.payload  # content-encoding undone for readers


def test_redirect_chain_hop_by_hop(crawl) -> None:
    site, archive, meta = crawl
    first = load_capture(site.u("/redirect/1"), archive_dir=archive)
    second = load_capture(site.u("/redirect/2"), archive_dir=archive)
    final = load_capture(site.u("/final.html"), archive_dir=archive)
    assert (first.status, first.header("Location")) == (302, "/redirect/2")
    assert (second.status, second.header("Location")) == (301, "/final.html")
    assert final.status == 200
    # the spider's response carries the id of the last hop's record
    seen = {m["url"]: m for m in meta}
    assert seen[site.u("/final.html")]["archive_record_id"] == final.record_id


def test_gbk_payload_digest_is_the_digest_of_the_bytes_sent(crawl) -> None:
    site, archive, _ = crawl
    cap = load_capture(site.u("/gbk.html"), archive_dir=archive)
    sent = ("<html><head><title>年报</title></head><body><p>" + GBK_TEXT + "</p></body></html>").encode("gbk")
    assert cap.raw_payload == sent
    assert cap.payload_digest == sha1(sent)
    assert cap.metadata is not None and cap.metadata["charset"] == "gb18030"


def test_post_listing_archived_with_its_body_and_found_by_captures(crawl) -> None:
    site, archive, _ = crawl
    entries = list_captures(site.u("/api/list"), archive_dir=archive)
    assert [(e.method, e.status) for e in entries] == [("POST", 200)]
    cap = load_capture(site.u("/api/list"), archive_dir=archive)
    assert cap.method == "POST" and cap.request_body == b"page=2&type=nb"
    assert json.loads(cap.payload)["page"] == 2
    keys = [line.split(" ", 1)[0] for f in (archive / "index").glob("*.cdxj") for line in f.read_text().splitlines()]
    assert any(k.endswith("/api/list?__wb_method=post&page=2&type=nb") for k in keys)


def test_chunked_body_stored_dechunked_without_a_chunked_header(crawl) -> None:
    # Twisted hands Scrapy the body de-chunked and drops the connection header, so the record must not
    # claim `Transfer-Encoding: chunked` (a replay tool would try to de-chunk it again).
    site, archive, _ = crawl
    cap = load_capture(site.u("/chunked.html"), archive_dir=archive)
    assert cap.header("Transfer-Encoding") is None
    assert cap.raw_payload.startswith(b"<!DOCTYPE html>") and cap.raw_payload.endswith(b"</html>")
    assert "分块".encode() in cap.raw_payload


def test_repeated_headers_kept(crawl) -> None:
    site, archive, _ = crawl
    cap = load_capture(site.u("/multi.html"), archive_dir=archive)
    assert [v for k, v in cap.headers if k == "Set-Cookie"] == ["a=1; Path=/", "b=2; Path=/"]
    assert [v for k, v in cap.headers if k == "X-Multi"] == ["one", "two"]


def test_request_records_linked_and_ip_recorded(crawl) -> None:
    site, archive, _ = crawl
    recs = _records(archive)
    responses = {r.rec_headers.get_header("WARC-Record-ID"): r for r in recs if r.rec_type in ("response", "revisit")}
    requests = [r for r in recs if r.rec_type == "request"]
    assert len(requests) == len(responses)
    for req in requests:
        resp = responses[req.rec_headers.get_header("WARC-Concurrent-To")]
        assert resp.rec_headers.get_header("WARC-Target-URI") == req.rec_headers.get_header("WARC-Target-URI")
        assert resp.rec_headers.get_header("WARC-IP-Address") == "127.0.0.1"
        assert req.http_headers.get_header("Host")
        assert req.http_headers.get_header("User-Agent", "").startswith("nianbao")
    robots = [r for r in responses.values() if r.rec_headers.get_header("WARC-Target-URI").endswith("/robots.txt")]
    assert robots, "robots.txt is archived too"


def test_response_meta_points_at_the_record(crawl) -> None:
    _, archive, meta = crawl
    by_id = {c.record_id: c for c in iter_captures(archive / "warc")}
    assert meta
    for m in meta:
        cap = by_id[m["archive_record_id"]]
        assert Path(cap.warc_file).name == m["archive_warc_file"]
        assert cap.captured_at == m["archive_captured_at"] and m["archive_captured_at"].endswith("Z")


def test_metadata_record_holds_spider_metadata_outlinks_and_charset(crawl) -> None:
    site, archive, _ = crawl
    cap = load_capture(site.u("/"), archive_dir=archive)
    assert cap.metadata is not None
    assert cap.metadata["role"] == "listing" and cap.metadata["discovery"] == [site.u("/")]
    assert site.u("/gzip.html") in cap.metadata["outlinks"] and cap.metadata["charset"] == "utf-8"


def test_index_agrees_with_cdxj_indexer(crawl, tmp_path: Path) -> None:
    _, archive, _ = crawl
    for warc in (archive / "warc").glob("*.warc.gz"):
        ours = [line.split(" ", 2) for line in (archive / "index" / (warc.name + ".cdxj")).read_text().splitlines()]
        assert ours == sorted(ours, key=lambda p: " ".join(p))
        out = tmp_path / "ref.cdxj"
        CDXJIndexer(output=str(out), inputs=[str(warc)], post_append=True, sort=True).process_all()
        ref = [line.split(" ", 2) for line in out.read_text().splitlines()]
        # same keys (SURT, POST keyed with its body), timestamps, and fields; metadata records are not captures
        assert [(k, t, json.loads(d)) for k, t, d in ours] == [(k, t, json.loads(d)) for k, t, d in ref]


def test_non_ascii_url_percent_encoded_in_target_uri(crawl) -> None:
    site, archive, _ = crawl
    unicode_url = site.u("/年报/2024年度报告.html?年=2024")
    cap = load_capture(unicode_url, archive_dir=archive)
    assert cap.url == site.u("/%E5%B9%B4%E6%8A%A5/2024%E5%B9%B4%E5%BA%A6%E6%8A%A5%E5%91%8A.html?%E5%B9%B4=2024")
    assert cap.url.isascii() and cap.status == 200 and "非ASCII路径".encode() in cap.payload
    assert list_captures(cap.url, archive_dir=archive) == list_captures(unicode_url, archive_dir=archive)


def test_same_payload_at_another_url_is_a_revisit_that_resolves(crawl) -> None:
    site, archive, _ = crawl
    caps = {c.url: c for c in iter_captures(archive / "warc")}
    a, b = caps[site.u("/final.html")], caps[site.u("/copy-of-final.html")]
    first, second = sorted((a, b), key=lambda c: (c.warc_file, c.offset))
    assert first.record_type == "response" and second.record_type == "revisit"
    assert second.refers_to == first.record_id and second.refers_to_uri == first.url
    assert second.metadata is not None and second.metadata["role"] == "report"  # another URL keeps its metadata
    assert second.request_record_id is not None
    resolved = load_capture(second.url, archive_dir=archive)
    assert resolved.payload == first.payload and resolved.status == 200
