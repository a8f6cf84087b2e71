"""Finishing an interrupted ``filter``: by position, from the side file beside its output.

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
skipped by count. (``label`` resumes by the ids its output holds:
:mod:`classifier.run.resume`.)
"""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from .resume import id_key, record_head, refuse_another_run

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
                    errors += record_head(line, out, number)[1]
    return FirstDocuments(position.documents, size - position.size, position.ids, side, errors)


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
        refuse_another_run(f"{out} was written", (saved["model"], bool(saved.get("segments"))), model_id, segments)
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
