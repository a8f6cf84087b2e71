"""Finding the documents of the inputs: paths, directories, standard input; checked and counted.

Inputs are paths: text files, HTML files, JSONL and JSON files, WARCs
(each also gzipped), directories (searched recursively for those), or
``-`` for standard input.
Reading is lazy: documents are yielded one at a time, so a run over
millions of pages holds only the current chunk in memory. Anything that
cannot be read becomes a :class:`~classifier.records.FailedDocument` in
its place rather than an exception.
"""

from __future__ import annotations

import os
import stat
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

from ..errors import InputError
from ..records import Document, FailedDocument, LabeledDocument
from .decoding import READ_ERRORS
from .formats import InputFormat, base_suffix, format_of, is_input_file, unread_message
from .readers import count_lines, document_id, is_empty_gzip, read_bytes, read_json, read_path
from .stdin import read_stream
from .warc import SkippedRecords, count_pages


def check_inputs(inputs: Sequence[str], fmt: InputFormat = InputFormat.AUTO) -> None:
    """Fail early, before any output is written, on paths that do not exist or are of no format we read.

    Raises
    ------
    InputError
        Naming the first missing or unreadable path, or the first file named
        whose suffix is not one we read (without ``fmt``), with the formats
        we read.
    """
    for name in inputs:
        if name == "-":
            continue
        path = Path(name)
        if not path.exists():
            raise InputError(f"input not found: {name}")
        if path.is_dir():
            try:
                next(iter(path.iterdir()), None)
            except PermissionError:
                raise InputError(f"input directory cannot be read: {name}") from None
        elif not _readable(path):
            raise InputError(f"input file cannot be read: {name}")
        elif format_of(path, fmt) is None:
            raise InputError(unread_message(name))


def check_output(out: Path | None, inputs: Sequence[str]) -> None:
    """Fail early when the records would be written over an input, or where a directory input would read them back.

    Raises
    ------
    InputError
        When ``out`` is one of the input files, or a file of a kind inputs are read from inside an input directory
        (its listing would take the records being written for pages), or ends in ``.gz`` (it is not gzipped).
    """
    if out is None or str(out) == "-":
        return
    if Path(out).suffix.lower() == ".gz":  # read back as gzip by every command, but written as it is
        raise InputError(
            f"the output {out} would be plain JSONL under a .gz name, which storyfilter reads as gzip: "
            "give a name without .gz, or write to standard output and pipe it through gzip"
        )
    target = Path(out).resolve()
    for name in inputs:
        if name == "-":
            continue
        path = Path(name).resolve()
        if target.exists() and os.path.samefile(path, target):  # (the inputs exist: check_inputs)
            raise InputError(f"the output {out} is also an input: the records would be written over it")
        if path.is_dir() and target.is_relative_to(path) and is_input_file(target):
            raise InputError(
                f"the output {out} is inside the input directory {name}, which would read it back as pages: "
                "write it elsewhere"
            )


def _readable(path: Path) -> bool:
    try:
        with open(path, "rb"):
            return True
    except OSError:
        return False


class PassedOver(Counter):
    """Entries of input directories not read, by kind: ``hidden`` (a name starting with a dot, file or
    directory) or the file's suffix (``.php``, ``no suffix``)."""

    def describe(self) -> str:
        """``3 files or folders in input directories passed over (2 hidden, 1 .php)``, or "" when none were
        (a hidden folder counts once, whatever it holds)."""
        total = sum(self.values())
        if not total:
            return ""
        kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(self.items(), key=lambda kv: (-kv[1], kv[0])))
        return f"{total} file{'s' if total != 1 else ''} or folder{'s' if total != 1 else ''} in input directories passed over ({kinds})"


