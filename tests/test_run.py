"""Runs at scale: worker processes, a Dask cluster, streaming, progress counts, signals, --resume."""

from __future__ import annotations

import gc
import gzip
import itertools
import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from classifier.cli.app import app
from classifier.inputs.discovery import count_documents, input_files, iter_documents
from classifier.records import Document
from classifier.run.resume import id_key, prepare_resume

from .conftest import CORPUS_PAGES, EXAMPLES, write_jsonl

runner = CliRunner()


def mixed_records(n: int = 40) -> list[dict]:
    """Pages of our corpus, an HTML page, a repeated id and a page without text."""
    pages = [json.loads(line) for line in itertools.islice(CORPUS_PAGES.open(encoding="utf-8"), n)]
    records = [{"id": f"p{i}", "text": page["text"], "feed": i} for i, page in enumerate(pages)]
    records.insert(7, {"id": "web", "html": (EXAMPLES / "harbour.html").read_text(encoding="utf-8")})
    records.insert(12, {"id": "p3", "text": "The same id again, a different page."})
    records.insert(20, {"id": "empty"})
    return records


@pytest.fixture(scope="module")
def mixed_input(tmp_path_factory) -> Path:
    path = write_jsonl(tmp_path_factory.mktemp("scale") / "in.jsonl", mixed_records())
    with path.open("a", encoding="utf-8") as handle:
        handle.write("{not json\n")
    return path


def records_of(results) -> list:
    """What a result says (its segments' page numbers within a chunk are bookkeeping)."""
    return [r.to_record() for r in results]


def label(*args: str) -> CliRunner.invoke:
    return runner.invoke(app, ["label", *args])


def run_to_file(source: Path, out: Path, model: Path, *extra: str) -> bytes:
    result = label(str(source), "-o", str(out), "--model", str(model), "--chunk-size", "4", *extra)
    assert result.exit_code == 1, result.output  # the page without text and the bad line fail
    return out.read_bytes()


def test_one_worker_and_two_workers_write_identical_files(mixed_input, tiny_model_path, tmp_path):
    one = run_to_file(mixed_input, tmp_path / "one.jsonl", tiny_model_path, "--workers", "1")
    two = run_to_file(mixed_input, tmp_path / "two.jsonl", tiny_model_path, "--workers", "2")
    assert one == two
    rows = [json.loads(line) for line in one.splitlines()]
    assert len(rows) == len(mixed_records()) + 1
    assert rows[-1]["id"].endswith("in.jsonl:44") and rows[-1]["error"]["type"] == "InputError"
    assert [r["id"] for r in rows[:3]] == ["p0", "p1", "p2"] and rows[7]["id"] == "web"


def test_filter_with_workers_matches_one_process(mixed_input, tiny_model, tiny_model_path, tmp_path):
    topic = tiny_model.tag_names[0]
    outputs = []
    for workers in ("1", "2"):
        out = tmp_path / f"kept{workers}.jsonl"
        result = runner.invoke(
            app,
            [
                "filter",
                str(mixed_input),
                "--topic",
                topic,
                "--min-score",
                "0.2",
                "-o",
                str(out),
                "--model",
                str(tiny_model_path),
                "--chunk-size",
                "4",
                "--workers",
                workers,
            ],
        )
        assert result.exit_code == 1, result.output
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    assert "kept" in result.stderr


def test_python_label_many_with_workers_streams_the_same_results(tiny_model):
    documents = [Document(r["id"], text=r.get("text"), html=r.get("html")) for r in mixed_records(12)]
    here = list(tiny_model.label_many(documents, chunk_size=3))
    there = list(tiny_model.label_many(iter(documents), chunk_size=3, workers=2))
    assert [r.id for r in there] == [d.id for d in documents]
    assert records_of(here) == records_of(there)


def failing_feed(read: int):
    """``read`` documents, and then the feed breaks."""
    for i in range(read):
        yield Document(str(i), text=f"Line {i} of a feed.\n\nA second paragraph, with words.")
    raise ConnectionError("the feed broke")


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("read", [2, 7, 11])  # within the first chunk, the second, a later one
def test_a_feed_that_fails_has_every_document_read_before_it_labelled_first(tiny_model, workers, read):
    labelled = []
    with pytest.raises(ConnectionError, match="the feed broke"):
        for result in tiny_model.label_many(failing_feed(read), chunk_size=3, workers=workers):
            labelled.append(result.id)
    assert labelled == [str(i) for i in range(read)]  # the chunk it broke in, and those in flight, not lost


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_cli_run_that_an_input_error_stops_says_the_output_is_partial_and_resume_finishes_it(
    tmp_path, tiny_model_path, monkeypatch, workers
):
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": f"d{n}", "text": f"Page {n} of the port."} for n in range(20)])
    out = tmp_path / "out.jsonl"

    def breaking(*args, **kwargs):
        for number, document in enumerate(iter_documents(*args, **kwargs)):
            if number == 7:
                raise RuntimeError("the disk went away")
            yield document

    with monkeypatch.context() as patched:
        patched.setattr("classifier.run.batch.iter_documents", breaking)
        result = label(
            str(source), "-o", str(out), "--model", str(tiny_model_path), "--chunk-size", "3", "--workers", workers
        )
    assert result.exit_code == 4, result.output
    assert "after 7 documents: RuntimeError: the disk went away" in result.stderr and "--resume" in result.stderr
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == [f"d{n}" for n in range(7)]
    resumed = label(str(source), "-o", str(out), "--model", str(tiny_model_path), "--resume")
    assert resumed.exit_code == 0
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == [f"d{n}" for n in range(20)]


