import gc
import json

from typer.testing import CliRunner

from classifier.cli.app import app

from .conftest import EXAMPLES, write_jsonl

runner = CliRunner()


def records(output):
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_label_a_text_page(tiny_model_path):
    result = runner.invoke(app, ["label", str(EXAMPLES / "harbour.txt"), "--model", str(tiny_model_path)])
    assert result.exit_code == 0, result.output
    [record] = records(result.stdout)
    assert record["id"] == "harbour" and record["model"] == "tiny@1"
    assert set(record) >= {"segments", "story", "topics", "tags"}
    text = (EXAMPLES / "harbour.txt").read_text()
    for segment in record["segments"]:
        assert text[segment["start"] : segment["end"]] == segment["text"]
        assert segment["label"] in ("story", "chrome") and 0 <= segment["score"] <= 1


def test_the_labelling_process_leaves_its_model_out_of_garbage_collection(tiny_model_path):
    # With --workers 1 the command's own process labels: its collector should not walk the model each chunk.
    gc.unfreeze()
    result = runner.invoke(app, ["label", str(EXAMPLES / "harbour.txt"), "--model", str(tiny_model_path)])
    assert result.exit_code == 0, result.output
    assert gc.get_freeze_count() > 0


def test_label_jsonl_to_a_file_keeps_order_and_reports_failures(tiny_model_path, tmp_path):
    source = write_jsonl(
        tmp_path / "in.jsonl",
        [{"id": "a", "text": "Hello there.", "feed": "x"}, {"id": "b"}, {"id": "c", "text": "Bye."}],
    )
    out = tmp_path / "out.jsonl"
    result = runner.invoke(
        app, ["label", str(source), "-o", str(out), "--model", str(tiny_model_path), "--no-segments"]
    )
    assert result.exit_code == 1
    rows = records(out.read_text())
    assert [r["id"] for r in rows] == ["a", "b", "c"]
    assert rows[0]["feed"] == "x" and "segments" not in rows[0]
    assert rows[1]["error"]["type"] == "InputError"


def test_usage_errors_exit_2_and_write_nothing(tiny_model_path, tmp_path):
    result = runner.invoke(app, ["label", str(tmp_path / "missing.txt"), "--model", str(tiny_model_path)])
    assert result.exit_code == 2 and "input not found" in result.stderr
    out = tmp_path / "no" / "such" / "dir" / "out.jsonl"
    result = runner.invoke(
        app, ["label", str(EXAMPLES / "harbour.txt"), "-o", str(out), "--model", str(tiny_model_path)]
    )
    assert result.exit_code == 2 and "output directory does not exist" in result.stderr
    assert not out.parent.exists()


def test_model_errors_exit_3(tmp_path):
    result = runner.invoke(app, ["label", str(EXAMPLES / "harbour.txt"), "--model", str(tmp_path / "none.model")])
    assert result.exit_code == 3
    assert "model file not found" in result.stderr


def test_evaluate_prints_story_f1(tiny_model_path, tmp_path):
    from .conftest import CORPUS_PAGES

    lines = CORPUS_PAGES.read_text(encoding="utf-8").splitlines()[1:8:2]
    data = tmp_path / "eval.jsonl"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = runner.invoke(
        app, ["evaluate", str(data), "--model", str(tiny_model_path), "--report", str(tmp_path / "rep")]
    )
    assert result.exit_code == 0, result.output
    assert "story F1" in result.stdout and "line accuracy" in result.stdout
    report = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert len(report["pages"]) == 4 and {"story_curve", "reliability", "page_f1"} <= set(report["plots"])
    page = (tmp_path / "rep" / "report.html").read_text()
    for picture in ("story_pr.png", "reliability.png", "page_f1.png"):
        assert (tmp_path / "rep" / picture).stat().st_size > 1000 and picture in page