def iter_documents(
    inputs: Sequence[str],
    fmt: InputFormat = InputFormat.AUTO,
    skipped: SkippedRecords | None = None,
    max_chars: int | None = None,
    passed_over: PassedOver | None = None,
) -> Iterator[Document | LabeledDocument | FailedDocument]:
    """Every document of every input, in order, lazily; WARC records that are not pages counted in ``skipped``,
    entries of input directories not read in ``passed_over``.

    A text or HTML file that cannot be within ``max_chars`` characters is
    not read whole, nor is a JSONL line (see :func:`~classifier.inputs.readers.read_path`).
    """
    for name in inputs:
        if name == "-":
            yield from read_stream(sys.stdin.buffer, "-", fmt, skipped, max_chars)
            continue
        path = Path(name)
        if path.is_dir():
            for file in input_files(path, passed_over):
                if isinstance(file, UnlistedDirectory):
                    message = f"{file.path}: cannot list this directory ({file.reason}): its pages are not labelled"
                    yield FailedDocument(document_id(file.path, path), "InputError", message)
                    continue
                yield from read_path(file, fmt, id_root=path, skipped=skipped, max_chars=max_chars)
        else:
            yield from read_path(path, fmt, skipped=skipped, max_chars=max_chars)


class UnlistedDirectory(NamedTuple):
    """A directory under an input whose listing could not be read: its pages cannot be labelled."""

    path: Path
    reason: str


def input_files(directory: Path, passed_over: PassedOver | None = None) -> Iterator[Path | UnlistedDirectory]:
    """The files to label under ``directory``, in sorted path order, found lazily.

    One directory's listing is held at a time (not the whole tree), so a
    tree of millions of pages starts at once and in little memory. A
    subdirectory that cannot be listed (no permission) comes as an
    :class:`UnlistedDirectory` in its place, for its error record. Hidden
    entries (``.git/``, ``.DS_Store``: a name starting with a dot) and files
    of a kind not read are passed over, and counted in ``passed_over``.
    """
    try:
        with os.scandir(directory) as entries:
            # Symlinked directories are not followed (as rglob does not): a link
            # to an ancestor would otherwise list the same files again and again.
            listing = sorted((entry.name, entry.is_dir(follow_symlinks=False)) for entry in entries)
    except OSError as error:
        yield UnlistedDirectory(directory, error.strerror or str(error))
        return
    for name, is_dir in listing:
        path = directory / name
        if name.startswith("."):
            _count(passed_over, "hidden")
        elif is_dir:
            yield from input_files(path, passed_over)
        elif is_input_file(path) and (path.is_file() or (path.is_symlink() and not path.exists())):
            yield path  # a link to nothing is a page that cannot be read: its error record says so
        elif path.is_symlink() and path.is_dir():
            _count(passed_over, "linked folder")  # not followed
        elif is_input_file(path):  # a page's name on a pipe, a socket, a device
            _count(passed_over, "not a regular file")
        else:
            _count(passed_over, base_suffix(path) or path.suffix.lower() or "no suffix")  # (page.php.gz is .php)


def _count(passed_over: PassedOver | None, kind: str) -> None:
    if passed_over is not None:
        passed_over[kind] += 1


def count_documents(inputs: Sequence[str], fmt: InputFormat = InputFormat.AUTO) -> int | None:
    """How many documents the inputs hold, or None when that cannot be known ahead.

    A text or HTML file is one document; a JSONL file is counted by its
    lines (gzipped ones are decompressed to count), a JSON file by its
    items, a WARC by its HTML responses (each read through). For progress displays:
    a JSONL file's blank lines do not count, as they are no documents. Standard input
    and anything that is not a regular file (a pipe, a FIFO) cannot be read
    twice, so they make the total unknown.
    """
    total = 0
    for name in inputs:
        if name == "-":
            return None
        path = Path(name)
        if not path.is_dir() and not _is_regular(path):
            return None
        for file in input_files(path) if path.is_dir() else [path]:
            total += 1 if isinstance(file, UnlistedDirectory) else _count_file(file, format_of(file, fmt))
    return total


def _count_file(file: Path, kind: InputFormat | None) -> int:
    """Documents in one file, for the progress total; an unreadable file counts one (its error record)."""
    try:
        if kind is InputFormat.JSONL:
            return count_lines(file)
        if kind is InputFormat.WARC and not is_empty_gzip(file):  # (an empty one is an error record)
            with open(file, "rb") as handle:
                return count_pages(handle)
        if kind is InputFormat.JSON:
            return sum(1 for _ in read_json(read_bytes(file), str(file), ""))
    except (*READ_ERRORS, InputError):
        pass
    return 1


def _is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False