def test_label_many_reads_only_a_few_chunks_ahead(tiny_model):
    pulled = []

    def endless():
        for i in itertools.count():
            pulled.append(i)
            yield Document(str(i), text=f"Line {i} of an endless feed.\n\nA second paragraph, with words.")

    first = list(itertools.islice(tiny_model.label_many(endless(), chunk_size=5), 12))
    assert [d.id for d in first] == [str(i) for i in range(12)]
    assert len(pulled) <= 15


def test_dask_cluster_writes_the_same_file(mixed_input, tiny_model, tiny_model_path, tmp_path):
    distributed = pytest.importorskip("distributed")
    local = run_to_file(mixed_input, tmp_path / "local.jsonl", tiny_model_path, "--workers", "1")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        on_dask = run_to_file(
            mixed_input, tmp_path / "dask.jsonl", tiny_model_path, "--scheduler", cluster.scheduler_address
        )
        documents = [Document(f"d{i}", text=f"Paragraph {i}.\n\nAnother one, a little longer.") for i in range(9)]
        api = list(tiny_model.label_many(documents, chunk_size=2, scheduler=cluster.scheduler_address))
        given = []  # a feed that fails: what was read before it is labelled and given first, on Dask too
        with pytest.raises(ConnectionError):
            for result in tiny_model.label_many(failing_feed(5), chunk_size=2, scheduler=cluster.scheduler_address):
                given.append(result.id)
        assert given == [str(i) for i in range(5)]
    assert on_dask == local
    assert [d.id for d in api] == [d.id for d in documents]
    assert records_of(api) == records_of(tiny_model.label_many(documents))