def test_train_writes_a_bundle_that_labels(tmp_path, monkeypatch):
    from .conftest import CORPUS_PAGES

    lines = CORPUS_PAGES.read_text(encoding="utf-8").splitlines()[::6][:60]
    data = tmp_path / "train.jsonl"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "models" / "mine.model"
    monkeypatch.setattr("classifier.training.progress.TIMED_ENOUGH", 0.0)  # (this small run's stage: seconds)
    result = runner.invoke(
        app, ["train", str(data), "--out", str(out), "--no-validate", "--cache", str(tmp_path / "cache")]
    )
    assert result.exit_code == 0, result.output
    stages = [line for line in result.stderr.splitlines() if line.startswith("[")]
    assert [line[:22] for line in stages] == ["[1/2] text: fitting: 6", "[2/2] topics: fitting:"]
    assert stages[1].endswith(" left)")  # once a stage has been timed, the time left
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["training_data"][0]["documents"] == 60
    result = runner.invoke(app, ["label", str(EXAMPLES / "harbour.txt"), "--model", str(out)])
    assert result.exit_code == 0


def test_help_and_version_start_without_loading_scikit_learn_numpy_or_scipy():
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from classifier.cli.app import app\n"
        "try:\n    app(['--version'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('sklearn', 'numpy', 'scipy', 'joblib') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    from classifier.versions import package_version

    assert result.stdout.splitlines() == [f"storyfilter {package_version()}", "[]"]


