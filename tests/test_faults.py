"""Bad input and faults: each ends in a clear message or an error record in its place, never a traceback.

Cases already tested elsewhere: binary files and broken gzip files
(test_io), arbitrary bytes through the HTML decoder and offsets on arbitrary
markup (test_html), offsets on arbitrary text (test_segments), a changed
model file and another scikit-learn (test_bundle), signals then --resume
(test_scale).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from classifier.cli.app import app
from classifier.inputs.objects import document_from_record
from classifier.inputs.readers import read_path
from classifier.model.bundle import card_path
from classifier.records import Document, FailedDocument, LabeledDocument

from .conftest import EXAMPLES, write_jsonl

runner = CliRunner()


def label(*args: str):
    return runner.invoke(app, ["label", *args])


def records(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def one_clear_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


# Files -----------------------------------------------------------------------


def test_empty_files_give_a_record_without_segments(tiny_model_path, tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.txt").write_bytes(b"  \n\n\t\n")
    (tmp_path / "empty.html").write_bytes(b"")
    (tmp_path / "bare.html").write_bytes(b"<html><body><script>x()</script></body></html>")
    (tmp_path / "empty.txt.gz").write_bytes(gzip.compress(b""))
    (tmp_path / "nothing.jsonl").write_bytes(b"\n\n")  # a JSONL file of blank lines holds no documents
    result = label(str(tmp_path), "--model", str(tiny_model_path))
    assert result.exit_code == 0, result.output
    rows = records(result.stdout)
    assert [r["id"] for r in rows] == ["bare", "blank", "empty", "empty", "empty"]
    for row in rows:
        assert row["segments"] == [] and row["story"] == "" and row["tags"] == []


TEXT = "Le caf\u00e9 \u00e9tait ferm\u00e9 \u00e0 cause de la gr\u00e8ve des employ\u00e9s du port, \u00ab disait \u00bb le ma\u00eetre."
ASCII = "The harbour board met on Tuesday and voted to keep the night shift at the container quay."
CURLY = "\u201cWe will stay,\u201d the mayor said \u2013 and the caf\u00e9 \u00e9tait ferm\u00e9 all week \u2026"
RUSSIAN = "\u0417\u0430\u0431\u0430\u0441\u0442\u043e\u0432\u043a\u0430 \u0432 \u043f\u043e\u0440\u0442\u0443 " * 4
# Chinese, Japanese and Korean in UTF-16: NULs only at the ASCII characters, in both lanes (一 is U+4E00).
CHINESE = "市议会周二投票批准了一项新预算，增加了学校的支出，官员们说。2024年3月 (新华社)"
JAPANESE = "東京都は2024年3月、新しい予算案を発表した。Tanaka氏によると、学校への支出が増える。"
KOREAN = "서울시는 화요일 새 예산안을 승인했다. 학교 지원이 늘어난다고 2024년 3월 밝혔다."
HINDI = "\u092c\u0902\u0926\u0930\u0917\u093e\u0939 \u092e\u0947\u0902 \u0939\u0921\u093c\u0924\u093e\u0932 " * 4


@pytest.mark.parametrize(
    "name, raw, expected",
    [
        ("bom.txt", TEXT.encode("utf-8-sig"), TEXT),
        ("le.txt", TEXT.encode("utf-16"), TEXT),
        ("be.txt", b"\xfe\xff" + TEXT.encode("utf-16-be"), TEXT),
        ("le-no-bom.txt", TEXT.encode("utf-16-le"), TEXT),
        ("be-no-bom.txt", TEXT.encode("utf-16-be"), TEXT),
        ("ascii-le-no-bom.txt", ASCII.encode("utf-16-le"), ASCII),  # valid UTF-8 too, full of NULs
        ("ascii-be-no-bom.txt", ASCII.encode("utf-16-be"), ASCII),
        # valid UTF-8 too, of control characters (04 for Cyrillic, 09 for Devanagari) every other byte
        ("russian-le-no-bom.txt", RUSSIAN.strip().encode("utf-16-le"), RUSSIAN.strip()),
        ("hindi-be-no-bom.txt", HINDI.strip().encode("utf-16-be"), HINDI.strip()),
        ("chinese-le-no-bom.txt", CHINESE.encode("utf-16-le"), CHINESE),
        ("chinese-be-no-bom.txt", CHINESE.encode("utf-16-be"), CHINESE),
        ("japanese-le-no-bom.txt", JAPANESE.encode("utf-16-le"), JAPANESE),
        ("korean-le-no-bom.txt", KOREAN.encode("utf-16-le"), KOREAN),
        ("chinese-no-bom.html", f"<p>{CHINESE}</p>".encode("utf-16-le"), CHINESE),
        ("flipped.txt", TEXT.encode("utf-8").replace(b"\xc3\xa0", b"\xe0", 1), TEXT.replace("\u00e0", "\ufffd", 1)),
        ("latin.txt", TEXT.encode("latin-1"), TEXT),
        ("windows.txt", CURLY.encode("cp1252"), CURLY),
        ("latin.txt.gz", gzip.compress(TEXT.encode("latin-1")), TEXT),
        ("page.html", f"<p>{TEXT}</p>".encode("utf-16"), TEXT),
    ],
)
def test_text_in_common_encodings_is_decoded_and_labelled(tiny_model_path, tmp_path, name, raw, expected):
    path = tmp_path / name
    path.write_bytes(raw)
    result = label(str(path), "--model", str(tiny_model_path))
    assert result.exit_code == 0, result.output
    [row] = records(result.stdout)
    assert [s["text"] for s in row["segments"]] == [expected]


def test_a_gzipped_jsonl_cut_short_keeps_the_lines_before_the_cut(tiny_model_path, tmp_path):
    lines = b"".join(json.dumps({"id": f"d{i}", "text": f"Page {i} says hello."}).encode() + b"\n" for i in range(400))
    packed = gzip.compress(lines)
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(packed[: len(packed) * 2 // 3])
    result = label(str(path), "--model", str(tiny_model_path), "--no-segments")
    assert result.exit_code == 1
    rows = records(result.stdout)
    *good, last = rows
    assert good and [r["id"] for r in good] == [f"d{i}" for i in range(len(good))]
    assert last["error"]["type"] == "InputError" and f"cannot read past line {len(good)}" in last["error"]["message"]


# JSONL -------------------------------------------------------------------------


def test_every_bad_jsonl_line_has_its_error_record_in_place_and_the_run_goes_on(tiny_model_path, tmp_path):
    source = tmp_path / "dirty.jsonl"
    source.write_bytes(
        b'{"id": "ok", "text": "A first page."}\n'
        b'{"id": "cut", "text": "half a li\n'
        b'{"id": "none"}\n'
        b'{"id": "null", "text": null}\n'
        b'{"id": "number", "text": 42}\n'
        b'["not", "an", "object"]\n'
        b'{"text": "No id here."}\n'
        b'{"id": "twice", "text": "First copy."}\n'
        b'{"id": "twice", "text": "Second copy."}\n'
        b'{"id": "latin", "text": "Caf\xe9 cr\xe8me on the quay."}\n'
        b'{"id": "label-record", "model": "x@1", "story": "s", "topics": {"militia": "high"}}\n'
        b'{"id": "deep", "text": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"
        b'{"id": "huge", "text": "x", "n": ' + b"9" * 5000 + b"}\n"
        b'{"id": "last", "text": "The last page."}\n'
    )
    result = label(str(source), "--model", str(tiny_model_path))
    assert result.exit_code == 1 and "Traceback" not in result.output
    rows = records(result.stdout)
    where = str(source)
    assert [r["id"] for r in rows] == [
        "ok",
        f"{where}:2",
        "none",
        "null",
        "number",
        f"{where}:6",
        f"{where}:7",
        "twice",
        "twice",
        "latin",
        "label-record",
        f"{where}:12",
        f"{where}:13",
        "last",
    ]
    failed = {i: r["error"]["message"] for i, r in enumerate(rows) if "error" in r}
    assert sorted(failed) == [1, 2, 3, 4, 5, 10, 11, 12]
    for i, message in failed.items():
        assert f"{where}:{i + 1}" in message  # the line number is in every message
    assert "not valid JSON" in failed[1] and "'text' is null" in failed[3] and "must be a string" in failed[4]
    assert "'topics' must be an object of numbers" in failed[10]
    assert rows[5]["line"] == 6 and rows[1]["line"] == 2  # a line that is no object, as one that is not JSON
    assert [seg["text"] for seg in rows[9]["segments"]] == [
        "Caf\u00e9 cr\u00e8me on the quay."
    ]  # decoded as Latin-1, labelled
    assert "RecursionError" in failed[11]
    assert "a number of more than 4,300 digits" in failed[12] and "set_int_max_str_digits" not in failed[12]


def test_records_read_back_keep_what_they_were(tiny_model_path, tmp_path):
    source = tmp_path / "labelled.jsonl"
    source.write_text(
        '{"id": "e", "error": {"type": "WorkerError", "message": "the worker died"}, "feed": 3}\n'
        '{"model": "x@1", "story": "No id here.", "topics": {"militia": 0.9}, "tags": ["militia"]}\n'
        '{"id": "nan", "model": "x@1", "story": "s", "topics": {"militia": NaN}}\n'
    )
    result = runner.invoke(app, ["filter", str(source), "--topic", "militia", "--model", str(tiny_model_path)])
    rows = records(result.stdout)
    assert rows[0] == {"id": "e", "error": {"type": "WorkerError", "message": "the worker died"}, "feed": 3}
    assert rows[1]["id"] == f"{source}:2" and rows[1]["story"] == "No id here."
    assert rows[2]["error"]["type"] == "InputError" and "numbers" in rows[2]["error"]["message"]
    assert result.exit_code == 1


def test_fields_json_cannot_hold_give_an_error_record_not_a_broken_line(tiny_model_path, tmp_path):
    source = tmp_path / "odd.jsonl"
    source.write_text(
        '{"id": "nan", "text": "A page.", "score": NaN}\n'
        '{"id": "inf", "text": "A page.", "big": 1e999}\n'
        '{"id": "bigint", "model": "x@1", "story": "s", "topics": {"militia": 1' + "0" * 400 + "}}\n"
        '{"id": "fine", "text": "A page."}\n'
        '{"id": "err", "error": {"type": "WorkerError", "message": "died"}, "x": NaN}\n'
    )
    result = label(str(source), "--model", str(tiny_model_path))
    assert result.exit_code == 1 and "Traceback" not in result.output
    rows = [
        json.loads(line, parse_constant=lambda name: pytest.fail(f"{name} written"))
        for line in result.stdout.splitlines()
    ]
    assert [r["id"] for r in rows] == ["nan", "inf", "bigint", "fine", "err"]
    assert [r.get("error", {}).get("type") for r in rows] == [
        "OutputError",
        "OutputError",
        "InputError",
        None,
        "WorkerError",
    ]
    assert rows[4] == {"id": "err", "error": {"type": "WorkerError", "message": "died"}}
    assert "cannot be written as JSON" in rows[0]["error"]["message"]
    assert "numbers" in rows[2]["error"]["message"]


def test_a_record_nested_too_deeply_to_write_is_an_error_record_of_its_own(tiny_model):
    from classifier.run.tasks import records_of_results

    nested: list = []
    for _ in range(5000):
        nested = [nested]
    deep, fine = tiny_model.label_many(
        [{"id": "deep", "text": "A page.", "nested": nested}, {"id": "fine", "text": "A page."}]
    )
    records = records_of_results([deep, fine], True, None)
    rows = [json.loads(line) for line in records.lines.splitlines()]
    assert rows[0] == {"id": "deep", "error": {"type": "OutputError", "message": rows[0]["error"]["message"]}}
    assert rows[1]["id"] == "fine" and "story" in rows[1]
    assert (records.documents, records.failed, records.written, records.errors_by_type) == (2, 1, 2, {"OutputError": 1})


def test_binary_files_are_not_taken_for_text():
    import pickle
    import struct

    import numpy as np

    from classifier.errors import InputError
    from classifier.inputs.decoding import decode_bytes

    # Short ASCII strings among binary bytes read as printable UTF-16 "Chinese": still binary.
    strings = pickle.dumps([f"word{i}" for i in range(50)])
    table = b"".join(struct.pack("<IH", i, i % 7) + f"name_{i}".encode() + b"\0" for i in range(200))
    array = np.arange(500, dtype=np.int32).tobytes()
    for raw in (b"\0" * 1000, bytes(range(256)) * 20, b"\x7fELF\x02\x01\x01" + bytes(2000), strings, table, array):
        with pytest.raises(InputError, match="binary"):
            decode_bytes(raw)


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(
                st.sampled_from(
                    ["id", "text", "html", "model", "story", "segments", "topics", "tags", "start", "label", "score"]
                ),
                inner,
                max_size=6,
            )
        ),
        max_leaves=20,
    )
)
def test_any_json_value_becomes_a_document_or_a_failure(value):
    document = document_from_record(value, "f:1")
    assert isinstance(document, (Document, LabeledDocument, FailedDocument))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=400), name=st.sampled_from(["a.txt", "a.html", "a.jsonl", "a.txt.gz", "a.jsonl.gz"]))
def test_reading_arbitrary_bytes_never_raises_out_of_the_reader(tmp_path, raw, name):
    path = tmp_path / name
    path.write_bytes(raw)
    for document in read_path(path):
        assert isinstance(document, (Document, LabeledDocument, FailedDocument))


# Size --------------------------------------------------------------------------


def test_a_two_megabyte_single_line_is_labelled(tiny_model_path, tmp_path):
    path = tmp_path / "line.txt"
    path.write_text("The harbour was quiet that night. " * 60_000, encoding="utf-8")  # 2 MB, no newline
    result = label(str(path), "--model", str(tiny_model_path), "--no-segments")
    assert result.exit_code == 0, result.output
    [row] = records(result.stdout)
    assert row["id"] == "line" and "error" not in row


# Usage -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "arguments, words",
    [
        (["label", "--workers", "x", "page.txt"], "invalid value for '--workers'"),
        (["lable", "page.txt"], "no such command 'lable'"),
        (["label"], "missing argument"),
        (["label", "--bogus", "page.txt"], "no such option: --bogus"),
        (["filter", "labels.jsonl"], "missing option '--topic'"),
        (["train", "data.jsonl", "--out"], "option '--out' requires an argument"),  # (an error without its context)
    ],
)
def test_option_errors_are_one_line_as_the_commands_own_errors(arguments, words):
    """An unknown command or option, or a value an option does not take: one line on stderr, exit 2."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "classifier", *arguments], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    line = one_clear_line(done.stderr)
    assert line.startswith("storyfilter: " + words) and line.endswith("--help')"), line


