"""Which HTML training pages teach "a discussion is the page's content".

A forum thread's gold is its posts, and some corpora keep the readers' comments under a story as
story. Under a news story they are not, and a model that learned both kept comments as story on
sites it never saw (docs/benchmarks.md, "reader comments"), so the HTML classifier leaves such pages
out of its training (:func:`teaches_comments`).
"""

from __future__ import annotations

from ..corpus.documents import TrainingDocument
from ..records import UNLABELLED, Label

# Pages of these types, and pages whose gold keeps more than this many words of their comment
# blocks (blocks whose class, id or tag path holds one of the marks) as story, teach it.
DISCUSSION_PAGE_TYPES = frozenset({"forum"})
COMMENT_MARKS = ("comment", "reply", "disqus")
KEPT_COMMENT_WORDS = 150


def teaches_comments(document: TrainingDocument) -> bool:
    """Whether an HTML page's gold treats a discussion as the page's content (see :data:`DISCUSSION_PAGE_TYPES`)."""
    if document.page_type in DISCUSSION_PAGE_TYPES:
        return True
    story = chrome = 0
    for segment, label in zip(document.segments, document.labels):
        if segment.dom is None or label == UNLABELLED or not is_comment_block(segment.dom):
            continue
        words = len(segment.text.split())
        story, chrome = (story + words, chrome) if label == Label.STORY else (story, chrome + words)
    return story > chrome and story > KEPT_COMMENT_WORDS


def is_comment_block(facts) -> bool:
    """Whether an HTML block's class/id tokens or tag path (its ``BlockFacts``) name a comment."""
    where = (" ".join(facts.classes) + " " + facts.path).lower()
    return any(mark in where for mark in COMMENT_MARKS)