def test_labelling_a_text_page_imports_no_warc_dask_service_or_validation_library(tiny_model_path, tmp_path):
    # pydantic: typer 0.29 and later build a validator with it for every option at each start (pyproject pins below).
    import subprocess
    import sys

    out = tmp_path / "out.jsonl"
    command = [
        "label",
        str(EXAMPLES / "harbour.txt"),
        "--model",
        str(tiny_model_path),
        "--workers",
        "1",
        "-o",
        str(out),
    ]
    probe = (
        "import sys\n"
        "from classifier.cli.app import app\n"
        f"try:\n    app({command!r})\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('warcio', 'fsspec', 'distributed', 'fastapi', 'uvicorn', 'pydantic') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.stdout.splitlines()[-1] == "[]"
    assert json.loads(out.read_text())["id"]


def test_the_console_entry_point_writes_every_record_before_it_exits(tiny_model_path, tmp_path):
    # main() leaves the objects alive at exit to the process's end (gc.freeze): nothing written may be lost.
    import subprocess
    import sys

    out = tmp_path / "out.jsonl"
    pages = [str(EXAMPLES / "harbour.txt"), str(EXAMPLES / "harbour.html")]
    for target in (["-o", str(out)], []):
        argv = ["storyfilter", "label", *pages, "--model", str(tiny_model_path), "--workers", "1", *target]
        probe = f"import sys\nfrom classifier.cli.app import main\nsys.argv = {argv!r}\nmain()"
        result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        records = [json.loads(line) for line in (out.read_text() if target else result.stdout).splitlines()]
        assert len(records) == 2 and all(record["story"] for record in records)


def test_a_file_of_a_format_we_do_not_read_is_a_usage_error_before_any_output(tiny_model_path, tmp_path):
    table = tmp_path / "table.csv"
    table.write_text("id,text\n1,hello\n")
    out = tmp_path / "out.jsonl"
    args = ["label", str(EXAMPLES / "harbour.txt"), str(table), "-o", str(out), "--model", str(tiny_model_path)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and not out.exists()
    assert "table.csv: its suffix (.csv) is not a format storyfilter reads" in result.stderr
    assert "--format text" in result.stderr
    assert runner.invoke(app, [*args, "--format", "text"]).exit_code == 0


def test_a_page_piped_in_without_format_is_one_error_record(tiny_model_path):
    page = (EXAMPLES / "harbour.txt").read_text(encoding="utf-8")
    result = runner.invoke(app, ["label", "-", "--model", str(tiny_model_path)], input=page)
    assert result.exit_code == 1
    [record] = records(result.stdout)
    assert record["id"] == "stdin" and "--format text or --format html" in record["error"]["message"]
    result = runner.invoke(app, ["label", "-", "--format", "text", "--model", str(tiny_model_path)], input=page)
    assert result.exit_code == 0 and records(result.stdout)[0]["story"]


def test_a_record_written_by_label_and_corrected_by_hand_is_a_training_record(tiny_model_path, tmp_path):
    from classifier.corpus.documents import read_training_jsonl
    from classifier.records import Label
    from classifier.training.fit import assemble

    result = runner.invoke(
        app, ["label", str(EXAMPLES / "harbour.txt"), "--with-text", "--model", str(tiny_model_path)]
    )
    [record] = records(result.stdout)
    assert record["text"] == (EXAMPLES / "harbour.txt").read_text(encoding="utf-8")
    corrected = {**record, "segments": [dict(s) for s in record["segments"]], "tags": ["politics"]}
    headline = next(i for i, s in enumerate(corrected["segments"]) if s["text"].startswith("Harbour cranes"))
    corrected["segments"][headline]["label"] = "story"  # the analyst's correction
    corrected["segments"][0]["label"] = "chrome"
    path = write_jsonl(tmp_path / "corrected.jsonl", [corrected])
    [document] = read_training_jsonl(path)
    assert document.text == record["text"]
    assert [str(Label(label)) for label in document.labels] == [s["label"] for s in corrected["segments"]]
    assert document.topics == ("politics",) and document.story is None  # the model's story is no gold
    data = assemble([document])  # what `train` fits on
    assert len(data.labels) == len(record["segments"]) and data.labels.tolist().count(1) == sum(
        s["label"] == "story" for s in corrected["segments"]
    )


def test_a_record_written_without_its_text_says_to_label_with_text(tiny_model_path, tmp_path):
    from classifier.corpus.documents import read_training_jsonl
    from classifier.errors import TrainingDataError

    result = runner.invoke(app, ["label", str(EXAMPLES / "harbour.txt"), "--model", str(tiny_model_path)])
    path = write_jsonl(tmp_path / "labelled.jsonl", records(result.stdout))
    try:
        list(read_training_jsonl(path))
    except TrainingDataError as error:
        assert "--with-text" in str(error)
    else:
        raise AssertionError("a record without its text was read as training data")


def test_an_output_that_is_an_input_or_would_be_read_back_is_a_usage_error(tiny_model_path, tmp_path):
    pages = tmp_path / "pages.jsonl"
    write_jsonl(pages, [{"id": "a", "text": "Police closed the port road on Monday."}])
    before = pages.read_bytes()
    for command in (["label"], ["filter", "--topic", "militia"]):
        for resume in ([], ["--resume"]):
            args = [*command, str(pages), "-o", str(pages), *resume, "--model", str(tiny_model_path)]
            result = runner.invoke(app, args)
            assert result.exit_code == 2 and "is also an input" in result.stderr
            assert pages.read_bytes() == before  # left as it was
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "page.txt").write_text("Police closed the port road on Monday.\n", encoding="utf-8")
    inside = folder / "records.jsonl"
    result = runner.invoke(app, ["label", str(folder), "-o", str(inside), "--model", str(tiny_model_path)])
    assert result.exit_code == 2 and "inside the input directory" in result.stderr and not inside.exists()
    # A file of no input kind inside it is never read back: that is allowed.
    result = runner.invoke(
        app, ["label", str(folder), "-o", str(folder / "records.out"), "--model", str(tiny_model_path)]
    )
    assert result.exit_code == 0 and len(records((folder / "records.out").read_text())) == 1


def test_a_link_to_nothing_in_an_input_directory_gets_its_error_record(tiny_model_path, tmp_path):
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "a.txt").write_text("Police closed the port road on Monday.\n", encoding="utf-8")
    (folder / "b.txt").symlink_to(tmp_path / "gone.txt")
    (folder / "c.csv").symlink_to(tmp_path / "gone.csv")  # not a kind we read: not a page
    result = runner.invoke(app, ["label", str(folder), "--no-segments", "--model", str(tiny_model_path)])
    assert result.exit_code == 1
    found = records(result.stdout)
    assert [r["id"] for r in found] == ["a", "b"] and found[1]["error"]["type"] == "InputError"
    assert "cannot read" in found[1]["error"]["message"]


