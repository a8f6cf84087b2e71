"""Model files that run no code: a crafted file is refused unrun; older pickled bundles load only when asked."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import shutil
import zlib
from collections import OrderedDict
from pathlib import Path

import pytest
from typer.testing import CliRunner

from classifier.cli.app import app
from classifier.errors import ModelError
from classifier.model import unpickling
from classifier.model.bundle import BUNDLE_FORMAT, PICKLE_FORMAT, card_path, read_bundle
from classifier.model.model import load_model

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


class _Touch:
    """Unpickled, it creates ``marker``: what a hostile model file would do instead."""

    def __init__(self, marker: Path, how: str) -> None:
        self.marker, self.how = marker, how

    def __reduce__(self):
        if self.how == "shell":
            return os.system, (f"touch {self.marker}",)
        return Path.touch, (self.marker,)


def _bundle_beside(source: Path, target: Path, data: bytes, bundle_format: int) -> Path:
    """``data`` written at ``target`` with the card of ``source``, its sha256 made to match (as an attacker would)."""
    target.write_bytes(data)
    card = json.loads(card_path(source).read_text())
    card.update(sha256=hashlib.sha256(data).hexdigest(), bundle_format=bundle_format, file=target.name)
    card_path(target).write_text(json.dumps(card))
    return target


def _payload(path: Path) -> dict:
    payload, _ = read_bundle(path)
    return payload


@pytest.mark.parametrize("how", ["shell", "method"])
@pytest.mark.parametrize("wrapping", ["model file", "plain pickle", "pickle with an old card"])
def test_a_model_file_crafted_to_run_code_is_refused_and_runs_nothing(tiny_model_path, tmp_path, how, wrapping):
    marker = tmp_path / "ran"
    hostile = {**_payload(tiny_model_path), "topic_thresholds": _Touch(marker, how)}
    if wrapping == "model file":
        data, bundle_format = unpickling.MAGIC + zlib.compress(pickle.dumps(hostile, protocol=5)), BUNDLE_FORMAT
    else:
        data = pickle.dumps(hostile, protocol=5)
        bundle_format = BUNDLE_FORMAT if wrapping == "plain pickle" else PICKLE_FORMAT
    path = _bundle_beside(tiny_model_path, tmp_path / "hostile.model", data, bundle_format)
    with pytest.raises(ModelError) as refused:
        load_model(path)
    assert not marker.exists()
    if wrapping == "model file":
        assert "system" in str(refused.value) or "Path.touch" in str(refused.value)
        assert "refused without running it" in str(refused.value)
    else:
        assert "convert" in str(refused.value) and "runs any code" in str(refused.value)
    result = CliRunner().invoke(app, ["label", str(EXAMPLES / "harbour.txt"), "--model", str(path)])
    assert result.exit_code == 3 and not marker.exists()


def test_the_loader_names_only_types_a_model_is_made_of(tiny_model_path):
    names = set()

    class Recording(pickle.Unpickler):
        def find_class(self, module, name):
            names.add((module, name))
            return super().find_class(module, name)

    data = tiny_model_path.read_bytes()
    Recording(__import__("io").BytesIO(zlib.decompress(data[len(unpickling.MAGIC) :]))).load()
    assert names and all(
        name in unpickling.ALLOWED.get(module, ()) or (module, name) in unpickling._STAND_INS for module, name in names
    )
    assert not any(module in ("builtins", "os", "posix", "subprocess", "pathlib") for module in unpickling.ALLOWED)


def test_saving_a_model_the_loader_would_refuse_fails_and_writes_nothing(tiny_model, tmp_path):
    original = tiny_model.topic_thresholds
    tiny_model.topic_thresholds = OrderedDict(original)
    try:
        with pytest.raises(ModelError, match=r"collections\.OrderedDict"):
            tiny_model.save(tmp_path / "odd.model")
    finally:
        tiny_model.topic_thresholds = original
    assert list(tmp_path.iterdir()) == []


def test_an_older_pickled_bundle_loads_when_asked_and_converts(tiny_model_path, tmp_path):
    import joblib

    old = tmp_path / "old.joblib"
    joblib.dump({**_payload(tiny_model_path), "format": PICKLE_FORMAT}, old, compress=("zlib", 6))
    _bundle_beside(tiny_model_path, old, old.read_bytes(), PICKLE_FORMAT)

    with pytest.raises(ModelError, match="storyfilter convert"):
        load_model(old)
    text = (EXAMPLES / "harbour.txt").read_text(encoding="utf-8")
    expected = load_model(tiny_model_path).label(text, id="h").to_record()
    assert load_model(old, allow_pickle=True).label(text, id="h").to_record() == expected

    new = tmp_path / "new.model"
    result = CliRunner().invoke(app, ["convert", str(old), "--out", str(new)])
    assert result.exit_code == 0, result.output
    assert load_model(new).label(text, id="h").to_record() == expected
    card = json.loads(card_path(new).read_text())
    assert card["bundle_format"] == BUNDLE_FORMAT and card["converted_from"]["bundle_format"] == PICKLE_FORMAT
    assert card["converted_from"]["sha256"] == hashlib.sha256(old.read_bytes()).hexdigest()

    again = CliRunner().invoke(app, ["convert", str(old), "--out", str(new)])
    assert again.exit_code != 0 and "--force" in again.output
    wrong = CliRunner().invoke(app, ["convert", str(old), "--out", str(tmp_path / "x.joblib")])
    assert wrong.exit_code != 0 and ".model" in wrong.output
    current = CliRunner().invoke(app, ["convert", str(new), "--out", str(tmp_path / "again.model")])
    assert current.exit_code == 2 and "of today's format already" in current.output
    assert not (tmp_path / "again.model").exists()


def test_the_card_or_the_name_without_its_suffix_points_to_the_model_file(tiny_model_path):
    with pytest.raises(
        ModelError, match=re.escape(f"is the model card: give the model file beside it, {tiny_model_path}")
    ):
        load_model(card_path(tiny_model_path))
    bare = tiny_model_path.with_suffix("")
    with pytest.raises(ModelError, match=re.escape(f"model file not found: {bare} (did you mean {tiny_model_path}?)")):
        load_model(bare)


def test_a_damaged_model_file_is_a_model_error(tiny_model_path, tmp_path):
    path = tmp_path / "cut.model"
    shutil.copy(card_path(tiny_model_path), card_path(path))
    data = tiny_model_path.read_bytes()
    _bundle_beside(tiny_model_path, path, data[: len(data) // 2], BUNDLE_FORMAT)
    with pytest.raises(ModelError, match="cannot load"):
        load_model(path)


def test_a_model_file_that_would_unpack_to_far_more_than_its_size_is_refused_unread(
    tiny_model_path, tmp_path, monkeypatch
):
    from classifier import modelfile

    monkeypatch.setattr(modelfile, "MAX_UNPACKED", 2**20)  # 1 MiB (1 GiB in use): the same rule, a smaller test
    bomb = unpickling.MAGIC + zlib.compress(pickle.dumps(b"\0" * 50_000_000), 9)  # ~50 KB for 50 MB
    assert len(bomb) < 100_000
    with pytest.raises(ValueError, match="unpacks to more than"):
        unpickling.loads(bomb)
    path = tmp_path / "bomb.model"
    shutil.copy(card_path(tiny_model_path), card_path(path))
    _bundle_beside(tiny_model_path, path, bomb, BUNDLE_FORMAT)
    with pytest.raises(ModelError, match="unpacks to more than"):
        load_model(path)
    assert unpickling.loads(unpickling.dumps({"a": 1})) == {"a": 1}  # a model's own ratio passes


class _ObjectsFromBytes:
    """Unpickled, it would call numpy.ndarray to make an array of objects whose pointers are the file's bytes."""

    def __reduce__(self):
        import numpy

        return numpy.ndarray, ((1,), numpy.dtype("O"), b"AAAAAAAA")


