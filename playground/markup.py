"""A deliberately tiny Markdown subset for scenario descriptions, safe by construction.

Descriptions come from anyone who shares a scenario, so everything is HTML-escaped first
and only then are a few constructs turned into tags: paragraphs, `- ` lists, `#` headings,
**bold**, *emphasis* and `code`. No raw HTML, no links, nothing to sanitise afterwards.
"""

from __future__ import annotations

import re

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

_INLINE = [
    (re.compile(r"`([^`]+)`"), r"<code>\1</code>"),
    (re.compile(r"\*\*([^*]+)\*\*"), r"<strong>\1</strong>"),
    (re.compile(r"(?<![*\w])\*([^*\s][^*]*)\*(?!\w)"), r"<em>\1</em>"),
]


def _inline(text: str) -> str:
    out = str(escape(text))
    for pattern, replacement in _INLINE:
        out = pattern.sub(replacement, out)
    return out


def _hashes(line: str) -> int:
    return len(line) - len(line.lstrip("#"))


def _block(lines: list[str], top: int) -> str:
    first = lines[0]
    if first.startswith("#"):
        # the text's shallowest heading is an h3 (its card's title is the h2), deeper ones
        # follow without skipping a level, down to h5
        level = min(3 + _hashes(first) - top, 5)
        return f"<h{level}>{_inline(first.lstrip('#').strip())}</h{level}>"
    if all(line.lstrip().startswith(("- ", "* ")) or line.startswith("  ") for line in lines):
        items: list[str] = []
        for line in lines:
            if line.lstrip().startswith(("- ", "* ")):
                items.append(line.lstrip()[2:])
            else:
                items[-1] += " " + line.strip()
        return "<ul>" + "".join(f"<li>{_inline(item)}</li>" for item in items) + "</ul>"
    return f"<p>{_inline(' '.join(line.strip() for line in lines))}</p>"


def render_markdown(text: str) -> SafeString:
    blocks: list[list[str]] = [[]]
    for line in text.splitlines():
        if not line.strip():
            blocks.append([])
        elif line.startswith("#") and blocks[-1]:
            blocks.append([line])
            blocks.append([])
        else:
            blocks[-1].append(line)
    top = min((_hashes(b[0]) for b in blocks if b and b[0].startswith("#")), default=1)
    html = "\n".join(_block(lines, top) for lines in blocks if lines)
    return mark_safe(html)


def first_paragraph(text: str) -> str:
    for block in text.split("\n\n"):
        if block.strip() and not block.lstrip().startswith("#"):
            return " ".join(block.split())
    return ""


def render_inline(text: str) -> SafeString:
    """One line of the subset (`code`, **bold**, *emphasis*), escaped first."""
    return mark_safe(_inline(text))
