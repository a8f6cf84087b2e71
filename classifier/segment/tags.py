"""The HTML tags the page walk knows: what is never text, what ends a line, what a segment's DOM facts name.

:mod:`classifier.segment.html` walks a page with these tables; the DOM
features (:mod:`classifier.features.dom`) name their columns after
:data:`OWNER_TAGS` and :data:`ANCESTORS`, so a change here changes the
features: retrain.
"""

from __future__ import annotations

# Elements whose content is never page text.
SKIPPED = (
    "script",
    "style",
    "noscript",
    "template",
    "svg",
    "math",
    "iframe",
    "object",
    "embed",
    "canvas",
    "head",
    "title",
    "meta",
    "link",
    "base",
    "select",
    "option",
    "datalist",
    "noframes",
    "noembed",
)
# Elements that end a line of text. Those in PARAGRAPHS also leave a blank line.
PARAGRAPHS = frozenset(
    "p h1 h2 h3 h4 h5 h6 ul ol dl table blockquote pre figure header footer nav section article aside "
    "main form hr address fieldset details".split()
)
BLOCKS = PARAGRAPHS | frozenset(
    "div li dd dt tr td th tbody thead tfoot caption figcaption center body html legend summary menu "
    "dir dialog hgroup frameset noframes option".split()
)
# The owner-block tags told apart (index 0: any other).
OWNER_TAGS = (
    "other",
    "p",
    "div",
    "li",
    "td",
    "th",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "figcaption",
    "dd",
    "dt",
    "caption",
    "section",
    "article",
    "header",
    "footer",
    "nav",
    "aside",
    "body",
)
OWNER_CODE = {tag: code for code, tag in enumerate(OWNER_TAGS)}
# Ancestor kinds, one bit each: the segment sits inside such an element.
ANCESTORS = (
    "a",
    "nav",
    "header",
    "footer",
    "aside",
    "article",
    "main",
    "form",
    "li",
    "list",
    "table",
    "figure",
    "figcaption",
    "blockquote",
    "heading",
    "p",
    "section",
    "button",
    "label",
    "time",
    "menu",
    "hidden",
    "strong",
    "em",
    "small",
    "span",
)
BIT = {name: 1 << i for i, name in enumerate(ANCESTORS)}
TAG_BITS = {name: BIT[name] for name in ANCESTORS if name not in ("list", "heading", "hidden")}
TAG_BITS.update({"ul": BIT["list"], "ol": BIT["list"], "dl": BIT["list"], "b": BIT["strong"], "i": BIT["em"]})
TAG_BITS.update({f"h{level}": BIT["heading"] for level in range(1, 7)})
HIDDEN_BIT = BIT["hidden"]
LINK_BIT = BIT["a"]
