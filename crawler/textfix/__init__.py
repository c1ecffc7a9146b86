"""Text repair: decode report bytes with the right charset and undo the corruption copies carry.

`decode(body, headers, url) -> Decoded` and `repair(text) -> Repaired`; both pure, deterministic, never raise.
See docs/textfix.md.
"""

from __future__ import annotations

from .decoding import Decoded, decode
from .repairing import Repaired, repair

__all__ = ["Decoded", "Repaired", "decode", "repair"]