def test_a_script_that_leaves_a_dask_run_open_exits(tiny_model_path):
    """A script that takes the first result of a run on Dask and ends: it hung at exit, its client asked to cancel
    the tasks in flight (and then to close) after Dask's loop had stopped."""
    import subprocess
    import sys

    pytest.importorskip("distributed")
    program = (
        "import distributed\n"
        "from classifier import load_model\n"
        "if __name__ == '__main__':\n"
        "    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,\n"
        "                                       host='127.0.0.1', dashboard_address=None)\n"
        f"    model = load_model({str(tiny_model_path)!r})\n"
        "    pages = ({'id': str(i), 'text': 'The council met.\\nHome | News'} for i in range(2000))\n"
        "    results = model.label_many(pages, chunk_size=2, scheduler=cluster.scheduler_address)\n"
        "    print(next(results).id, flush=True)\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=150)
    assert done.returncode == 0 and done.stdout.split() == ["0"], done.stderr[-2000:]


def test_a_tls_scheduler_without_dask_tls_settings_is_refused_before_a_client_is_made():
    pytest.importorskip("distributed")
    from classifier.errors import InputError
    from classifier.run.cluster import DaskCluster

    with pytest.raises(InputError, match="tls:// needs Dask's TLS settings"):  # was a bare TypeError
        DaskCluster(None, "tls://127.0.0.1:8786", None)


def test_an_unreachable_scheduler_is_a_usage_error(tiny_model_path, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr("classifier.run.cluster.DASK_TIMEOUT", 2)
    result = label(str(EXAMPLES / "harbour.txt"), "--model", str(tiny_model_path), "--scheduler", "tcp://127.0.0.1:9")
    assert result.exit_code == 2 and "cannot reach the Dask scheduler" in result.stderr


def test_a_scheduler_address_that_does_not_parse_is_refused_at_once_and_leaves_no_client_behind(tiny_model):
    """From Python, a half-made Client held the program for a minute at exit; in a fresh process, a quick exit."""
    import logging
    import subprocess
    import sys

    pytest.importorskip("distributed")
    program = (
        "from classifier.errors import InputError\n"
        "from classifier.run.cluster import DaskCluster\n"
        "import logging\n"
        "logging.getLogger('distributed.client').setLevel(logging.INFO)\n"
        "try:\n"
        "    DaskCluster(None, 'nope', None)\n"
        "except InputError as error:\n"
        "    print(error)\n"
        "print(logging.getLogger('distributed.client').level)\n"  # Dask's client log as it was, quiet no longer
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=50)
    assert done.stdout.splitlines() == [
        "cannot reach the Dask scheduler at nope: missing port number in address 'nope'",
        str(logging.INFO),
    ]
    assert "Exception ignored" not in done.stderr, done.stderr


def test_resume_repairs_the_last_line_and_finishes_the_job(mixed_input, tiny_model_path, tmp_path):
    whole = run_to_file(mixed_input, tmp_path / "whole.jsonl", tiny_model_path)
    lines = whole.splitlines(keepends=True)
    out = tmp_path / "cut.jsonl"
    out.write_bytes(b"".join(lines[:15]) + lines[15][: len(lines[15]) // 2])  # killed mid-write
    result = label(
        str(mixed_input),
        "-o",
        str(out),
        "--model",
        str(tiny_model_path),
        "--chunk-size",
        "4",
        "--resume",
        "--workers",
        "2",
    )
    assert result.exit_code == 1, result.output
    assert "half-written last line" in result.stderr and "15 already done" in result.stderr
    assert out.read_bytes() == whole  # every id once, in input order, and the same records


def test_a_resumed_run_exits_1_for_the_error_records_of_its_first_part(tmp_path, tiny_model_path):
    good = [{"id": f"g{n}", "text": f"A headline {n}\nA paragraph of the story {n}."} for n in range(6)]
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": "bad"}, *good])  # no text: an error record
    whole = tmp_path / "whole.jsonl"
    assert label(str(source), "-o", str(whole), "--model", str(tiny_model_path)).exit_code == 1
    out = tmp_path / "out.jsonl"
    out.write_bytes(b"".join(whole.read_bytes().splitlines(keepends=True)[:3]))  # the error record among them
    result = label(str(source), "-o", str(out), "--model", str(tiny_model_path), "--resume")
    assert result.exit_code == 1, result.output
    assert "3 already done; 1 error record in" in result.stderr and "from before" in result.stderr
    assert out.read_bytes() == whole.read_bytes()
    result = label(str(source), "-o", str(out), "--model", str(tiny_model_path), "--resume")  # all done
    assert result.exit_code == 1 and "7 already done" in result.stderr


def test_resume_counts_repeated_ids(tmp_path, tiny_model_path):
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": "x", "text": f"Page {i}."} for i in range(5)])
    out = tmp_path / "out.jsonl"
    assert label(str(source), "-o", str(out), "--model", str(tiny_model_path)).exit_code == 0
    whole = out.read_bytes()
    out.write_bytes(b"".join(whole.splitlines(keepends=True)[:2]))
    assert label(str(source), "-o", str(out), "--model", str(tiny_model_path), "--resume").exit_code == 0
    assert out.read_bytes() == whole


def test_resume_of_a_finished_or_missing_output(tmp_path, tiny_model_path):
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": "One page."}])
    out = tmp_path / "out.jsonl"
    assert (
        label(str(source), "-o", str(out), "--model", str(tiny_model_path), "--resume").exit_code == 0
    )  # nothing yet: a plain run
    before = out.read_bytes()
    result = label(str(source), "-o", str(out), "--model", str(tiny_model_path), "--resume")
    assert result.exit_code == 0 and "0 documents" in result.stderr and "1 already done" in result.stderr
    assert out.read_bytes() == before


def test_resume_into_an_output_of_other_inputs_says_so(tmp_path, tiny_model_path):
    others = write_jsonl(tmp_path / "others.jsonl", [{"id": n, "text": f"Page {n}."} for n in ("x", "y")])
    out = tmp_path / "out.jsonl"
    assert label(str(others), "-o", str(out), "--model", str(tiny_model_path)).exit_code == 0
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": "One page."}])
    result = label(str(source), "-o", str(out), "--model", str(tiny_model_path), "--resume")
    assert (
        result.exit_code == 0
        and "found 2 records in" in result.stderr
        and "none of them of these inputs" in result.stderr
    )
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ["x", "y", "a"]
    again = label(str(source), "-o", str(out), "--model", str(tiny_model_path), "--resume")  # done: nothing to say
    assert again.exit_code == 0 and "warning" not in again.stderr


def test_resume_usage_errors(tmp_path, tiny_model_path):
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": "One page."}])
    result = label(str(source), "--model", str(tiny_model_path), "--resume")
    assert result.exit_code == 2 and "--resume needs" in result.stderr
    out = tmp_path / "notes.jsonl"
    out.write_text("these are my notes\n", encoding="utf-8")
    result = label(str(source), "-o", str(out), "--model", str(tiny_model_path), "--resume")
    assert result.exit_code == 2 and "not a record written by storyfilter" in result.stderr
    assert out.read_text(encoding="utf-8") == "these are my notes\n"


def test_resume_refuses_to_mix_records_of_another_model_or_shape(tmp_path, tiny_model_path):
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": n, "text": f"Page {n} of the port."} for n in "abc"])
    out = tmp_path / "out.jsonl"
    assert label(str(source), "-o", str(out), "--model", str(tiny_model_path)).exit_code == 0
    first = out.read_bytes().splitlines(keepends=True)[0]
    out.write_bytes(first)
    result = label(str(source), "-o", str(out), "--model", str(tiny_model_path), "--resume", "--no-segments")
    assert result.exit_code == 2 and "with segments" in result.stderr and "without segments" in result.stderr
    other = json.loads(first) | {"model": "older@3"}
    out.write_text(json.dumps(other) + "\n", encoding="utf-8")
    result = label(str(source), "-o", str(out), "--model", str(tiny_model_path), "--resume")
    assert result.exit_code == 2 and "older@3" in result.stderr and "would mix" in result.stderr
    assert out.read_text(encoding="utf-8") == json.dumps(other) + "\n"  # left as it was
    out.write_bytes(first)
    assert label(str(source), "-o", str(out), "--model", str(tiny_model_path), "--resume").exit_code == 0
    # Resumed with --with-text, a file written without it would mix records with and without the text.
    out.write_bytes(first)
    result = label(str(source), "-o", str(out), "--model", str(tiny_model_path), "--resume", "--with-text")
    assert result.exit_code == 2 and "written without --with-text" in result.stderr
    assert out.read_bytes() == first
    # A record of `label` in the input goes through as it is, another model's: the run's own tell.
    out.write_text(json.dumps(other) + "\n" + first.decode("utf-8"), encoding="utf-8")
    assert label(str(source), "-o", str(out), "--model", str(tiny_model_path), "--resume").exit_code == 0


def test_filter_resume_refuses_another_model_or_shape_by_its_side_file(tmp_path, tiny_model_path):
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": n, "text": f"Page {n} of the port."} for n in "abc"])
    out = tmp_path / "out.jsonl"
    common = ("--topic", "politics", "--min-score", "0", "--model", str(tiny_model_path))
    assert runner.invoke(app, ["filter", str(source), "-o", str(out), *common, "--no-segments"]).exit_code == 0
    written = out.read_bytes()
    result = runner.invoke(app, ["filter", str(source), "-o", str(out), *common, "--resume"])
    assert result.exit_code == 2 and "without segments" in result.stderr and "would mix" in result.stderr
    assert out.read_bytes() == written  # left as it was
    done = runner.invoke(app, ["filter", str(source), "-o", str(out), *common, "--resume", "--no-segments"])
    assert done.exit_code == 0 and out.read_bytes() == written
    # Nor by other topics or another least score: the file would keep by two rules.
    model = common[-2:]
    for other in (("--topic", "militia", "--min-score", "0"), ("--topic", "politics", "--min-score", "0.5")):
        result = runner.invoke(
            app, ["filter", str(source), "-o", str(out), *other, *model, "--resume", "--no-segments"]
        )
        assert result.exit_code == 2 and "would mix" in result.stderr and "politics (at a score of 0.0" in result.stderr
        assert out.read_bytes() == written


def test_prepare_resume_reads_ids_of_every_kind(tmp_path):
    out = tmp_path / "out.jsonl"
    lines = [{"id": "a", "x": 1}, {"id": None, "error": {}}, {"id": "a" * 5000}, {"id": "a"}, {"id": 7}]
    out.write_text("".join(json.dumps(r) + "\n" for r in lines) + '{"id": "half', encoding="utf-8")
    finished = prepare_resume(out)
    assert finished.records == 5 and finished.repaired == len('{"id": "half')
    assert [finished.take(i) for i in ("a", "a", "a", None, "a" * 5000, 7, "7", "b")] == [
        True,
        True,
        False,
        True,
        True,
        True,
        False,
        False,
    ]


@pytest.mark.parametrize("stop, workers", [(signal.SIGTERM, "2"), (signal.SIGINT, "1")])
def test_a_signal_stops_cleanly_and_resume_gives_every_id_once(stop, workers, tmp_path, tiny_model_path):
    text = (EXAMPLES / "harbour.txt").read_text(encoding="utf-8")
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": f"n{i}", "text": text} for i in range(1500)])
    out = tmp_path / "out.jsonl"
    command = [
        sys.executable,
        "-c",
        "from classifier.cli.app import main; main()",
        "label",
        str(source),
        "-o",
        str(out),
        "--model",
        str(tiny_model_path),
        "--chunk-size",
        "8",
        "--workers",
        workers,
    ]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while (
        (not out.exists() or out.read_bytes().count(b"\n") < 40)
        and time.monotonic() < deadline
        and process.poll() is None
    ):
        time.sleep(0.05)
    assert process.poll() is None, "the run ended before it could be interrupted"
    process.send_signal(stop)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + stop, stderr
    assert "--resume" in stderr
    assert f"storyfilter: {stop.name}: stopping once the chunk under way is written" in stderr  # said at once
    written = out.read_bytes()
    assert written.endswith(b"\n")
    ids = [json.loads(line)["id"] for line in written.splitlines()]
    assert 40 <= len(ids) < 1500 and ids == [f"n{i}" for i in range(len(ids))]
    resumed = subprocess.run([*command, "--resume"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    ids = [json.loads(line)["id"] for line in out.read_bytes().splitlines()]
    assert ids == [f"n{i}" for i in range(1500)]


def test_input_files_walk_in_sorted_path_order(tmp_path):
    for name in ("b/z.txt", "b/a.txt", "a.txt", "a/b.txt", "c.jsonl", "b/skip.png", "a/x/y.html"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x", encoding="utf-8")
    expected = sorted(p for p in tmp_path.rglob("*") if p.is_file() and p.suffix != ".png")
    assert list(input_files(tmp_path)) == expected


def test_count_documents_for_progress(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "one.txt").write_text("a page", encoding="utf-8")
    (tmp_path / "d" / "two.html").write_text("<p>a page</p>", encoding="utf-8")
    write_jsonl(tmp_path / "d" / "three.jsonl", [{"text": "x"}] * 3)
    with gzip.open(tmp_path / "four.jsonl.gz", "wt", encoding="utf-8") as handle:
        handle.write('{"text": "x"}\n' * 3 + '{"text": "no newline at the end"}')
    assert count_documents([str(tmp_path / "d"), str(tmp_path / "four.jsonl.gz")]) == 9
    assert count_documents(["-"]) is None
    assert len(list(iter_documents([str(tmp_path / "d"), str(tmp_path / "four.jsonl.gz")]))) == 9
    # Blank lines are no documents, and are not counted as ones (the bar would end short of its total).
    (tmp_path / "blanks.jsonl").write_bytes(b'\n{"text": "x"}\r\n  \r\n\n{"text": "y"}\n\t\n  ')
    assert (
        count_documents([str(tmp_path / "blanks.jsonl")])
        == 2
        == len(list(iter_documents([str(tmp_path / "blanks.jsonl")])))
    )


def test_the_run_ends_with_a_summary_line(mixed_input, tiny_model_path, tmp_path):
    result = label(str(mixed_input), "-o", str(tmp_path / "o.jsonl"), "--model", str(tiny_model_path))
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"{len(mixed_records()) + 1} documents in ") and "pages/s" in line and "2 failed" in line


def test_the_summary_line_counts_what_input_directories_held_and_was_not_read(tiny_model_path, tmp_path):
    site = tmp_path / "site"
    (site / ".git").mkdir(parents=True)
    (site / ".git" / "HEAD.txt").write_text("ref")
    (site / "page.txt").write_text("A page of one line.")
    (site / "feed.xml").write_text("<rss/>")
    result = label(str(site), "-o", str(tmp_path / "o.jsonl"), "--model", str(tiny_model_path))
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("1 document in ") and line.endswith(
        "2 files or folders in input directories passed over (1 .xml, 1 hidden)"
    )


def test_workers_default_to_the_cores_of_the_machine(monkeypatch):
    from classifier.run.workers import available_cores

    assert available_cores() == len(os.sched_getaffinity(0))


class DyingModel:
    """Stands in for a model; its worker process dies on the documents with id "die".

    With ``once``, it dies only the first time (the file it names does not exist yet):
    a worker lost to something else than the document. With ``everything``, it
    dies on any chunk; with ``more_than_one``, on chunks of two pages or more
    (as a chunk too big for memory would).
    """

    def __init__(self, once: str | None = None, everything: bool = False, more_than_one: bool = False):
        self.once, self.everything, self.more_than_one = once, everything, more_than_one

    def label_chunk(self, chunk):
        from classifier.records import FailedDocument

        pages = [d for d in chunk if not isinstance(d, FailedDocument)]
        deadly = self.everything or any(d.id == "die" for d in pages) or (self.more_than_one and len(pages) > 1)
        if deadly and (self.once is None or not os.path.exists(self.once)):
            if self.once is not None:
                Path(self.once).touch()
            os._exit(9)
        return [d if isinstance(d, FailedDocument) else FailedDocument(d.id, "Test", "not labelled") for d in chunk]


def run_dying(tmp_path, model, die_at=(30,), n=40, scheduler=None):
    import io

    from classifier.run.batch import RunOptions, run_label

    source = write_jsonl(
        tmp_path / "in.jsonl", [{"id": "die" if i in die_at else str(i), "text": "x"} for i in range(n)]
    )
    out = io.StringIO()
    options = RunOptions(inputs=[str(source)], chunk_size=2, workers=2, scheduler=scheduler)
    try:
        return run_label(model, options, out), out
    except Exception as error:
        error.out = out
        raise


@pytest.mark.parametrize("signalled_after, last", [(1, False), (3, True)])
def test_a_signal_during_the_last_chunk_leaves_nothing_to_resume(signalled_after, last, tmp_path, tiny_model):
    import io

    from classifier.run.batch import RunOptions, run_label

    source = write_jsonl(tmp_path / "in.jsonl", [{"id": str(i), "text": f"Page {i}.\n\nSome words."} for i in range(5)])
    chunks_written = []

    def progress(summary) -> None:  # after each chunk is written, before the run looks for a signal
        chunks_written.append(summary.documents)
        if len(chunks_written) == signalled_after:
            os.kill(os.getpid(), signal.SIGINT)

    out = io.StringIO()
    options = RunOptions(inputs=[str(source)], chunk_size=2, workers=1)
    summary = run_label(tiny_model, options, out, progress)
    if last:  # the last chunk (short: the input was read to its end) written: a finished run, which says so
        assert summary.interrupted is None and summary.signalled_at_end == signal.SIGINT
        assert summary.documents == 5 and len(out.getvalue().splitlines()) == 5
    else:
        assert summary.interrupted == signal.SIGINT and summary.signalled_at_end is None
        assert summary.documents == 2 and len(out.getvalue().splitlines()) == 2


def test_a_document_that_kills_its_worker_gets_an_error_record_and_the_run_goes_on(tmp_path):
    summary, out = run_dying(tmp_path, DyingModel(), die_at=(5, 30))
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["id"] for r in rows] == ["die" if i in (5, 30) else str(i) for i in range(40)]
    assert [r["error"]["type"] for r in rows if r["id"] == "die"] == ["WorkerError", "WorkerError"]
    assert all(r["error"]["type"] == "Test" for r in rows if r["id"] != "die")  # its chunk mates were labelled
    assert summary.documents == 40 and summary.errors_by_type["WorkerError"] == 2


def test_on_dask_a_document_that_kills_its_workers_gets_an_error_record(tmp_path):
    distributed = pytest.importorskip("distributed")
    import dask

    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),  # give up on the first death: faster
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        ) as cluster,
    ):
        _summary, out = run_dying(tmp_path, DyingModel(), die_at=(7,), n=16, scheduler=cluster.scheduler_address)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["id"] for r in rows] == ["die" if i == 7 else str(i) for i in range(16)]
    assert rows[7]["error"]["type"] == "WorkerError" and rows[6]["error"]["type"] == "Test"


def test_a_dask_run_drops_the_model_plugins_of_dead_clients_and_its_own(tmp_path, tiny_model):
    distributed = pytest.importorskip("distributed")
    from classifier.run.cluster import PLUGIN_PREFIX, ModelPlugin

    def plugins(dask_scheduler):
        return sorted(dask_scheduler.worker_plugins)

    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        client.register_plugin(
            ModelPlugin("gone-client", {}, b"x"), name=PLUGIN_PREFIX + "gone-client"
        )  # a killed run's
        documents = [Document(f"d{i}", text="A page.") for i in range(3)]
        assert len(list(tiny_model.label_many(documents, chunk_size=1, scheduler=cluster.scheduler_address))) == 3
        assert not [name for name in client.run_on_scheduler(plugins) if name.startswith(PLUGIN_PREFIX)]


def test_a_worker_lost_once_costs_nothing(tmp_path):
    _summary, out = run_dying(tmp_path, DyingModel(once=str(tmp_path / "died")))
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(rows) == 40 and all(r["error"]["type"] == "Test" for r in rows)  # "die" too: labelled the second time


def test_workers_that_die_on_everything_stop_the_run_with_a_clear_error(tmp_path):
    from classifier.errors import WorkerError

    with pytest.raises(WorkerError, match=r"whatever they label.* --resume") as caught:
        run_dying(tmp_path, DyingModel(everything=True))
    assert caught.value.out.getvalue() == ""


def test_repeated_deadly_pages_each_get_their_record(tmp_path):
    _summary, out = run_dying(tmp_path, DyingModel(), die_at=(0, 1, 2, 3), n=8)  # scrapes repeat pages
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["error"]["type"] for r in rows] == ["WorkerError"] * 4 + ["Test"] * 4


