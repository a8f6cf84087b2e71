"""Finishing an interrupted run: what its output already holds.

``storyfilter label ... -o OUT --resume`` first repairs ``OUT`` (a run
killed mid-write leaves a half-written last line, which is cut off), then
reads the id of every record in it. The run then skips, for each id, as
many input documents as the output holds records of it, and appends the
rest. Each input document therefore has its record exactly once, whatever
the order in which ids repeat, and a finished document is not labelled
again.

``filter`` writes only the documents that pass, so its output cannot say
which inputs it has done: ``filter -o OUT`` keeps a side file,
``OUT.resume`` (:func:`side_file`), saying after each chunk how many input
documents the output accounts for and how long the output was then.
``--resume`` cuts the output back to that length and skips that many
input documents, by position: exact, whatever the ids. The side file also
keeps a digest of those documents' ids (:class:`IdTally`: a sum, so the
order of the documents within them does not matter, as it does not to
skipping them), and the resumed run checks the documents it skips against
it: inputs that are not those of the interrupted run (another folder, a
file added to a crawl folder ahead of the others) are refused rather than
skipped by count.

Ids are kept as 64-bit hashes in sorted numpy arrays, 16 bytes per record,
so that a run of millions of documents resumes in little memory.
"""

from __future__ import annotations

import array
import hashlib
import json
import os
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
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


# Digests of ids are sums of their keys modulo 2**64.
_MASK = (1 << 64) - 1


class IdTally:
    """A running digest of the ids of the input documents read, in order: the sum of their keys
    (:func:`id_key`) modulo 2**64, which ``filter``'s side file keeps for the documents it accounts for.

    Reading runs ahead of writing by a few chunks; :meth:`at` gives the digest of the first ``count``
    documents read, for a ``count`` of at least ``floor`` not passed yet (those before it are let go, and
    none before ``floor`` is kept: a resumed run asks for none below the documents it skips).
    """

    def __init__(self, floor: int = 0) -> None:
        self._sums: deque[tuple[int, int]] = deque([(0, 0)] if floor == 0 else [])  # (documents read, digest)
        self._floor = floor
        self._total = 0
        self._read = 0

    def counted(self, documents: Iterable) -> Iterator:
        """``documents`` as they are, each id added to the digest as it is read."""
        for document in documents:
            self._total = (self._total + id_key(document.id)) & _MASK
            self._read += 1
            if self._read >= self._floor:
                self._sums.append((self._read, self._total))
            yield document

    def at(self, count: int) -> int:
        """The digest of the first ``count`` documents read."""
        sums = self._sums
        while len(sums) > 1 and sums[0][0] < count:
            sums.popleft()
        if not sums or sums[0][0] != count:
            raise ValueError(f"the digest of {count} documents is gone or not read yet")
        return sums[0][1]


class FirstDocuments:
    """The first ``count`` input documents: what a side file says is done.

    With ``digest`` (:class:`IdTally`'s, as the side file keeps it), the documents taken are checked to be
    those: their ids' digest, once the last is taken, must be the same.
    """

    def __init__(
        self, count: int, repaired: int = 0, digest: int | None = None, side: Path | None = None, errors: int = 0
    ) -> None:
        self._left = count
        self.records = count
        self.repaired = repaired
        self.errors = errors  # error records in the output (as Finished's)
        self._digest, self._sum, self._side = digest, 0, side

    def take(self, doc_id: object) -> bool:
        """Whether this input document (the next one in input order) is among those done.

        Raises
        ------
        InputError
            When it is the last of them and their ids are not those the side file counted.
        """
        if self._left <= 0:
            return False
        self._left -= 1
        if self._digest is not None:
            self._sum = (self._sum + id_key(doc_id)) & _MASK
            if self._left == 0 and self._sum != self._digest:
                raise InputError(self._not_those(f"the first {self.records} input documents are not those"))
        return True

    def check_all_taken(self) -> None:
        """Refuse inputs that ended before the documents done did.

        Raises
        ------
        InputError
            When fewer input documents came than the side file counted.
        """
        if self._left > 0:
            read = self.records - self._left
            raise InputError(self._not_those(f"the inputs hold {read} documents, not the {self.records}"))

    def _not_those(self, what: str) -> str:
        return (
            f"{what} that {self._side or 'the side file'} counted as done: the inputs are not those of the "
            "interrupted run (others, or a file added or removed since; a JSONL line without an id is known by "
            "FILE:LINE as typed: give the same paths); resume with the same inputs, or run again without --resume"
        )


