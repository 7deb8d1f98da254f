"""A small, safe Markdown renderer for artifacts: the text is HTML-escaped first, then only
the markup made here is added (headings, paragraphs, lists, code, emphasis, links, rules),
so nothing a flow writes can become a script, a style or an attribute of its own. Links keep
only http(s), mailto and relative targets."""
from __future__ import annotations

import html
import re

from markupsafe import Markup

_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_BULLET = re.compile(r"^\s*[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*\d+[.)]\s+(.*)$")
_RULE = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")
_CODE = re.compile(r"`([^`]+)`")
_STRONG = re.compile(r"\*\*(.+?)\*\*|__(.+?)__")
_EMPHASIS = re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])|(?<!\w)_(?!\s)(.+?)(?<!\s)_(?!\w)")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_SAFE_TARGET = re.compile(r"^(https?://|mailto:|/|#|\./)", re.IGNORECASE)


def render_markdown(text: str) -> Markup:
    out: list[str] = []
    lines = str(text).replace("\r\n", "\n").split("\n")
    index = 0
    while index < len(lines):
        index = _block(lines, index, out)
    return Markup("\n".join(out))


def _block(lines: list[str], index: int, out: list[str]) -> int:
    """Render the block starting at `index`; return where the next one starts."""
    line = lines[index]
    if line.strip().startswith("```"):
        end = index + 1
        while end < len(lines) and not lines[end].strip().startswith("```"):
            end += 1
        out.append("<pre><code>" + html.escape("\n".join(lines[index + 1:end])) + "</code></pre>")
        return end + 1
    if not line.strip():
        return index + 1
    if heading := _HEADING.match(line):
        level = len(heading.group(1))
        out.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
        return index + 1
    if _RULE.match(line):
        out.append("<hr>")
        return index + 1
    for pattern, tag in ((_BULLET, "ul"), (_NUMBERED, "ol")):
        if pattern.match(line):
            end = index
            items = []
            while end < len(lines) and (item := pattern.match(lines[end])):
                items.append(f"<li>{_inline(item.group(1))}</li>")
                end += 1
            out.append(f"<{tag}>" + "".join(items) + f"</{tag}>")
            return end
    end = index
    while end < len(lines) and lines[end].strip() and not _starts_block(lines[end]):
        end += 1
    end = max(end, index + 1)
    out.append("<p>" + "<br>".join(_inline(l) for l in lines[index:end]) + "</p>")
    return end


def _starts_block(line: str) -> bool:
    return bool(_HEADING.match(line) or _BULLET.match(line) or _NUMBERED.match(line)
                or _RULE.match(line) or line.strip().startswith("```"))


def _inline(text: str) -> str:
    """Escape, then add code spans, links, strong and emphasis (code spans stay verbatim)."""
    parts = _CODE.split(text)
    rendered = []
    for position, part in enumerate(parts):
        if position % 2:
            rendered.append("<code>" + html.escape(part) + "</code>")
        else:
            rendered.append(_emphasis(_LINK.sub(_link, html.escape(part, quote=False))))
    return "".join(rendered)


def _link(match: re.Match) -> str:
    label, target = match.group(1), html.unescape(match.group(2))
    if not _SAFE_TARGET.match(target):
        return match.group(0)
    return (f'<a href="{html.escape(target, quote=True)}" rel="noopener noreferrer nofollow">'
            f"{label}</a>")


def _emphasis(text: str) -> str:
    text = _STRONG.sub(lambda m: f"<strong>{m.group(1) or m.group(2)}</strong>", text)
    return _EMPHASIS.sub(lambda m: f"<em>{m.group(1) or m.group(2)}</em>", text)
