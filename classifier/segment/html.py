"""HTML pages as text blocks, each with its place in the DOM.

An HTML page is parsed with lxml (libxml2, forgiving of broken markup),
read in one pass as the parser reports elements and text, without building
a tree. Scripts, styles and other non-text elements are dropped; every
block-level element (``p``, ``div``, ``li``, ``h2``, ``td``, ...) and every
``br`` ends the text gathered so far, so a segment is the text of one block
or one run of text between blocks, with its white space collapsed.

The segments are laid out as plain text, one per line, with a blank line
where the page breaks paragraphs (after ``p``, headings, lists, tables, ...)
and a plain line break elsewhere. That rendered text is the record's
``text``: every segment's ``start``/``end`` point into it, and the text
features see the same kind of page as in text mode. Each segment also
carries :class:`BlockFacts`, what the DOM says about it, which the DOM
features (:mod:`classifier.features.dom`) turn into numbers.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from lxml import etree

from .tags import BLOCKS, HIDDEN_BIT, LINK_BIT, OWNER_CODE, PARAGRAPHS, SKIPPED, TAG_BITS
from .text import Segment

_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_TOKEN = re.compile(r"[a-z][a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_PARSER_OPTIONS = dict(
    encoding="utf-8",
    remove_comments=True,
    remove_pis=True,
    no_network=True,
    recover=True,
    huge_tree=True,
    collect_ids=False,
)
_SKIPPED = frozenset(SKIPPED)
_SURROGATE = re.compile("[\ud800-\udfff]")
# Characters beyond which a <title> is no title: the page itself, after a <title> that was never closed.
_TITLE_CHARS = 1000
_H1 = OWNER_CODE["h1"]


class BlockFacts(NamedTuple):
    """What the DOM says about one segment.

    Attributes
    ----------
    tag : int
        Index in :data:`OWNER_TAGS` of the innermost block element holding
        the text (0 for any other tag).
    ancestors : int
        Bit set of :data:`ANCESTORS` kinds among the elements open where the
        line ends: its block and the block's ancestors (inline elements
        closed within the line, such as a link, do not count; ``link_chars``
        says how much of the line is linked).
    depth : int
        Number of elements around the text.
    link_chars : int
        Characters of the text that sit inside links.
    owner, parent : int
        Serial numbers (in document order) of the innermost block element
        and of the block element around that one; segments with the same
        ``owner`` come from one element.
    owner_size : int
        Elements inside the owner block (its markup density).
    path : str
        The tags from ``body`` to the owner block, with the first two
        class/id tokens of each (``div.main>article.story>p``); at most the
        innermost :data:`MAX_STEPS` steps.
    classes : tuple of str
        Class and id tokens of the owner block first, then of its ancestors
        outwards, lower-cased (at most :data:`MAX_CLASSES`).
    """

    tag: int
    ancestors: int
    depth: int
    link_chars: int
    owner: int
    parent: int
    owner_size: int
    path: str
    classes: tuple[str, ...]


class HtmlPage(NamedTuple):
    """An HTML page laid out as text, its segments (with :class:`BlockFacts`), and its title.

    ``title`` is the text of the page's ``<title>`` (not an SVG's), else of
    its first ``h1`` line; None when it has neither (or they are blank).
    """

    text: str
    segments: list[Segment]
    title: str | None = None


def _tokens(value: str, cache: dict) -> tuple[str, ...]:
    found = cache.get(value)
    if found is None:
        found = tuple(_TOKEN.findall(_CAMEL.sub(" ", value).lower()))
        cache[value] = found
    return found


class TooManyBlocks(Exception):
    """Raised by :func:`split_html` as soon as a page passes its ``max_segments``."""


def split_html(html: str, page: int = 0, max_segments: int | None = None) -> HtmlPage:
    """Parse an HTML page into its text blocks and lay them out as text.

    Parameters
    ----------
    html : str
        The page's markup, decoded. Broken markup is repaired as browsers
        do; markup with no text gives an empty page.
    page : int, default=0
        The page number stamped on every segment (for batches).
    max_segments : int, optional
        Stop reading, with :class:`TooManyBlocks`, once the page has more
        segments than this (the rest of the markup is not parsed).
    """
    walk = _Walk(page, max_segments)
    parser = etree.HTMLParser(target=walk, **_PARSER_OPTIONS)
    if "\x00" in html:
        html = html.replace("\x00", "")  # browsers drop a NUL in text (libxml2 makes it U+FFFD)
    try:
        markup = html.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (from a JSON escape): shown as a replacement character, not "?"
        markup = _SURROGATE.sub("\ufffd", html).encode("utf-8")
    try:
        return etree.fromstring(markup, parser)
    except (etree.XMLSyntaxError, ValueError):
        return HtmlPage("", [])  # nothing libxml2 can read as a document: no text


# An open element on the walk's stack, as a tuple (cheaper to make than an object, and the walk makes
# one per element): its ancestor bits, tag, class/id text, the element around it, its serial number and
# how many elements deep it is. The page's root is serial 0; its description is known.
_BITS, _TAG, _LABEL, _PARENT, _SERIAL, _DEPTH = range(6)
_ROOT = (0, "html", None, None, 0, 0)


def _describe(node: tuple, described: dict[int, tuple], cache: dict) -> tuple:
    """The path from ``body`` to an open element (its last :data:`MAX_STEPS` steps), how many steps that
    is, and its class/id tokens innermost first (at most :data:`MAX_CLASSES`).

    ``described`` keeps each element's description by serial number, so that it is worked out once;
    it is worked out from the nearest described ancestor down, in a loop: pages nest thousands of
    elements deep when their markup is broken. ``cache`` keeps the tokens of each class/id text and
    the merged tokens of each (own, outer) pair, which siblings share.
    """
    found = described.get(node[_SERIAL])
    if found is not None:
        return found
    pending = []
    while node is not None and node[_SERIAL] not in described:
        pending.append(node)
        node = node[_PARENT]
    for node in reversed(pending):
        described[node[_SERIAL]] = found = _describe_below(node, described, cache)
    return found


def _describe_below(node: tuple, described: dict[int, tuple], cache: dict) -> tuple:
    """An element's description, from its parent's (already described)."""
    parent, tag, label = node[_PARENT], node[_TAG], node[_LABEL]
    if tag in ("html", "body") or parent is None:
        return "", 0, ()
    outer_path, outer_steps, outer_classes = described[parent[_SERIAL]]
    own = _tokens(label, cache) if label else ()
    step = tag + ("." + ".".join(own[:2]) if own else "")
    if outer_path:
        steps = outer_steps + 1
        path = outer_path + ">" + step
        if steps > MAX_STEPS:  # keep memory linear in depth
            path = path[path.index(">") + 1 :]
            steps = MAX_STEPS
    else:
        path, steps = step, 1
    if own and outer_classes:
        key = (own, outer_classes)  # siblings share both: worked out once
        classes = cache.get(key)
        if classes is None:
            classes = cache[key] = (own + tuple([t for t in outer_classes if t not in own]))[:MAX_CLASSES]
    else:
        classes = (own or outer_classes)[:MAX_CLASSES]
    return path, steps, classes


# Steps of the DOM path kept per segment (the innermost ones).
MAX_STEPS = 64
# Class/id tokens kept per segment, innermost first.
MAX_CLASSES = 16


class _Walk:
    """The parser's target: gathers text into lines and lines into a page as the markup is read.

    lxml calls :meth:`start`, :meth:`data` and :meth:`end` while libxml2
    parses (repairing broken markup as it goes), so no tree is built;
    :meth:`close` returns the page. This is the hot loop of HTML labelling:
    the element on top of the stack (``top``) is a tuple that points to the
    one around it, and lines keep their element, to be described once the
    page is read.
    """

    def __init__(self, page: int, max_segments: int | None = None):
        self.page = page
        self.max_segments = max_segments
        self.parts: list[str] = []  # the rendered text: lines and the breaks between them
        self.length = 0
        self.pending: list[tuple] = []  # lines waiting for their owner block's size
        self.pieces: list[str] = []
        self.link_chars = 0
        self.gap = -1  # blank lines owed before the next line; -1 before the first
        self.serial = 0  # elements seen, in document order
        self.skip = 0  # depth inside an element whose content is not text
        self.top = _ROOT
        self.blocks: list[tuple[int, int]] = [(0, 0)]  # open blocks: (serial, owner tag code)
        self.sizes: dict[int, int] = {}
        self.skip_root = ""  # the element whose content is being skipped (outermost)
        self.hidden_at = 0  # skip depth of the outermost element of a skipped kind open inside the skip root (0: none)
        self.left_open = 0  # elements libxml2 left open around the body, whose ends are still to come
        self.title: list[str] | None = None  # the text of the page's <title>, once met
        self.in_title = False

    def start(self, tag: str, attrib) -> None:
        skipped_kind = tag in _SKIPPED or (":" in tag and tag.partition(":")[0] in _SKIPPED)
        if self.skip or skipped_kind:
            if self.skip_root == "head" and not self.hidden_at and (tag == "body" or not skipped_kind):
                # libxml2 keeps an element it does not know (<app-root>, <fb:like>, Word's <o:p>, HTML5's
                # <header> in an older libxml2) inside the head, and what follows with it, a body too (after
                # markup before <html>): a browser closes the head at such an element and shows it. Read it (its
                # class, hiding and block role too) and the rest; the head's ends come later.
                # (What is inside the head's noscript, template, ... stays hidden with them.)
                self.left_open, self.skip = self.skip, 0
                self._open(tag, attrib)
                return
            if not self.skip:
                self.skip_root = tag
            elif skipped_kind and not self.hidden_at:
                self.hidden_at = self.skip + 1
            # The page's own title sits in the head (or stray in the body); an SVG's or a template's is not it.
            if tag == "title" and self.title is None and self.skip_root in ("head", "title"):
                self.title, self.in_title = [], True
            self.skip += 1
            return
        self._open(tag, attrib)

    def _open(self, tag: str, attrib) -> None:
        self.serial = serial = self.serial + 1
        if tag in BLOCKS:
            if self.pieces:
                self.flush()
            if self.gap >= 0 and tag in PARAGRAPHS:
                self.gap = 1
            self.blocks.append((serial, OWNER_CODE.get(tag, 0)))
        elif tag == "br" and self.pieces:
            self.flush()
        top = self.top
        bits = top[_BITS] | TAG_BITS.get(tag, 0)
        label = None
        if attrib:  # most elements have no attributes: skip the lookups
            get = attrib.get
            style = get("style")
            if get("hidden") is not None or (style and _HIDDEN_STYLE.search(style)):
                bits |= HIDDEN_BIT
            label = get("class")
            identifier = get("id")
            if identifier:
                label = f"{label} {identifier}" if label else identifier
        self.top = (bits, tag, label, top, serial, top[_DEPTH] + 1)

    def end(self, tag: str) -> None:
        if self.skip:
            self.skip -= 1
            if tag == "title":
                self.in_title = False
            if self.skip < self.hidden_at:  # that element has ended
                self.hidden_at = 0
            return
        if self.left_open and tag != self.top[_TAG]:  # an end of what held the body in the head: never opened here
            self.left_open -= 1
            return
        if tag in BLOCKS:
            if self.pieces:
                self.flush()
            if self.gap >= 0 and tag in PARAGRAPHS:
                self.gap = 1
            opened, _ = self.blocks.pop()
            self.sizes[opened] = self.serial - opened + 1
        self.top = self.top[_PARENT] or _ROOT

    def data(self, text: str) -> None:
        if not self.skip:
            pieces = self.pieces
            if not pieces and text.isspace():  # white space before a line's text is not part of it
                return
            pieces.append(text)
            if self.top[_BITS] & LINK_BIT:
                self.link_chars += len(text.strip())
        elif self.in_title:
            self.title.append(text)

    def close(self) -> HtmlPage:
        self.flush()
        page = self.page_out()
        # The parser and its target refer to each other, so they live until
        # the garbage collector finds them: let go of everything big now.
        self.pending, self.parts, self.pieces = [], [], []
        self.top, self.sizes, self.blocks = _ROOT, {}, []
        return page

    def flush(self) -> None:
        """End the current line: write the text gathered since the last break, if any."""
        pieces = self.pieces
        if pieces:
            text = " ".join("".join(pieces).split())
            if text:
                self.write(text)
            pieces.clear()
            self.link_chars = 0

    def write(self, text: str) -> None:
        gap = self.gap
        if gap >= 0:
            self.parts.append("\n\n" if gap else "\n")
            self.length += 1 + gap
        start = self.length
        self.parts.append(text)
        self.length += len(text)
        blocks = self.blocks
        owner, tag = blocks[-1]
        parent = blocks[-2][0] if len(blocks) > 1 else 0
        self.pending.append((text, start, max(gap, 0), tag, self.top, min(self.link_chars, len(text)), owner, parent))
        self.gap = 0
        if self.max_segments is not None and len(self.pending) > self.max_segments:
            self.pending, self.parts = [], []  # let go now: the parser keeps its target a while
            raise TooManyBlocks()

    def page_out(self) -> HtmlPage:
        segments = []
        described: dict[int, tuple] = {0: ("", 0, ())}
        cache: dict = {}
        sizes, page = self.sizes, self.page
        for text, start, gap, tag, top, link_chars, owner, parent in self.pending:
            path, _, classes = _describe(top, described, cache)
            facts = BlockFacts(
                tag, top[_BITS], top[_DEPTH], link_chars, owner, parent, sizes.get(owner, 1), path, classes
            )
            segments.append(Segment(text, start, start + len(text), page, gap, 0, facts))
        title = " ".join("".join(self.title or ()).split())
        if len(title) > _TITLE_CHARS:  # a <title> left open swallows the page (a browser's too): no title
            title = ""
        if not title:  # no <title>: the first line of the first h1
            title = next((s.text for s in segments if s.dom.tag == _H1), "")
        return HtmlPage("".join(self.parts), segments, title or None)
