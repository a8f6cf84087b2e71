"""Finishing an interrupted run: what its output already holds.

``storyfilter label ... -o OUT --resume`` first repairs ``OUT`` (a run
killed mid-write leaves a half-written last line, which is cut off), then
reads the id of every record in it. The run then skips, for each id, as
many input documents as the output holds records of it, and appends the
rest. Each input document therefore has its record exactly once, whatever
the order in which ids repeat, and a finished document is not labelled
again.

``filter``, whose output cannot say which inputs it has done, resumes by
position instead (:mod:`classifier.run.positions`).

Ids are kept as 64-bit hashes in sorted numpy arrays, 16 bytes per record,
so that a run of millions of documents resumes in little memory.
"""

from __future__ import annotations

import array
import hashlib
import json
import os
from itertools import islice
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..records import is_error_record, is_label_record

# Every record ``label`` writes begins so (json.dumps with its default separators).
_RECORD_START = b'{"id": '
# Bytes of a line looked at for its id before parsing the whole line.
_ID_WINDOW = 4096
_DECODER = json.JSONDecoder()
# What follows the id in an error record (``{"id": ..., "error": {...}``): no other record has "error" as a key.
_ERROR_NEXT = ', "error": {'


def id_key(doc_id: object) -> int:
    """A 64-bit key for a document id as it appears in a record."""
    text = json.dumps(doc_id, ensure_ascii=False)
    return int.from_bytes(
        hashlib.blake2b(text.encode("utf-8", errors="surrogatepass"), digest_size=8).digest(), "little"
    )


class Finished:
    """How many records of each id an output file holds; taken one by one."""

    def __init__(self, keys: array.array | list[int], repaired: int = 0, errors: int = 0) -> None:
        self._keys, counts = np.unique(np.asarray(keys, dtype=np.uint64), return_counts=True)
        self._left = counts.astype(np.int64)
        self.records = len(keys)
        self.repaired = repaired  # bytes of a half-written last line that were cut off
        self.errors = errors  # error records among them (the run that finishes the output exits 1 for them)

    def take(self, doc_id: object) -> bool:
        """Whether a record of ``doc_id`` is still unaccounted for (and account for it)."""
        if not len(self._keys):
            return False
        key = np.uint64(id_key(doc_id))
        at = int(np.searchsorted(self._keys, key))
        if at < len(self._keys) and self._keys[at] == key and self._left[at] > 0:
            self._left[at] -= 1
            return True
        return False


def prepare_resume(path: Path) -> Finished:
    """Cut a half-written last line off ``path`` and read the ids of its records.

    A missing or empty file resumes nothing: the run starts from the top.

    Raises
    ------
    InputError
        When a complete line of the file is not a record written by storyfilter.
    """
    path = Path(path)
    if not path.exists():
        return Finished([])
    repaired = _cut_partial_line(path)
    keys = array.array("Q")
    errors = 0
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, 1):
            if line.isspace():
                continue
            doc_id, failed = record_head(line, path, number)
            keys.append(id_key(doc_id))
            errors += failed
    return Finished(keys, repaired, errors)


def _cut_partial_line(path: Path) -> int:
    """Truncate ``path`` after its last newline; return how many bytes were cut."""
    size = path.stat().st_size
    with open(path, "r+b") as handle:
        end = size
        while end > 0:
            start = max(0, end - (1 << 16))
            handle.seek(start)
            block = handle.read(end - start)
            newline = block.rfind(b"\n")
            if newline >= 0:
                keep = start + newline + 1
                break
            end = start
        else:
            keep = 0
        if keep < size:
            handle.truncate(keep)
            handle.flush()
            os.fsync(handle.fileno())
    return size - keep


def record_head(line: bytes, path: Path, number: int) -> tuple[object, bool]:
    """The id of one output line, and whether it is an error record; read from its start when they can be."""
    if line.startswith(_RECORD_START):
        head = line[len(_RECORD_START) : len(_RECORD_START) + _ID_WINDOW].decode("utf-8", errors="ignore")
        try:
            doc_id, end = _DECODER.raw_decode(head)
            if end + len(_ERROR_NEXT) <= len(head):  # else what follows the id is past the window: parse it all
                return doc_id, head.startswith(_ERROR_NEXT, end)
        except json.JSONDecodeError:
            pass  # a very long id: parse the whole line
    try:
        record = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        record = None
    if not isinstance(record, dict) or "id" not in record:
        raise InputError(f"{path}:{number} is not a record written by storyfilter; cannot resume into this file")
    return record["id"], is_error_record(record)


# Lines of an output looked at for a labelled record when checking a resumed run against it.
_LINES_CHECKED = 1000


def check_same_run(path: Path, model_id: str, segments: bool, with_text: bool = False) -> None:
    """Refuse to resume into ``path`` when its records were written by another model, or with(out) segments,
    or (for a run ``with_text``) without the pages' text.

    The labelled records among its first lines tell (error records carry
    neither): a run that would write as one of them did may resume. (Not
    only the first: ``label`` passes records of ``label`` in its input
    through as they are, of whatever model and shape.) A file of none, or
    none yet, can be resumed by any run. With ``--with-text`` every labelled
    record holds a ``text`` (an HTML page's record holds one anyway), so one
    without says the run was not; the other way round the records cannot
    tell a text page's from an HTML page's, and nothing is checked.

    Raises
    ------
    InputError
        Naming what the file's records were written with and what this run would write.
    """
    path = Path(path)
    if not path.is_file():
        return
    written: list[tuple] = []  # how each labelled record was written: model and segments
    with open(path, "rb") as handle:
        for line in islice(handle, _LINES_CHECKED):
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError):
                break  # a half-written last line: prepare_resume cuts it off
            if isinstance(record, dict) and is_label_record(record):
                written.append((record["model"], "segments" in record))
                if written[-1] == (model_id, segments):
                    if with_text and "text" not in record:
                        raise InputError(
                            f"--resume: {path}'s records were written without --with-text (a labelled record has no "
                            "text); this run would write them with it, and the file would mix the two. Resume "
                            "without --with-text, or write to a new file"
                        )
                    return
    if written:  # none of them as this run writes
        refuse_another_run(f"{path}'s records were written", written[0], model_id, segments)


def refuse_another_run(what: str, before: tuple, model_id: str, segments: bool) -> None:
    if before == (model_id, segments):
        return

    def said(model: object, with_segments: bool) -> str:
        return f"{model} {'with' if with_segments else 'without'} segments"

    raise InputError(
        f"--resume: {what} by {said(*before)}; this run would write {said(model_id, segments)}, and the file "
        "would mix the two. Resume with the first run's --model, and with --no-segments only if it had it, "
        "or write to a new file"
    )