def test_evaluate_reads_a_line_that_is_not_utf8_and_says_when_there_is_nothing_to_evaluate(tiny_model_path, tmp_path):
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(b'{"id": "q", "text": "Caf\xe9 owners say police raided the port.", "topics": ["militia"]}\n')
    result = runner.invoke(app, ["evaluate", str(latin), "--model", str(tiny_model_path)])
    assert result.exit_code == 0 and "topics: 1 documents" in result.stdout, result.output
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(bytes(range(256)) * 8)
    result = runner.invoke(app, ["evaluate", str(binary), "--model", str(tiny_model_path)])
    assert result.exit_code == 2 and "binary" in result.stderr and "Traceback" not in result.output
    bare = tmp_path / "bare.jsonl"
    write_jsonl(bare, [{"id": "q", "text": "Police closed the port road on Monday."}])
    result = runner.invoke(app, ["evaluate", str(bare), "--model", str(tiny_model_path)])
    assert result.exit_code == 2 and "nothing to evaluate" in result.stderr
    taken = tmp_path / "taken"
    taken.write_text("")
    result = runner.invoke(app, ["evaluate", str(latin), "--report", str(taken), "--model", str(tiny_model_path)])
    assert result.exit_code == 2 and "is a file" in result.stderr and "topics:" not in result.stdout
    folder = tmp_path / "rep"
    (folder / "report.json").mkdir(parents=True)  # where the report writes a file: found before labelling
    result = runner.invoke(app, ["evaluate", str(latin), "--report", str(folder), "--model", str(tiny_model_path)])
    assert result.exit_code == 2 and "report.json is a folder" in result.stderr and "topics:" not in result.stdout
    result = runner.invoke(
        app, ["evaluate", str(latin), "--report", str(taken / "sub"), "--model", str(tiny_model_path)]
    )
    assert result.exit_code == 2 and "is a file, where the report's folder" in result.stderr


def test_evaluate_says_so_when_its_report_cannot_be_written_after_the_figures(tiny_model_path, tmp_path, monkeypatch):
    import classifier.evaluation.report as report_module

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(report_module, "write_report", full_disk)
    latin = write_jsonl(tmp_path / "latin.jsonl", [{"id": "q", "text": "Police raided the port.", "topics": []}])
    result = runner.invoke(
        app, ["evaluate", str(latin), "--report", str(tmp_path / "rep"), "--model", str(tiny_model_path)]
    )
    assert result.exit_code == 4 and "topics: 1 documents" in result.stdout  # the figures were printed first
    assert "the report could not be written" in result.stderr and "No space left" in result.stderr
    assert "Traceback" not in result.output


def test_evaluate_warns_of_gold_tags_the_model_does_not_tag_and_names_a_folder_that_is_no_corpus(
    tiny_model_path, tmp_path
):
    typo = write_jsonl(tmp_path / "typo.jsonl", [{"id": "q", "text": "Police raided the port.", "topics": ["Militia"]}])
    result = runner.invoke(app, ["evaluate", str(typo), "--model", str(tiny_model_path)])
    assert result.exit_code == 0 and "topics: 1 documents" in result.stdout, result.output
    assert "warning: gold tags the model does not tag, counted as missed: Militia" in result.stderr
    assert "militia" in result.stderr.split("(it tags")[1]
    assert "Militia" in result.stdout and "AP -" in result.stdout.split("Militia")[1].splitlines()[0]  # never scored
    result = runner.invoke(app, ["evaluate", str(tmp_path), "--model", str(tiny_model_path)])
    assert result.exit_code == 2 and "is a folder but not a web-page corpus" in result.stderr