def test_a_chunk_that_dies_only_whole_is_labelled_a_page_at_a_time(tmp_path):
    summary, out = run_dying(tmp_path, DyingModel(more_than_one=True), die_at=(), n=6)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["id"] for r in rows] == [str(i) for i in range(6)] and all(r["error"]["type"] == "Test" for r in rows)
    assert summary.documents == 6 and summary.errors_by_type == {"Test": 6}


def test_progress_shows_on_a_terminal_and_not_in_a_pipe(tmp_path, tiny_model_path):
    import pty

    source = write_jsonl(
        tmp_path / "in.jsonl", [{"id": str(i), "text": f"Page {i}.\n\nSome words here."} for i in range(40)]
    )
    command = [
        sys.executable,
        "-c",
        "from classifier.cli.app import main; main()",
        "label",
        str(source),
        "-o",
        str(tmp_path / "out.jsonl"),
        "--model",
        str(tiny_model_path),
        "--chunk-size",
        "2",
        "--workers",
        "1",
    ]
    controller, terminal = pty.openpty()
    process = subprocess.Popen(command, stderr=terminal, env={**os.environ, "COLUMNS": "120"})
    os.close(terminal)
    shown = b""
    while True:
        try:
            data = os.read(controller, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not data:
            break
        shown += data
    assert process.wait(timeout=60) == 0
    os.close(controller)
    assert b"40/40" in shown and b"pages/s" in shown and b"failed" in shown  # the bar, with the counted total
    assert b"40 documents in" in shown  # the summary line
    piped = subprocess.run(command, capture_output=True, timeout=60)
    assert piped.returncode == 0 and piped.stderr.decode().count("\n") == 1  # just the summary line


@pytest.mark.skipif(not Path("/dev/stdout").exists(), reason="no /dev/stdout here")
def test_filter_to_dev_stdout_sent_to_a_file_keeps_no_side_file_in_dev(tmp_path, tiny_model_path):
    stray = Path("/dev/stdout.resume")
    if stray.exists():
        pytest.skip("an earlier run left /dev/stdout.resume")
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": "Militia fighters attacked the port."}])
    command = [sys.executable, "-c", "from classifier.cli.app import main; main()", "filter", str(source)]
    command += ["--topic", "militia", "--min-score", "0", "-o", "/dev/stdout", "--model", str(tiny_model_path)]
    with (tmp_path / "kept.jsonl").open("wb") as kept:
        done = subprocess.run(command, stdout=kept, stderr=subprocess.PIPE, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "kept.jsonl").read_text(encoding="utf-8"))["id"] == "a"
    assert not stray.exists()  # a side file beside a device name would land in /dev
    from classifier.cli.label import _device_name

    assert _device_name(Path("/dev/null")) and not _device_name(Path("/dev/shm/out.jsonl"))  # a file: its side file


