"""TRS WCM static columns: ``index.html``, ``index_1.html`` … announced by ``createPageHTML(...)``.

Real calls come as ``createPageHTML(10, 0, "index", "html")`` and, on newer templates, with a target element
first and a record count last: ``createPageHTML('page_div', 10, 1, 'index', 'html', 143)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin

_CALL = re.compile(r"createPageHTML\s*\(([^)]*)\)")
_ARG = re.compile(r"""\s*(?:(-?\d+)|'([^']*)'|"([^"]*)"|([A-Za-z_$][\w$.]*))\s*""")


@dataclass(frozen=True)
class TrsPaging:
    pages: int  # total number of listing pages, the first being ``<prefix>.<ext>``
    current: int  # 0-based index of the page that announced it
    prefix: str
    ext: str

    def page_url(self, column_url: str, index: int) -> str:
        name = f"{self.prefix}.{self.ext}" if index == 0 else f"{self.prefix}_{index}.{self.ext}"
        return urljoin(column_url, name)


def find_paging(text: str) -> TrsPaging | None:
    """The paging a TRS page announces, or ``None`` when it has no (usable) ``createPageHTML`` call."""
    for call in _CALL.finditer(text):
        ints: list[int] = []
        strs: list[str] = []
        for raw in call.group(1).split(","):
            m = _ARG.fullmatch(raw)
            if m is None:
                break
            if m.group(1) is not None:
                ints.append(int(m.group(1)))
            elif m.group(2) is not None or m.group(3) is not None:
                strs.append(m.group(2) if m.group(2) is not None else m.group(3))
        if len(ints) >= 2 and len(strs) >= 2 and ints[0] >= 1:
            return TrsPaging(pages=ints[0], current=max(0, ints[1]), prefix=strs[-2], ext=strs[-1])
    return None