def _model_file(payload_pickle: bytes) -> bytes:
    return unpickling.MAGIC + zlib.compress(payload_pickle)


def test_numpy_arrays_are_built_only_as_numpy_pickles_them():
    with pytest.raises(unpickling.UnknownTypeError, match="ndarray"):
        unpickling.loads(_model_file(pickle.dumps({"x": _ObjectsFromBytes()}, protocol=5)))
    import numpy

    objects = numpy.array([{"a": 1}, "b", None], dtype=object)  # pickled through _reconstruct
    numbers = numpy.arange(6.0).reshape(2, 3)[:, ::2]  # not contiguous: _reconstruct too
    back = unpickling.loads(unpickling.dumps({"objects": objects, "numbers": numbers}))
    assert list(back["objects"]) == list(objects) and (back["numbers"] == numbers).all()


def test_a_model_file_cannot_give_state_to_a_class():
    from sklearn._loss.link import LogitLink

    before = LogitLink.inverse
    # GLOBAL LogitLink, state (None, {"inverse": 1}), BUILD: setattr(LogitLink, "inverse", 1) if allowed.
    crafted = b"\x80\x04csklearn._loss.link\nLogitLink\nN}\x8c\x07inverse\x94K\x01s\x86b."
    with pytest.raises(unpickling.UnknownTypeError, match="LogitLink"):
        unpickling.loads(_model_file(crafted))
    assert LogitLink.inverse is before


