"""Cleaning and normalisation of docket-entry text, shared by data prep, training and inference."""

from __future__ import annotations

import html
import re
import unicodedata

_WHITESPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(text: str) -> str:
    """Unescape HTML entities (twice, for double-escaped bulk data), drop control characters and NULs,
    and collapse all whitespace to single spaces."""
    text = html.unescape(html.unescape(text))
    text = _CONTROL.sub(" ", text)
    return _WHITESPACE.sub(" ", text).strip()


def normalize_for_dedup(text: str) -> str:
    """The key two entries are duplicates under: cleaned, NFKC-folded, lower-cased."""
    return unicodedata.normalize("NFKC", text).casefold()