def test_a_lone_surrogate_is_labelled_and_written_as_its_json_escape(tmp_path, tiny_model_path):
    source = tmp_path / "in.jsonl"
    source.write_text(
        '{"id": "s\\ud800", "text": "A line with a lone \\ud800 surrogate."}\n{"id": "t", "text": "Fine."}\n',
        encoding="utf-8",
    )
    out = tmp_path / "out.jsonl"
    assert label(str(source), "-o", str(out), "--model", str(tiny_model_path)).exit_code == 0
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in records] == ["s\ud800", "t"]
    assert records[0]["segments"][0]["text"] == "A line with a lone \ud800 surrogate."  # labelled, not failed
    finished = prepare_resume(out)
    assert finished.take("s\ud800") and finished.take("t")


def test_symlinked_directories_are_not_followed_and_pipes_are_not_counted(tmp_path):
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "a.txt").write_text("a page", encoding="utf-8")
    (tmp_path / "pages" / "loop").symlink_to(tmp_path / "pages", target_is_directory=True)
    assert list(input_files(tmp_path / "pages")) == [tmp_path / "pages" / "a.txt"]
    fifo = tmp_path / "feed.jsonl"
    os.mkfifo(fifo)
    assert count_documents([str(fifo)]) is None  # reading it to count would steal its lines