def test_evaluate_scores_every_tagged_page_or_none_and_says_which_are_in_a_language_it_does_not_tag(
    tiny_model_path, tmp_path
):
    lines = "\n".join(f"Line {n} of a long page about the militia." for n in range(30))
    pages = [{"id": "ok", "text": "Police raided the port.", "topics": ["militia"]}]
    data = write_jsonl(tmp_path / "long.jsonl", [*pages, {"id": "long", "text": lines, "topics": ["militia"]}])
    result = runner.invoke(app, ["evaluate", str(data), "--model", str(tiny_model_path), "--max-segments", "20"])
    assert result.exit_code == 2 and "long: the model cannot label this page (TooLargeError" in result.stderr
    result = runner.invoke(app, ["evaluate", str(data), "--model", str(tiny_model_path), "--max-segments", "40"])
    assert result.exit_code == 0 and "topics: 2 documents" in result.stdout, result.output
    german = (
        "Die Polizei hat am Montag den Hafen der Stadt durchsucht, nachdem bewaffnete Männer dort gesehen worden waren.\n\n"
        "Die Regierung sagte am Abend, die Lage sei ruhig geblieben und niemand sei verletzt worden.\n\n"
        "Ein Sprecher der Behörden kündigte an, die Kontrollen würden in den kommenden Tagen fortgesetzt."
    )
    data = write_jsonl(tmp_path / "de.jsonl", [*pages, {"id": "de", "text": german, "topics": ["militia"]}])
    result = runner.invoke(app, ["evaluate", str(data)])  # the shipped model, which tells German from its story
    assert result.exit_code == 0 and "note: 1 of 2 documents are in a language the topic stage does not tag" in (
        result.stderr
    )


def test_a_model_folder_given_for_the_model_file_says_so(tmp_path):
    result = runner.invoke(app, ["label", str(EXAMPLES / "harbour.txt"), "--model", str(tmp_path)])
    assert result.exit_code == 3 and "is a directory: give the model file" in result.stderr


def test_a_ctrl_c_while_the_labelling_modules_import_is_held_and_stops_the_run_after():
    """An interrupt inside a native module's initialisation can become an ImportError that a retry swallows."""
    import os
    import signal
    import time

    import pytest

    from classifier.cli.exits import ctrl_c_held

    finished = False
    # As Python sets it up in a foreground process (a job a shell runs in the background inherits SIGINT
    # ignored, and ctrl_c_held leaves an ignored Ctrl-C ignored).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt), ctrl_c_held():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)  # the handler runs here: held, not raised
            finished = True
        assert finished and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, previous)


def test_a_ctrl_c_in_train_says_so_in_one_line_without_labels_resume_hint(tmp_path, monkeypatch):
    import classifier.training.fit

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(classifier.training.fit, "train", interrupted)
    data = write_jsonl(tmp_path / "pages.jsonl", [{"id": "a", "text": "A page.", "story": "A page."}])
    result = runner.invoke(app, ["train", str(data), "--out", str(tmp_path / "m.model")])
    assert result.exit_code == 130 and result.stderr.strip() == "storyfilter: interrupted by Ctrl-C"
    assert not (tmp_path / "m.model").exists()


def test_evaluate_breaks_its_scores_down_by_how_pages_were_read(tiny_model_path, tmp_path):
    html = (EXAMPLES / "harbour.html").read_text(encoding="utf-8")
    text = (EXAMPLES / "harbour.txt").read_text(encoding="utf-8")
    story = text.split("\n\n")[3]  # the story's first paragraph: enough to score both readings
    data = write_jsonl(
        tmp_path / "both.jsonl", [{"id": "t", "text": text, "story": story}, {"id": "h", "html": html, "story": story}]
    )
    result = runner.invoke(app, ["evaluate", str(data), "--model", str(tiny_model_path)])
    assert result.exit_code == 0, result.output
    rows = result.stdout.split("by reading:")[1].splitlines()[1:3]
    assert [row.split()[0] for row in rows] == ["html", "text"] and all("1 page " in row for row in rows)
