"""The user's cache folder: what is slow to make and the same every time, made once and kept.

Tables of character classes (built from Python's Unicode database) and the
language identifier's arrays (shipped compressed) take a good part of a
second to make; a process that labels one page would spend most of its
time on them. They are kept as plain ``.npy`` files under
``$STORYFILTER_CACHE`` (else ``$XDG_CACHE_HOME/storyfilter`` or
``~/.cache/storyfilter``), in a folder named after what they were made
from, and read back mapped into memory. Where the cache cannot be written,
they are made again each time: the cache is never needed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

# A cached version no process has read for this long (a week) is removed when another version is written.
STALE_SECONDS = 7 * 24 * 3600


def _mark_used(folder: Path) -> None:
    """Set the folder's time to now, at most once an hour: the cache's record of which versions are in use."""
    try:
        if time.time() - folder.stat().st_mtime > 3600:
            os.utime(folder)
    except OSError:  # a read-only cache: nothing is removed from it either
        pass


def cache_folder() -> Path:
    """The cache folder: ``$STORYFILTER_CACHE``, else ``$XDG_CACHE_HOME/storyfilter`` or ``~/.cache/storyfilter``."""
    base = os.environ.get("STORYFILTER_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "storyfilter"
    )
    return Path(base)


def cached_arrays(family: str, version: str, make: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The arrays ``make`` returns, kept in the cache folder as ``FAMILY-VERSION`` (the version says what they depend on).

    Read back mapped into memory (read-only). Written to a temporary folder
    and renamed, so that processes starting together never read a
    half-written one. ``version`` must not depend on where storyfilter is
    installed: installs side by side (two virtual environments) share the
    cache. Once written, the family's other versions that no process has
    read for :data:`STALE_SECONDS` are removed (each read marks its folder).
    """
    name = f"{family}-{version}"
    folder = cache_folder() / name
    try:
        files = sorted(folder.glob("*.npy"))
        if files and (folder / "complete").is_file():
            _mark_used(folder)
            # Plain arrays over the mapped file: a memmap's own indexing costs a Python call each time.
            return {path.stem: np.load(path, mmap_mode="r", allow_pickle=False).view(np.ndarray) for path in files}
    except (OSError, ValueError):
        pass  # unreadable: make them again
    arrays = make()
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=folder.parent))
        for key, array in arrays.items():
            np.save(scratch / f"{key}.npy", np.ascontiguousarray(array), allow_pickle=False)
        (scratch / "complete").touch()
        try:
            scratch.rename(folder)
        except OSError:  # another process got there first (or an old one is in the way)
            shutil.rmtree(scratch, ignore_errors=True)
        for other in folder.parent.glob(f"{family}-*"):
            if other != folder and time.time() - other.stat().st_mtime > STALE_SECONDS:
                shutil.rmtree(other, ignore_errors=True)
    except OSError:
        pass  # a read-only home: no cache, no harm
    return arrays