def _copy_bundle(source: Path, folder: Path) -> Path:
    target = folder / source.name
    shutil.copyfile(source, target)
    shutil.copyfile(card_path(source), card_path(target))
    return target


def test_a_model_read_ahead_is_the_model_read_as_usual_and_is_taken_once(tiny_model_path, tmp_path):
    from classifier import modelfile

    path = _copy_bundle(tiny_model_path, tmp_path)
    modelfile.read_ahead(str(path))
    ahead = modelfile.take(path)
    assert ahead is not None and ahead.data == path.read_bytes() and ahead.inner is not None
    assert modelfile.take(path) is None  # taken once
    page = (EXAMPLES / "harbour.txt").read_text(encoding="utf-8")
    modelfile.read_ahead(path)
    read_ahead = load_model(path).label(page, id="x")
    assert not modelfile._pending  # the loader took it
    assert load_model(path).label(page, id="x") == read_ahead


def test_a_model_file_replaced_after_it_was_read_ahead_is_read_again(tiny_model_path, tmp_path):
    from classifier import modelfile

    path = _copy_bundle(tiny_model_path, tmp_path)
    modelfile.read_ahead(path)
    modelfile._pending[1].join()
    stat = path.stat()
    other = tmp_path / "other.model"
    data = bytearray(path.read_bytes())
    data[-1] ^= 1  # the same size, another file
    other.write_bytes(bytes(data))
    os.utime(other, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    os.replace(other, path)
    assert modelfile.take(path) is None
    with pytest.raises(ModelError, match="does not match its card"):
        read_bundle(path)


@pytest.mark.parametrize("case", ["missing", "fifo", "card of another file", "damaged"])
def test_a_model_file_read_ahead_fails_as_when_read_as_usual(tiny_model_path, tmp_path, case):
    from classifier import modelfile

    path = tmp_path / "bad.model"
    if case == "fifo":
        os.mkfifo(path)  # a read-ahead must not wait on it
    elif case == "card of another file":
        _copy_bundle(tiny_model_path, tmp_path).rename(path)
        shutil.copyfile(card_path(tiny_model_path), card_path(path))
        path.write_bytes(path.read_bytes() + b"\0")
    elif case == "damaged":
        _bundle_beside(tiny_model_path, path, unpickling.MAGIC + zlib.compress(b"not a pickle")[:-3], BUNDLE_FORMAT)
    with pytest.raises(ModelError) as usual:
        read_bundle(path)
    modelfile.read_ahead(path)
    with pytest.raises(ModelError) as ahead:
        read_bundle(path)
    assert str(ahead.value) == str(usual.value)


def test_reading_a_model_ahead_imports_no_numpy_scipy_or_scikit_learn():
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from classifier import modelfile\n"
        "modelfile.read_ahead()\n"
        "print(modelfile.take(modelfile.default_model_path()) is not None)\n"
        "print(sorted(m for m in ('sklearn', 'numpy', 'scipy', 'joblib', 'classifier.model') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and not result.stderr
    assert result.stdout.splitlines() == ["True", "[]"]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda card: card["topic_thresholds"].update({next(iter(card["topic_thresholds"])): 0.999}),
            "topic_thresholds",
        ),
        (lambda card: card.update(version="seven"), "says version 'seven'"),
        (lambda card: card.update(story_threshold=0.9), "says story_threshold 0.9"),
        (lambda card: card.pop("sha256"), "holds no sha256"),
        (lambda card: card.pop("libraries"), "does not say which scikit-learn"),
        (lambda card: card.update(libraries="1.9"), "does not say which scikit-learn"),
    ],
)
def test_a_card_edited_by_hand_is_refused_rather_than_describing_another_model(
    tiny_model_path, tmp_path, edit, message
):
    path = _copy_bundle(tiny_model_path, tmp_path)
    card = json.loads(card_path(path).read_text(encoding="utf-8"))
    edit(card)
    card_path(path).write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(ModelError, match=message):
        load_model(path)


def test_settings_changed_on_a_loaded_model_are_saved_with_a_card_that_agrees(tiny_model_path, tmp_path):
    model = load_model(tiny_model_path)
    tag = next(iter(model.topic_thresholds))
    model.topic_thresholds = {**model.topic_thresholds, tag: 0.77}
    model.name = "strict"
    path = model.save(tmp_path / "strict.model")
    saved = load_model(path)
    assert saved.topic_thresholds[tag] == 0.77 and saved.model_id == f"strict@{model.version}"
    assert json.loads(card_path(path).read_text(encoding="utf-8"))["topic_thresholds"][tag] == 0.77
