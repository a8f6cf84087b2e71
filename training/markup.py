"""Our composed pages as HTML: the same lines, in the markup a news site would give them.

Each line of a composed page (see :mod:`training.compose`) becomes one
block of text in the HTML, inside the containers its kind calls for: the
site header and menus in ``header``/``nav``, the story in ``article``,
teasers in an ``aside``, the footer in ``footer``. The markup is drawn at
random per page (semantic elements or nothing but ``div``; readable class
names, framework-style names or hashed ones; the sidebar's teasers as a
list or as cards), so that the HTML classifier learns the form of a page
and not one template. :func:`labelled_record` renders the HTML as the
labeller will and labels its segments by the lines they came from.
"""

from __future__ import annotations

import html
import random
import re

from classifier.segment.html import split_html

# Where each kind of block goes on the page.
REGION = {
    "header": "top",
    "breadcrumb": "top",
    "article_head": "article",
    "headline": "article",
    "paragraph": "article",
    "box": "article",
    "tags": "article",
    "share": "article",
    "bio": "article",
    "promo": "article",
    "comments": "comments",
    "teaser_heading": "sidebar",
    "teaser": "sidebar",
    "footer_links": "bottom",
    "footer": "bottom",
    "cookie": "bottom",
}
# Readable class names a site might give each part.
NAMES = {
    "top": ["site-header", "masthead", "header", "top-bar", "global-header"],
    "nav": ["main-nav", "menu", "navigation", "nav-primary", "site-nav"],
    "article": ["article", "story", "post", "entry", "news-article"],
    "body": ["article-body", "story-content", "entry-content", "post-body", "text", "content"],
    "meta": ["byline", "meta", "article-meta", "author", "post-info"],
    "sidebar": ["sidebar", "related", "most-read", "widget", "rail", "teasers"],
    "teaser": ["teaser", "card", "item", "story-card", "list-item"],
    "comments": ["comments", "discussion", "comment-list", "reactions"],
    "bottom": ["site-footer", "footer", "colophon", "bottom"],
    "box": ["inline-related", "ad-slot", "newsletter-box", "read-also", "promo"],
}


class Style:
    """The markup habits of one page's site."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.semantic = rng.random() < 0.7  # header/nav/article/aside/footer, or divs only
        self.naming = rng.choice(["readable", "readable", "bem", "hashed"])
        self.list_menus = rng.random() < 0.7
        self.card_teasers = rng.random() < 0.5
        self.headline_tag = rng.choice(["h1", "h1", "h2"])

    def tag(self, semantic: str) -> str:
        return semantic if self.semantic else "div"

    def cls(self, part: str) -> str:
        name = self.rng.choice(NAMES.get(part, [part]))
        if self.naming == "bem":
            return f"c-{name}__inner"
        if self.naming == "hashed":
            return "css-" + "".join(self.rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(6))
        return name


def _text(line: str) -> str:
    return html.escape(line, quote=False)


def _lines_markup(kind: str, lines: list[str], titles: set[str], style: Style) -> str:
    """The markup of one block's lines, each its own block element."""
    rng = style.rng
    if kind == "header":
        items = []
        for line in lines:
            if len(line) > 45:
                items.append(f'<div class="{style.cls("top")}">{_text(line)}</div>')
            elif style.list_menus:
                items.append(f'<li><a href="/{rng.randrange(1000)}">{_text(line)}</a></li>')
            else:
                items.append(f'<div><a href="/{rng.randrange(1000)}">{_text(line)}</a></div>')
        inner = "".join(items)
        if style.list_menus:
            inner = re.sub(r"((?:<li>.*?</li>)+)", r"<ul>\1</ul>", inner)
        return f'<{style.tag("nav")} class="{style.cls("nav")}">{inner}</{style.tag("nav")}>'
    if kind == "breadcrumb":
        return f'<div class="breadcrumb"><a href="/">{_text(lines[0])}</a></div>'
    if kind in ("article_head", "headline"):
        parts = []
        for line in lines:
            if line in titles:
                parts.append(f"<{style.headline_tag}>{_text(line)}</{style.headline_tag}>")
            elif any(ch.isdigit() for ch in line) and len(line) < 40:
                parts.append(f'<div class="{style.cls("meta")}"><time>{_text(line)}</time></div>')
            else:
                parts.append(f'<div class="{style.cls("meta")}">{_text(line)}</div>')
        return "".join(parts)
    if kind == "paragraph":
        return f"<p>{_text(lines[0])}</p>"
    if kind == "box":
        inner = "".join(f'<div><a href="/{rng.randrange(1000)}">{_text(line)}</a></div>' for line in lines)
        return f'<{style.tag("aside")} class="{style.cls("box")}">{inner}</{style.tag("aside")}>'
    if kind == "share":
        inner = "".join(f'<li><a href="#">{_text(line)}</a></li>' for line in lines)
        return f'<div class="{style.cls("share")}"><ul>{inner}</ul></div>'
    if kind == "comments":
        head, rest = lines[0], lines[1:]
        parts = [f"<h3>{_text(head)}</h3>"]
        for i in range(0, len(rest), 3):
            name, meta, said = [*rest[i : i + 3], "", "", ""][:3]
            parts.append(
                f'<div class="comment"><div class="author">{_text(name)}</div>'
                f'<div class="{style.cls("meta")}">{_text(meta)}</div><p>{_text(said)}</p></div>'
            )
        return "".join(parts)
    if kind == "teaser_heading":
        return "".join(f"<h2>{_text(line)}</h2>" for line in lines)
    if kind == "teaser":
        parts = []
        for line in lines:
            if line in titles:
                parts.append(f'<h3><a href="/{rng.randrange(10000)}">{_text(line)}</a></h3>')
            elif len(line) > 60 or (len(line) > 25 and len(line.split()) <= 2):  # a blurb (with or without spaces)
                parts.append(f"<p>{_text(line)}</p>")
            else:
                parts.append(f'<div class="{style.cls("meta")}">{_text(line)}</div>')
        element = style.tag("article") if style.card_teasers else "li"
        return f'<{element} class="{style.cls("teaser")}">{"".join(parts)}</{element}>'
    if kind == "footer_links":
        inner = "".join(f'<li><a href="/{rng.randrange(1000)}">{_text(line)}</a></li>' for line in lines)
        return f"<ul>{inner}</ul>"
    if kind == "cookie":
        text, button = lines[0], lines[1] if len(lines) > 1 else ""
        return f'<div class="cookie-consent"><p>{_text(text)}</p><button>{_text(button)}</button></div>'
    # tags, bio, promo, footer: plain blocks
    return "".join(f'<div class="{style.cls(kind)}">{_text(line)}</div>' for line in lines)