def test_a_second_ctrl_c_stops_without_a_traceback(tmp_path, tiny_model_path):
    text = (EXAMPLES / "harbour.txt").read_text(encoding="utf-8")
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": f"n{i}", "text": text} for i in range(3000)])
    out = tmp_path / "out.jsonl"
    command = [
        sys.executable,
        "-c",
        "from classifier.cli.app import main; main()",
        "label",
        str(source),
        "-o",
        str(out),
        "--model",
        str(tiny_model_path),
        "--chunk-size",
        "200",
        "--workers",
        "1",
    ]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while (not out.exists() or out.stat().st_size == 0) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130 and "Traceback" not in stderr, stderr
    assert "--resume" in stderr
    resumed = subprocess.run([*command, "--resume"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert [json.loads(line)["id"] for line in out.read_bytes().splitlines()] == [f"n{i}" for i in range(3000)]


def passing(doc_id: str, politics: float) -> dict:
    """A record as label writes it, read back by filter as it is (not labelled again)."""
    return {"id": doc_id, "model": "tiny@1", "story": "A story.", "topics": {"politics": politics}, "tags": []}


def test_filter_resumes_by_input_position_whatever_the_ids(tmp_path, tiny_model_path):
    # "x" does not pass, then passes: resuming by ids would take the first for the one written and write it again.
    inputs = [passing("a", 0.9), passing("x", 0.1), passing("x", 0.8), passing("b", 0.2), passing("x", 0.7)]
    inputs += [passing(f"c{i}", 0.6 if i % 2 else 0.0) for i in range(6)]
    source = write_jsonl(tmp_path / "in.jsonl", inputs)
    common = ("--topic", "politics", "--min-score", "0.5", "--model", str(tiny_model_path), "--chunk-size", "2")
    whole = tmp_path / "whole.jsonl"
    assert runner.invoke(app, ["filter", str(source), "-o", str(whole), *common]).exit_code == 0
    assert [json.loads(line)["id"] for line in whole.read_text().splitlines()] == ["a", "x", "x", "c1", "c3", "c5"]
    assert json.loads((tmp_path / "whole.jsonl.resume").read_text()) == {
        "documents": len(inputs),
        "size": whole.stat().st_size,
        "model": "tiny@1",
        "segments": True,
        "topics": ["politics"],
        "min_score": 0.5,
        "ids": f"{sum(id_key(record['id']) for record in inputs) % 2**64:016x}",
    }
    # The records passed through keep their shape (no segments), which says nothing of how the run was made.
    assert all("segments" not in json.loads(line) for line in whole.read_text().splitlines())
    # An interrupted run: the first 3 inputs done, then killed while writing the next chunk.
    out = tmp_path / "out.jsonl"
    done = write_jsonl(tmp_path / "first.jsonl", inputs[:3])
    assert runner.invoke(app, ["filter", str(done), "-o", str(out), *common]).exit_code == 0
    with out.open("a", encoding="utf-8") as handle:
        handle.write('{"id": "b", "model": "tiny@1", "sto')
    result = runner.invoke(app, ["filter", str(source), "-o", str(out), *common, "--resume"])
    assert result.exit_code == 0, result.output
    assert "3 already done" in result.stderr
    assert out.read_bytes() == whole.read_bytes()


def test_filter_resume_refuses_inputs_other_than_those_its_side_file_counted(tmp_path, tiny_model_path):
    folder = tmp_path / "crawl"
    folder.mkdir()
    for n in range(5):
        (folder / f"b{n}.txt").write_text(f"Parliament passes budget {n}\nThe government won the vote.\n")
    out = tmp_path / "kept.jsonl"
    common = ("--topic", "politics", "--min-score", "0", "--model", str(tiny_model_path), "--chunk-size", "2")
    assert runner.invoke(app, ["filter", str(folder), "-o", str(out), *common]).exit_code == 0
    kept = out.read_bytes()
    (folder / "a-new.txt").write_text("Parliament passes another budget\nThe vote was close.\n")  # sorts first
    for inputs in ([folder], [folder / "b0.txt", folder / "b1.txt"], [folder / "b1.txt", folder / "b0.txt", folder]):
        result = runner.invoke(app, ["filter", *map(str, inputs), "-o", str(out), *common, "--resume"])
        assert result.exit_code == 2, result.output
        assert "not those of the interrupted run" in result.stderr
        assert out.read_bytes() == kept  # nothing skipped by count, nothing written
    (folder / "a-new.txt").unlink()
    result = runner.invoke(app, ["filter", str(folder), "-o", str(out), *common, "--resume"])
    assert result.exit_code == 0 and "5 already done" in result.stderr and out.read_bytes() == kept
    # The same documents in another order: all of them done either way.
    inputs = [str(folder / f"b{n}.txt") for n in (4, 2, 0, 1, 3)]
    result = runner.invoke(app, ["filter", *inputs, "-o", str(out), *common, "--resume"])
    assert result.exit_code == 0 and "5 already done" in result.stderr and out.read_bytes() == kept
    # A side file whose output is gone (deleted with nothing written yet) resumes from the top.
    out.unlink()
    (tmp_path / "kept.jsonl.resume").write_text('{"documents": 0, "size": 0}\n')
    assert runner.invoke(app, ["filter", str(folder), "-o", str(out), *common, "--resume"]).exit_code == 0
    assert out.read_bytes() == kept


def test_an_error_record_is_told_by_what_follows_its_id_however_long_the_id():
    from classifier.records import FailedDocument
    from classifier.run.resume import record_head

    for length in (1, 4080, 4085, 4090, 5000):
        doc_id = "x" * length
        line = FailedDocument(doc_id, "InputError", "m").json_line().encode()
        assert record_head(line, Path("out.jsonl"), 1) == (doc_id, True)


def test_filter_refuses_a_min_score_of_nan_and_an_output_named_gz(tmp_path, tiny_model_path):
    source = write_jsonl(tmp_path / "in.jsonl", [passing("a", 0.9)])
    result = runner.invoke(app, ["filter", str(source), "--topic", "politics", "--min-score", "nan"])
    assert result.exit_code == 2 and "nan is not a probability" in result.stderr
    out = tmp_path / "out.jsonl.gz"
    result = runner.invoke(app, ["filter", str(source), "--topic", "politics", "-o", str(out)])
    assert result.exit_code == 2 and "pipe it through gzip" in result.stderr and not out.exists()


def test_the_digest_of_the_ids_read_is_kept_for_the_counts_not_yet_written():
    from types import SimpleNamespace

    from classifier.run.positions import IdTally

    ids = ["a", "b", 7, "a", None]
    tally = IdTally()
    read = list(tally.counted(SimpleNamespace(id=i) for i in ids))
    assert len(read) == 5 and tally.at(0) == 0
    assert tally.at(2) == (id_key("a") + id_key("b")) % 2**64
    assert tally.at(5) == sum(map(id_key, ids)) % 2**64
    with pytest.raises(ValueError):
        tally.at(1)  # let go once a later count was asked
    skipping = IdTally(floor=3)
    list(skipping.counted(SimpleNamespace(id=i) for i in ids))
    assert skipping.at(3) == sum(map(id_key, ids[:3])) % 2**64 and len(skipping._sums) == 3


def test_filter_resume_without_a_side_file_goes_by_ids_and_says_so(tmp_path, tiny_model_path):
    source = write_jsonl(tmp_path / "in.jsonl", [passing("a", 0.9), passing("b", 0.9)])
    out = tmp_path / "out.jsonl"
    common = ("--topic", "politics", "--min-score", "0.5", "--model", str(tiny_model_path))
    assert runner.invoke(app, ["filter", str(source), "-o", str(out), *common]).exit_code == 0
    (tmp_path / "out.jsonl.resume").unlink()
    result = runner.invoke(app, ["filter", str(source), "-o", str(out), *common, "--resume"])
    assert result.exit_code == 0 and "resuming by the ids" in result.stderr and "2 already done" in result.stderr
    assert not (tmp_path / "out.jsonl.resume").exists()  # no count by position after skipping by id
    (tmp_path / "out.jsonl.resume").write_text("not json")
    result = runner.invoke(app, ["filter", str(source), "-o", str(out), *common, "--resume"])
    assert result.exit_code == 2 and "not a side file written by storyfilter" in result.stderr


def test_a_second_run_on_an_output_another_run_is_writing_is_refused_and_changes_nothing(tmp_path, tiny_model_path):
    """A retry while the first run is still alive (its supervisor killed a wrapper) interleaved two runs'
    records in one file; each run holds a lock on its output, and a second one stops before writing."""
    import fcntl

    source = write_jsonl(tmp_path / "in.jsonl", [passing("a", 0.9), passing("b", 0.9)])
    out = tmp_path / "out.jsonl"
    out.write_text('{"id": "a", "half": ')
    model = ("--model", str(tiny_model_path))
    with open(out, "a") as held:  # what a running storyfilter holds
        fcntl.flock(held, fcntl.LOCK_EX)
        for command in (
            ["label", str(source), "-o", str(out), *model],
            ["label", str(source), "-o", str(out), "--resume", *model],
            ["filter", str(source), "--topic", "politics", "-o", str(out), *model],
        ):
            result = runner.invoke(app, command)
            assert result.exit_code == 2 and f"another run is writing {out}" in result.stderr, result.output
            assert out.read_text() == '{"id": "a", "half": ' and not (tmp_path / "out.jsonl.resume").exists()
    result = runner.invoke(app, ["label", str(source), "-o", str(out), "--resume", *model])  # the lock let go
    assert result.exit_code == 0 and [json.loads(line)["id"] for line in out.read_text().splitlines()] == ["a", "b"]


def test_a_worker_process_leaves_its_model_out_of_the_garbage_collectors_full_passes(tiny_model, tmp_path):
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from classifier.run.workers import _start_worker

    model_file = tmp_path / "model.pickle"
    model_file.write_bytes(pickle.dumps(tiny_model))
    with ProcessPoolExecutor(1, get_context("spawn"), initializer=_start_worker, initargs=(str(model_file),)) as pool:
        assert pool.submit(gc.get_freeze_count).result(timeout=120) > 10_000


KILLED_MAIN = """
import os, signal, sys, time
from classifier.run.ordered import Isolation
from classifier.run.workers import WorkerPool

if __name__ == "__main__":
    pool = WorkerPool({"a": "model"}, 2, Isolation(probe=lambda: None, stand_in=lambda item: None))
    futures = [pool._executor.submit(time.sleep, 120) for _ in range(2)]
    time.sleep(4)  # the workers start, read the model and wait on their sleep
    print(pool._model_file, *pool._executor._processes, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def _running(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status  # a zombie no one reaps has ended


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads process states from /proc")
def test_workers_end_and_remove_the_model_file_when_the_main_process_is_killed(tmp_path):
    script = tmp_path / "killed.py"
    script.write_text(KILLED_MAIN)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == -signal.SIGKILL, done.stderr
    model_file, *pids = done.stdout.split()
    assert len(pids) == 2
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (any(map(_running, map(int, pids))) or os.path.exists(model_file)):
        time.sleep(0.2)
    assert not any(_running(int(pid)) for pid in pids)
    assert not os.path.exists(model_file)
