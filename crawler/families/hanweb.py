"""Hanweb (大汉) jpage columns: ``/col/colNNN/index.html``.

The first records are embedded in the page as ``<script type="text/xml"><datastore>…<recordset><record>
<![CDATA[<li>…</li>]]></record>…``; later ones come from ``POST /module/web/jpage/dataproxy.jsp?startrecord=
&endrecord=&perpage=`` with the column's form fields, answered with the same XML. XML is parsed with defusedxml:
no DTDs, no entity expansion.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import unescape
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

PROXY_PATH = "/module/web/jpage/dataproxy.jsp"
_DATASTORE = re.compile(r"<datastore\b.*?</datastore>", re.S | re.I)
_XML_SCRIPT = re.compile(r"<script[^>]*type\s*=\s*['\"]text/xml['\"][^>]*>(.*?)</script>", re.S | re.I)
_FORM_KEYS = ("col", "appid", "webid", "path", "columnid", "sourceContentType", "unitid", "webname", "permissiontype")
_DEFAULTS = {"col": "1", "appid": "1", "path": "/", "sourceContentType": "1", "permissiontype": "0"}
_JS_PAIR = re.compile(r"""['"]?(\w+)['"]?\s*[:=]\s*['"]?([^'",;}\s)]*)""")


class HanwebError(ValueError):
    """A datastore that cannot be read safely (malformed XML, a DTD or entities)."""


@dataclass
class Datastore:
    records: list[str]  # the HTML fragment of each record
    total: int | None = None
    nextgroup: str | None = None


@dataclass
class JpageConfig:
    form: dict[str, str] = field(default_factory=dict)
    per_page: int = 15
    group: int = 3
    total: int | None = None
    proxy: str = PROXY_PATH

    def request(self, page_url: str, start: int) -> tuple[str, dict[str, str]]:
        """URL and form of the ``dataproxy.jsp`` call returning records ``start`` … ``start+perpage*group-1``."""
        end = start + self.per_page * self.group - 1
        if self.total is not None:
            end = min(end, self.total)
        query = urlencode({"startrecord": start, "endrecord": end, "perpage": self.per_page})
        return f"{urljoin(page_url, self.proxy)}?{query}", dict(self.form)


def parse_datastore(xml: str | bytes) -> Datastore:
    try:
        root: Element = SafeET.fromstring(xml, forbid_dtd=True)
    except DefusedXmlException as e:
        raise HanwebError(f"datastore XML refused ({type(e).__name__}): DTDs and entities are not expanded") from e
    except SafeET.ParseError as e:
        raise HanwebError(f"datastore XML is malformed: {e}") from e
    if root.tag.lower() != "datastore":
        found = root.find(".//datastore")
        if found is None:
            raise HanwebError(f"no <datastore> in the XML (root is <{root.tag}>)")
        root = found
    records = [(rec.text or "") for rec in root.iter("record")]
    total = None
    for tag in ("totalrecord", "totalRecord"):
        node = root.find(tag)
        if node is not None and (node.text or "").strip().isdigit():
            total = int((node.text or "").strip())
    ng = root.find("nextgroup")
    return Datastore(records=records, total=total, nextgroup=(ng.text or None) if ng is not None else None)


def embedded_datastore(html: str) -> Datastore | None:
    """The datastore embedded in a column page (the whole ``text/xml`` script, so a DTD in it is seen)."""
    for script in _XML_SCRIPT.finditer(html):
        if "<datastore" in script.group(1).lower():
            return parse_datastore(script.group(1).strip())
    m = _DATASTORE.search(html)
    if m is None:
        return None
    return parse_datastore(m.group(0))


def jpage_config(html: str, store: Datastore) -> JpageConfig:
    """Form fields and paging of a column, from the ``nextgroup`` link and the ``jpage({...})`` call."""
    cfg = JpageConfig(form=dict(_DEFAULTS), total=store.total)
    if store.nextgroup:
        href = re.search(r"""href\s*=\s*['"]([^'"]+)""", store.nextgroup)
        if href:
            link = unescape(href.group(1))
            cfg.proxy = urlsplit(link).path or PROXY_PATH
            for key, value in parse_qsl(urlsplit(link).query, keep_blank_values=True):
                if key in _FORM_KEYS:
                    cfg.form[key] = value
    script_at = html.find("jpage(")
    if script_at >= 0:
        for key, value in _JS_PAIR.findall(html[script_at : script_at + 4000]):
            low = key.lower()
            if key in _FORM_KEYS and value:
                cfg.form.setdefault(key, value)
                if key not in _DEFAULTS:
                    cfg.form[key] = value
            elif low == "perpage" and value.isdigit() and int(value) > 0:
                cfg.per_page = int(value)
            elif low == "groupsize" and value.isdigit() and int(value) > 0:
                cfg.group = int(value)
            elif low == "totalrecord" and value.isdigit():
                cfg.total = int(value)
            elif low == "proxyurl" and value.startswith("/"):
                cfg.proxy = value
    return cfg
