"""Text safe to print: what users typed or hosts answered, on one line, with no control characters."""

from __future__ import annotations

import unicodedata


def one_line(text: str) -> str:
    """Control characters and line breaks escaped (\\n, \\x1b, \\u2028): one message, one line, and nothing
    that a terminal would act on."""
    return "".join(c if c == "\t" or unicodedata.category(c) not in ("Cc", "Zl", "Zp") else repr(c)[1:-1]
                   for c in text)