def test_an_unreadable_input_directory_is_a_usage_error(tiny_model_path, tmp_path, monkeypatch):
    unreadable = tmp_path / "locked"
    unreadable.mkdir()
    if os.geteuid() == 0:  # root reads any directory: make this one refuse as it would for a user
        real = Path.iterdir

        def iterdir(self):
            if self == unreadable:
                raise PermissionError(13, "Permission denied", str(self))
            return real(self)

        monkeypatch.setattr(Path, "iterdir", iterdir)
    else:
        unreadable.chmod(0)
    try:
        result = label(str(unreadable), "--model", str(tiny_model_path))
    finally:
        unreadable.chmod(0o755)
    assert result.exit_code == 2
    assert one_clear_line(result.stderr) == f"storyfilter: input directory cannot be read: {unreadable}"


def test_an_output_that_cannot_be_opened_is_a_usage_error_and_nothing_is_written(tiny_model_path, tmp_path):
    page = str(EXAMPLES / "harbour.txt")
    result = label(page, "-o", str(tmp_path), "--model", str(tiny_model_path))  # a directory
    assert result.exit_code == 2 and "cannot write" in one_clear_line(result.stderr)
    kept = tmp_path / "kept.jsonl"
    kept.write_text("earlier work\n")
    for args in ([str(tmp_path / "missing.txt")], [page, "--model", str(tmp_path / "none.model")]):
        result = label(*args, "-o", str(kept))
        assert result.exit_code in (2, 3) and one_clear_line(result.stderr)
        assert kept.read_text() == "earlier work\n"  # checked before the output is opened


