"""A model file's bytes: where the shipped one is, its format's marks, unpacking it, and reading it ahead.

Nothing here imports numpy or scikit-learn, so the command line can start
reading a model before it imports the modules that label. A one-page run
spends about 0.6 s importing those, on one core, and then 0.17 s loading
the model, of which reading the file, hashing it and unpacking its
compression (about 0.1 s) needs none of them and lets other threads run
(hashlib and zlib release the interpreter lock on large buffers).
:func:`read_ahead` does that part in a thread; the loader
(:func:`classifier.model.bundle.read_bundle`) takes what it read with
:func:`take` when it is the same file, unchanged, and else reads the file
itself. Every check (the card, the hash, the closed list of types) runs in
the loader, on what was read, as it does without a read-ahead.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path

# The first bytes of a model file (bundle format 3); then a zlib-compressed pickle.
MAGIC = b"storyfilter model\n"
# The most a model file's pickle may unpack to: 1 GiB, or 32 times the compressed size when that
# is more. A model's is about 21 MB whatever it was trained on (its arrays have fixed widths),
# 1.9 times the file for the shipped one; a little-trained model's mostly-zero arrays compress
# further. More is a decompression bomb: a small file that would take the loading process's memory.
MAX_UNPACKED = 2**30
MAX_EXPANSION = 32
SUFFIX = ".model"


def default_model_path() -> Path:
    """Where the shipped model is: ``$STORYFILTER_MODEL``, the source tree, or the install prefix."""
    configured = os.environ.get("STORYFILTER_MODEL")
    if configured:
        return Path(configured)
    candidates = [
        Path(__file__).resolve().parents[1] / "models" / f"default{SUFFIX}",
        Path(sys.prefix) / "share" / "storyfilter" / "models" / f"default{SUFFIX}",
    ]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return candidates[0]


def is_model_file(head: bytes) -> bool:
    """Whether a file starting with ``head`` is in this format."""
    return head.startswith(MAGIC)


def unpack(data: bytes) -> bytes:
    """The pickle inside a model file's bytes.

    Raises
    ------
    ValueError
        When the bytes are not a model file (no :data:`MAGIC`), the
        compression is damaged, or it unpacks to more than the cap.
    """
    if not data.startswith(MAGIC):
        raise ValueError("not a storyfilter model file")
    body = memoryview(data)[len(MAGIC) :]
    cap = max(MAX_UNPACKED, MAX_EXPANSION * len(body))
    unpacker = zlib.decompressobj()
    try:
        inner = unpacker.decompress(body, cap)
    except zlib.error as error:
        raise ValueError(f"damaged compression ({error})") from None
    if unpacker.unconsumed_tail:
        raise ValueError(
            f"the compressed pickle unpacks to more than {cap:,} bytes (a model's to about 21 MB): refused unread"
        )
    if not unpacker.eof:
        raise ValueError("damaged compression (the data ends early)")
    return inner


@dataclass
class ReadAhead:
    """A model file as read ahead: its bytes, their sha256, and its pickle (or why it would not unpack)."""

    data: bytes
    sha256: str
    inner: bytes | None
    unpack_error: ValueError | None


_lock = threading.Lock()
_pending: dict[Path, tuple[tuple[int, int], threading.Thread, list[ReadAhead]]] = {}


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


def read_ahead(path: Path | None = None) -> None:
    """Start reading the model file at ``path`` (the shipped one by default) in a thread; nothing if unreadable."""
    path = Path(path) if path is not None else default_model_path()
    stamp = _stamp(path)
    if stamp is None:
        return  # the loader says what is wrong with it
    found: list[ReadAhead] = []

    def read() -> None:
        try:
            data = path.read_bytes()
        except OSError:
            return
        digest = hashlib.sha256(data).hexdigest()
        inner, error = None, None
        if is_model_file(data):
            try:
                inner = unpack(data)
            except ValueError as why:
                error = why
        found.append(ReadAhead(data, digest, inner, error))

    thread = threading.Thread(target=read, name="storyfilter-model-read-ahead", daemon=True)
    with _lock:
        _pending[path.resolve()] = (stamp, thread, found)
    thread.start()


def take(path: Path) -> ReadAhead | None:
    """What :func:`read_ahead` read of ``path``, if it did and the file has not changed since; once."""
    with _lock:
        pending = _pending.pop(Path(path).resolve(), None)
    if pending is None:
        return None
    stamp, thread, found = pending
    thread.join()
    if not found or _stamp(Path(path)) != stamp:
        return None
    return found[0]
