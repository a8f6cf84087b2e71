"""A model file's bytes: where the shipped one is, its format's marks, unpacking it, and reading it ahead.

Nothing here imports numpy or scikit-learn, so the command line can start
reading a model before it imports the modules that label. A one-page run
spends about 0.6 s importing those, on one core, and then 0.17 s loading
the model, of which reading the file, hashing it and unpacking its
compression (about 0.1 s) needs none of them and lets other threads run
(hashlib and zlib release the interpreter lock on large buffers).
:func:`read_ahead` does that part in a thread, for a regular file only,
and unpacks the file only when the card beside it gives the sha256 it
read. The loader (:func:`classifier.model.bundle.read_bundle`) takes what
was read with :func:`take` when the file at that path is still the one
read (same device, inode, size and times), and else reads it itself; it
then checks the card, the hash, the format and the library versions, and
unpickles with its closed list of types, as it does without a read-ahead.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG

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


def card_path(path: Path) -> Path:
    """The model card beside a bundle: ``NAME.json`` for ``NAME.model``."""
    return Path(path).with_suffix(".json")


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
    """A model file as read ahead: its bytes, their sha256, and its pickle when the card beside it vouched for them.

    ``inner`` is None when the file was not unpacked (its card missing, unreadable or of another
    sha256: the loader then says what is wrong), and ``unpack_error`` says why it would not unpack.
    ``identity`` is the file's when it was read (:func:`_identity`).
    """

    data: bytes
    sha256: str
    inner: bytes | None
    unpack_error: str | None
    identity: tuple


# The one read-ahead in hand: the file's resolved path, the thread reading it, and what it read (once it has).
_lock = threading.Lock()
_pending: tuple[Path, threading.Thread, list[ReadAhead]] | None = None


def _identity(stat: os.stat_result) -> tuple:
    """What tells a file from its replacement: device, inode, size, modification and change times."""
    return stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns


def _read(path: Path, found: list[ReadAhead]) -> None:
    """Read the regular file at ``path``, hash it, and unpack it if its card gives that hash; anything amiss, nothing."""
    try:
        with open(path, "rb") as handle:
            stat = os.fstat(handle.fileno())
            if not S_ISREG(stat.st_mode):
                return
            data = handle.read()
        digest = hashlib.sha256(data).hexdigest()
        inner, error = None, None
        try:
            card = json.loads(card_path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            card = None
        if isinstance(card, dict) and card.get("sha256") == digest and is_model_file(data):
            try:
                inner = unpack(data)
            except ValueError as why:
                error = str(why)
        found.append(ReadAhead(data, digest, inner, error, _identity(stat)))
    except Exception:  # noqa: BLE001 - a read-ahead that fails is no read-ahead: the loader reads and says why
        return


def read_ahead(path: Path | None = None) -> None:
    """Start reading the model file at ``path`` (the shipped one by default) in a thread, if it is a regular file.

    Only the latest read-ahead is kept: the loader takes it (:func:`take`) or it is dropped by the next.
    """
    global _pending
    try:
        resolved = (Path(path) if path is not None else default_model_path()).resolve()
        if not S_ISREG(resolved.stat().st_mode):
            return
    except (OSError, RuntimeError, ValueError):
        return  # the loader says what is wrong with it
    found: list[ReadAhead] = []
    thread = threading.Thread(target=_read, args=(resolved, found), name="storyfilter-model-read-ahead", daemon=True)
    try:
        thread.start()
    except RuntimeError:  # no thread to be had: the loader reads as usual
        return
    with _lock:
        _pending = (resolved, thread, found)


def take(path: Path) -> ReadAhead | None:
    """What :func:`read_ahead` read of ``path``, if it did and the file there is still the one it read; once."""
    global _pending
    if _pending is None:
        return None
    try:
        resolved = Path(path).resolve()
        with _lock:
            if _pending is None or _pending[0] != resolved:
                return None
            _, thread, found = _pending
            _pending = None
        thread.join()
        if not found or _identity(resolved.stat()) != found[0].identity:
            return None
    except (OSError, RuntimeError, ValueError):
        return None
    return found[0]