def test_records_are_utf8_whatever_the_terminal_encoding(tiny_model_path, tmp_path):
    import subprocess
    import sys

    source = write_jsonl(tmp_path / "in.jsonl", [{"id": "\u00e9t\u00e9", "text": "Caf\u00e9 \u4e2d on the quay."}])
    command = [sys.executable, "-m", "classifier", "label", str(source), "--model", str(tiny_model_path)]
    done = subprocess.run(command, capture_output=True, env={**os.environ, "PYTHONIOENCODING": "ascii"}, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(done.stdout.decode("utf-8"))["id"] == "\u00e9t\u00e9"


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_mid_run_stops_with_one_line_and_exit_4(tiny_model_path):
    result = label(str(EXAMPLES / "harbour.txt"), "-o", "/dev/full", "--model", str(tiny_model_path))
    assert result.exit_code == 4
    assert "cannot write the output (No space left on device)" in one_clear_line(result.stderr)


def test_a_closed_pipe_stops_quietly_with_sigpipes_exit_code(tiny_model_path, tmp_path):
    import subprocess
    import sys

    source = write_jsonl(tmp_path / "in.jsonl", [{"id": str(i), "text": "Hello there.\nBye."} for i in range(3000)])
    command = [
        sys.executable,
        "-m",
        "classifier",
        "label",
        str(source),
        "--model",
        str(tiny_model_path),
        "--workers",
        "1",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.read(10)
    process.stdout.close()  # as `| head -c 10` does
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) == 141
    assert "closed by its reader" in one_clear_line(stderr)


# Model -------------------------------------------------------------------------


def copy_bundle(source: Path, target: Path) -> Path:
    shutil.copy(source, target)
    shutil.copy(card_path(source), card_path(target))
    return target


def make_card_match(path: Path) -> None:
    card = json.loads(card_path(path).read_text())
    card["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    card_path(path).write_text(json.dumps(card))


@pytest.mark.parametrize("damage", ["truncated", "garbage", "not-a-bundle"])
def test_a_corrupt_model_whose_card_matches_is_a_model_error(tiny_model_path, tmp_path, damage):
    import joblib

    path = copy_bundle(tiny_model_path, tmp_path / "broken.model")
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage == "garbage":
        path.write_bytes(os.urandom(4096))
    else:
        joblib.dump({"format": 1, "name": "x"}, path)
    make_card_match(path)  # the hash check passes: unpickling itself must fail cleanly
    result = label(str(EXAMPLES / "harbour.txt"), "--model", str(path))
    assert result.exit_code == 3
    assert one_clear_line(result.stderr).startswith("storyfilter: ")


def test_a_card_that_is_not_an_object_is_a_model_error(tiny_model_path, tmp_path):
    path = copy_bundle(tiny_model_path, tmp_path / "odd.model")
    card_path(path).write_text("[1, 2]")
    result = label(str(EXAMPLES / "harbour.txt"), "--model", str(path))
    assert result.exit_code == 3 and "not a JSON object" in one_clear_line(result.stderr)


# Labelling anything --------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=120), max_size=12).map("\n".join) | st.text(max_size=600))
def test_labelling_any_unicode_string_returns_a_record(tiny_model, text):
    record = tiny_model.label(text, id="any").to_record()
    assert json.loads(json.dumps(record))["id"] == "any"
    for segment in record["segments"]:
        assert text[segment["start"] : segment["end"]] == segment["text"]
        assert segment["label"] in ("story", "chrome") and 0.0 <= segment["score"] <= 1.0
    assert set(record["topics"]) == set(tiny_model.tag_names)


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from("<>/=\"'&; pdivbr"), max_size=600))
def test_labelling_any_string_as_html_returns_a_record(tiny_model, markup):
    record = tiny_model.label(html=markup, id="any").to_record()
    for segment in record["segments"]:
        assert record["text"][segment["start"] : segment["end"]] == segment["text"]


def test_label_many_answers_anything_it_is_given_in_place(tiny_model, harbour_text):
    given = [
        Document("a", text=harbour_text),
        "A page as a plain string.",
        {"id": "d", "text": "A dict."},
        42,
        None,
        Document("n", text=None),
        {"id": "e"},
        Document("h", html="<p>Some <b>markup</b>.</p>"),
    ]
    results = list(tiny_model.label_many(given, chunk_size=3))
    assert [r.id for r in results] == ["a", "1", "d", "3", "4", "n", "e", "h"]
    failed = [i for i, r in enumerate(results) if isinstance(r, FailedDocument)]
    assert failed == [3, 4, 5, 6]
    assert "cannot label a int" in results[3].message