@dataclass(frozen=True)
class Position:
    """How far a run got: input documents accounted for, and the output's length in bytes then;
    the model that labelled and whether records hold segments, when known."""

    documents: int
    size: int
    model: str | None = None
    segments: bool | None = None
    selection: dict | None = None  # what `filter` keeps: {"topics": [...], "min_score": ...}
    ids: int | None = None  # the digest of the documents' ids (IdTally)


def side_file(out: Path) -> Path:
    """Where ``filter -o OUT`` keeps its :class:`Position`: ``OUT.resume`` beside it."""
    return out.with_name(out.name + ".resume")


def write_position(path: Path, position: Position) -> None:
    """Write the side file whole (a new file moved over the old: never half-written)."""
    partial = path.with_name(path.name + ".partial")
    saved: dict = {"documents": position.documents, "size": position.size}
    if position.model is not None:
        saved.update(model=position.model, segments=position.segments)
    if position.selection is not None:
        saved.update(position.selection)
    if position.ids is not None:
        saved["ids"] = f"{position.ids:016x}"
    partial.write_text(json.dumps(saved) + "\n", encoding="utf-8")
    os.replace(partial, path)


def prepare_position_resume(out: Path) -> FirstDocuments | None:
    """Cut ``out`` back to the length its side file gives; the input documents done. None without a side file.

    Raises
    ------
    InputError
        When the side file is not one storyfilter wrote, or says more than ``out`` holds.
    """
    out, side = Path(out), side_file(Path(out))
    if not side.exists():
        return None
    try:
        saved = json.loads(side.read_text(encoding="utf-8"))
        ids = saved.get("ids")  # not in the side files of storyfilter 0.2 and before
        position = Position(int(saved["documents"]), int(saved["size"]), ids=None if ids is None else int(ids, 16))
    except (OSError, ValueError, KeyError, TypeError):
        raise InputError(f"{side} is not a side file written by storyfilter; cannot resume from it") from None
    size = out.stat().st_size if out.exists() else 0
    if position.size > size or position.documents < 0:
        raise InputError(
            f"{side} says {out} holds {position.size} bytes, but it holds {size}: cannot resume "
            f"(the output was cut or replaced since); run again without --resume to start over"
        )
    if size > position.size:  # records written after the side file was (a kill between the two): redone
        with open(out, "r+b") as handle:
            handle.truncate(position.size)
            handle.flush()
            os.fsync(handle.fileno())
    errors = 0
    if out.exists():
        with open(out, "rb") as handle:
            for number, line in enumerate(handle, 1):
                if not line.isspace():
                    errors += _record_head(line, out, number)[1]
    return FirstDocuments(position.documents, size - position.size, position.ids, side, errors)


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
            doc_id, failed = _record_head(line, path, number)
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


def _record_head(line: bytes, path: Path, number: int) -> tuple[object, bool]:
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
        _refuse_another_run(f"{path}'s records were written", written[0], model_id, segments)


def check_same_filter_run(out: Path, model_id: str, segments: bool, selection: dict | None = None) -> None:
    """Refuse to resume ``filter`` into ``out`` when its side file says another model, or segments, wrote it,
    or that it kept by other topics or another ``min_score`` (``selection``, as :class:`Position` holds it).

    ``filter`` passes records of ``label`` through as they are (their model,
    their segments or none): its output's records cannot tell how the run
    was made, and its side file does.

    Raises
    ------
    InputError
        Naming what the interrupted run wrote with and what this run would.
    """
    try:
        saved = json.loads(side_file(Path(out)).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # none (resumed by ids), or not ours: prepare_position_resume says so
    if not isinstance(saved, dict):
        return
    if "model" in saved:
        _refuse_another_run(f"{out} was written", (saved["model"], bool(saved.get("segments"))), model_id, segments)
    if selection is not None and "topics" in saved:
        before = {key: saved.get(key) for key in selection}
        if before != selection:
            raise InputError(
                f"--resume: {out} kept the documents of {_selection_said(before)}; this run would keep those of "
                f"{_selection_said(selection)}, and the file would mix the two. Resume with the same --topic and "
                "--min-score as the first run, or write to a new file"
            )


def _selection_said(selection: dict) -> str:
    topics = ", ".join(selection.get("topics") or [])
    score = selection.get("min_score")
    return f"{topics} " + ("(by their tags)" if score is None else f"(at a score of {score} or more)")


def _refuse_another_run(what: str, before: tuple, model_id: str, segments: bool) -> None:
    if before == (model_id, segments):
        return

    def said(model: object, with_segments: bool) -> str:
        return f"{model} {'with' if with_segments else 'without'} segments"

    raise InputError(
        f"--resume: {what} by {said(*before)}; this run would write {said(model_id, segments)}, and the file "
        "would mix the two. Resume with the first run's --model, and with --no-segments only if it had it, "
        "or write to a new file"
    )
