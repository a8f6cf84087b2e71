"""The cache folder: arrays made once, read back the same, never needed."""

import os
import time

import numpy as np

from classifier.cache import STALE_SECONDS, cached_arrays


def test_arrays_are_made_once_then_read_back_the_same(tmp_path, monkeypatch):
    monkeypatch.setenv("STORYFILTER_CACHE", str(tmp_path))
    made = []

    def make():
        made.append(1)
        return {"a": np.arange(5, dtype=np.uint16), "b": np.ones((2, 3))}

    first = cached_arrays("tables", "v1", make)
    second = cached_arrays("tables", "v1", make)
    assert len(made) == 1
    assert np.array_equal(first["a"], second["a"]) and second["a"].dtype == np.uint16
    assert np.array_equal(second["b"], np.ones((2, 3)))


def test_a_new_version_replaces_old_ones_once_they_are_unused(tmp_path, monkeypatch):
    monkeypatch.setenv("STORYFILTER_CACHE", str(tmp_path))
    cached_arrays("tables", "v0", lambda: {"a": np.zeros(1)})
    cached_arrays("tables", "v1", lambda: {"a": np.zeros(1)})
    a_week_ago = time.time() - STALE_SECONDS - 60
    os.utime(tmp_path / "tables-v0", (a_week_ago, a_week_ago))
    cached_arrays("tables", "v2", lambda: {"a": np.ones(1)})
    # v1 was read lately (another install may use it: installs side by side share the cache); v0 was not.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tables-v1", "tables-v2"]
    assert cached_arrays("tables", "v2", lambda: {"a": np.zeros(1)})["a"][0] == 1


def test_a_cache_that_cannot_be_written_is_not_needed(tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("STORYFILTER_CACHE", str(blocked / "cache"))
    assert cached_arrays("tables", "v1", lambda: {"a": np.arange(3)})["a"].tolist() == [0, 1, 2]
