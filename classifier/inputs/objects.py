"""Documents from JSON objects (a JSONL line, a document of a service request) and from what a Python caller hands in."""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterable, Iterator
from typing import Any

from ..errors import HtmlAsTextWarning, InputError
from ..records import Document, FailedDocument, LabeledDocument, is_error_record, is_label_record


def _id_text(value: Any) -> str:
    """An id as text: a string as it is, anything else as its JSON (``7`` -> ``"7"``, ``true`` -> ``"true"``)."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):  # not from JSON: what Python makes of it
        return str(value)


_NO_PAGE = "needs a 'text' or 'html' field"


def document_from_record(record: Any, where: str) -> Document | LabeledDocument | FailedDocument:
    """A document from one JSON object, or a failure that says what is wrong.

    A record written by ``label`` comes back as the labelled document it
    describes, so that it is not labelled again; an error record written by
    ``label`` comes back as the failure it describes.
    """
    if not isinstance(record, dict):
        return FailedDocument(where, "InputError", f"{where}: each line must be a JSON object")
    doc_id = record.get("id")
    doc_id = where if doc_id is None else _id_text(doc_id)
    if is_label_record(record):
        try:
            return LabeledDocument.from_record({**record, "id": doc_id})
        except ValueError as error:
            return FailedDocument(doc_id, "InputError", f"{where}: not a record as `label` writes it: {error}")
    extra = {k: v for k, v in record.items() if k not in ("id", "text", "html")}
    text, html = record.get("text"), record.get("html")
    if is_error_record(record):  # written by `label`: it stays the failure it was
        error = extra.pop("error")
        return FailedDocument(doc_id, str(error["type"]), str(error["message"]), extra)
    if text is None and html is None:
        given = [f"'{name}'" for name in ("text", "html") if name in record]  # there, as null
        why = f"{' and '.join(given)} {'is' if len(given) == 1 else 'are'} null: give the page as a string"
        return FailedDocument(doc_id, "InputError", f"{where}: {why if given else _NO_PAGE}", extra)
    # From Python, html may be the file's bytes, as a Document takes them.
    if isinstance(html, (bytes, bytearray)) and (text is None or isinstance(text, str)):
        return Document(id=doc_id, text=text, html=html, extra=extra)
    for field_name, value in (("text", text), ("html", html)):
        if value is not None and not isinstance(value, str):
            also = " (html may also be the file's bytes)" if field_name == "html" else ""
            return FailedDocument(doc_id, "InputError", f"{where}: '{field_name}' must be a string{also}", extra)
    return Document(id=doc_id, text=text, html=html, extra=extra)


# How an HTML document's text begins: after white space and a byte order mark, an XML declaration (XHTML) and
# comments (a browser's "<!-- saved from url=... -->"), its doctype or its <html>. Looked for in its first 2 KB.
_HTML_START = re.compile(r"[\s\ufeff]*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*(?:<!doctype\s+html|<html)", re.I | re.S)


def warn_if_html(text: object, stacklevel: int = 1) -> None:
    """Warn (:class:`~classifier.errors.HtmlAsTextWarning`) when a page given as text is an HTML document.

    ``stacklevel`` as for :func:`warnings.warn`, counted from the caller (1: the warning is of this place, so
    Python's default filter shows it once per process, however many pages and calls).
    """
    if isinstance(text, str) and _HTML_START.match(text[:2048]):
        warnings.warn(
            "a page given as text is an HTML document: it is labelled as text, markup and all; "
            "give it as html (label(html=...), a Document's or a dict's 'html') to have it read as a page",
            HtmlAsTextWarning,
            stacklevel=stacklevel + 1,
        )


def as_documents(
    items: Iterable[Any], warn_html: bool = False
) -> Iterator[Document | LabeledDocument | FailedDocument]:
    """Documents from what a Python caller hands in: documents, text strings, JSON-like dicts.

    A string is a text page with its place as id; a dict is read as a JSONL
    line is; anything else becomes a :class:`FailedDocument` in its place.
    With ``warn_html`` (the Python API's own calls, in the caller's process: not
    the engines' chunks, in the CLI, workers and the service), a string or a
    dict's ``text`` that is an HTML document is warned of (:func:`warn_if_html`;
    a ``Document`` says what its text is).

    Raises
    ------
    InputError
        At once, when ``items`` is one document (a string, a dict, a
        document) rather than an iterable of them: its characters or keys
        would be taken for pages.
    """
    if isinstance(items, (str, bytes, dict, Document, LabeledDocument, FailedDocument)):
        raise InputError(
            f"give the documents as an iterable (a list, a generator), not one {type(items).__name__}: "
            "Model.label labels one page"
        )
    try:
        items = iter(items)
    except TypeError:
        raise InputError(f"give the documents as an iterable (a list, a generator), not {items!r}") from None
    return _documents(items, warn_html)


def _documents(items: Iterable[Any], warn_html: bool) -> Iterator[Document | LabeledDocument | FailedDocument]:
    for number, item in enumerate(items):
        if isinstance(item, (str, dict)):  # (a Document says which it is: its text is text)
            item = (
                Document(id=str(number), text=item)
                if isinstance(item, str)
                else document_from_record(item, f"record {number}")
            )
            if warn_html and isinstance(item, Document) and item.html is None:
                warn_if_html(item.text)
        if isinstance(item, (Document, LabeledDocument, FailedDocument)):
            yield item
        else:
            yield FailedDocument(
                str(number), "InputError", f"cannot label a {type(item).__name__}: give a Document, a str or a dict"
            )