def page_html(
    blocks, story: dict, site: dict, titles: set[str], language: str, direction: str, rng: random.Random
) -> str:
    """The page's blocks as an HTML document, line for line, in the markup of one drawn :class:`Style`."""
    style = Style(rng)
    parts = [
        f'<!DOCTYPE html><html lang="{language}" dir="{direction}"><head><meta charset="utf-8">'
        f"<title>{_text(story['title'])} | {_text(site['name'])}</title><style>.x{{}}</style></head><body>"
    ]
    region = None
    closing = ""
    for block in blocks:
        where = REGION[block.kind]
        teaser_list = where == "sidebar" and not style.card_teasers
        if where != region or block.kind == "teaser_heading":
            parts.append(closing)
            if where == "top":
                parts.append(f'<{style.tag("header")} class="{style.cls("top")}">')
                closing = f"</{style.tag('header')}>"
            elif where == "article":
                parts.append(
                    f'<{style.tag("article")} class="{style.cls("article")}"><div class="{style.cls("body")}">'
                )
                closing = f"</div></{style.tag('article')}>"
            elif where == "comments":
                parts.append(f'<{style.tag("section")} class="{style.cls("comments")}">')
                closing = f"</{style.tag('section')}>"
            elif where == "sidebar":
                parts.append(f'<{style.tag("aside")} class="{style.cls("sidebar")}">' + ("<ul>" if teaser_list else ""))
                closing = ("</ul>" if teaser_list else "") + f"</{style.tag('aside')}>"
            else:
                parts.append(f'<{style.tag("footer")} class="{style.cls("bottom")}">')
                closing = f"</{style.tag('footer')}>"
            region = where
        if block.kind == "teaser_heading" and teaser_list:
            parts.append("</ul>" + _lines_markup(block.kind, [t for t, _ in block.lines], titles, style) + "<ul>")
            continue
        parts.append(_lines_markup(block.kind, [t for t, _ in block.lines], titles, style))
    parts.append(closing)
    parts.append("<script>window.dataLayer = [];</script></body></html>")
    return "".join(parts)


def labelled_record(page_html_text: str, blocks) -> dict:
    """The HTML rendered as the labeller renders it, with each segment's label from the line it came from.

    Raises
    ------
    ValueError
        When the segments are not the page's lines, one for one (a fault of the layout).
    """
    rendered = split_html(page_html_text)
    lines = [(" ".join(text.split()), label) for block in blocks for text, label in block.lines]
    lines = [(text, label) for text, label in lines if text]
    got = [segment.text for segment in rendered.segments]
    if got != [text for text, _ in lines]:
        first = next((i for i, (a, (b, _)) in enumerate(zip(got, lines)) if a != b), min(len(got), len(lines)))
        raise ValueError(
            f"the HTML does not give the page's lines at line {first}: {got[first : first + 2]!r} vs {lines[first : first + 2]!r}"
        )
    segments = [
        {"start": segment.start, "end": segment.end, "label": label}
        for segment, (_, label) in zip(rendered.segments, lines)
    ]
    return {"text": rendered.text, "segments": segments}
