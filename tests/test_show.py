"""`storyfilter show`: a labelled page as it reads in an 80-column terminal."""

from __future__ import annotations

import json
import re

from typer.testing import CliRunner

from classifier.cli.app import app

from .conftest import EXAMPLES, shared_path

runner = CliRunner()
WIDTH = {"COLUMNS": "80", "LINES": "50"}
MARGIN = re.compile(r"^(\d\.\d\d) (\S.*)$")


def show(*args: str, color: bool = False):
    env = {**WIDTH, **({"FORCE_COLOR": "1"} if color else {"NO_COLOR": "1", "TERM": "dumb"})}
    return runner.invoke(app, ["show", *args], env=env)


def scored_rows(output: str) -> list[tuple[float, str]]:
    """The (score, first line of text) of each segment shown."""
    return [(float(m.group(1)), m.group(2).rstrip()) for line in output.splitlines() if (m := MARGIN.match(line))]


def story_or_chrome(coloured: str) -> list[bool]:
    """For each segment shown in colour, whether it is shown as story (not dimmed)."""
    shown = []
    for line in coloured.splitlines():
        match = MARGIN.match(re.sub(r"\x1b\[[0-9;]*m", "", line))
        if match:
            shown.append("\x1b[2m" not in line.split(match.group(1), 1)[1])
    return shown


def test_the_example_page_reads_in_80_columns_with_scores_and_tags():
    page = shared_path("examples", "amara.txt")
    expected = json.loads(shared_path("examples", "amara.expected.json").read_text(encoding="utf-8"))
    result = show(str(page))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines)
    assert lines[0].startswith("amara  default@") and "16 story / 26 chrome lines" in lines[0]
    assert re.search(
        r"tags: security_operation [01]\.\d\d \(tag at 0\.\d\d\)\s+militia [01]\.\d\d", " ".join(lines[1:3])
    )
    rows = scored_rows(result.stdout)
    assert len(rows) == 42  # every non-empty line of the page, each with its score in the margin
    assert story_or_chrome(show(str(page), color=True).stdout) == [s["label"] == "story" for s in expected["segments"]]
    for (_, shown), segment in zip(rows, expected["segments"]):
        assert segment["text"].startswith(shown)  # each line's beginning, wrapped after it


def test_chrome_is_dimmed_and_story_is_not(tiny_model_path):
    result = show(str(EXAMPLES / "harbour.txt"), "--model", str(tiny_model_path), color=True)
    assert result.exit_code == 0, result.output
    record = json.loads(
        runner.invoke(app, ["label", str(EXAMPLES / "harbour.txt"), "--model", str(tiny_model_path)]).stdout
    )
    labels = [segment["label"] == "story" for segment in record["segments"]]
    assert story_or_chrome(result.stdout) == labels and any(labels) and not all(labels)


def test_only_story_leaves_the_chrome_out(tiny_model_path):
    every = scored_rows(show(str(EXAMPLES / "harbour.txt"), "--model", str(tiny_model_path)).stdout)
    story = scored_rows(show(str(EXAMPLES / "harbour.txt"), "--model", str(tiny_model_path), "--only", "story").stdout)
    coloured = story_or_chrome(show(str(EXAMPLES / "harbour.txt"), "--model", str(tiny_model_path), color=True).stdout)
    assert story == [row for row, is_story in zip(every, coloured) if is_story] and len(story) < len(every)


def test_a_labelled_record_is_shown_as_it_is_without_a_model(tiny_model_path, tmp_path):
    out = tmp_path / "labelled.jsonl"
    for page in ("harbour.txt", "harbour.html"):
        result = runner.invoke(app, ["label", str(EXAMPLES / page), "-o", str(out), "--model", str(tiny_model_path)])
        assert result.exit_code == 0
        direct = show(str(EXAMPLES / page), "--model", str(tiny_model_path))
        again = show(str(out), "--model", str(tmp_path / "no-such-model.model"))  # never loaded
        assert again.exit_code == 0, again.output
        assert scored_rows(again.stdout) == scored_rows(direct.stdout) != []


def test_a_page_that_fails_is_shown_as_its_error(tiny_model_path, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x"}\n')
    result = show(str(bad), "--model", str(tiny_model_path))
    assert result.exit_code == 1 and "InputError" in result.stdout and "Traceback" not in result.output


def test_what_is_shown_can_be_saved_as_a_picture(tiny_model_path, tmp_path):
    picture = tmp_path / "page.svg"
    result = show(str(EXAMPLES / "harbour.txt"), "--model", str(tiny_model_path), "--svg", str(picture))
    assert result.exit_code == 0, result.output
    svg = picture.read_text(encoding="utf-8")
    assert svg.startswith("<svg") and "storyfilter&#160;show&#160;harbour.txt" in svg and "Elnor" in svg
    nowhere = tmp_path / "no" / "such" / "page.svg"
    result = show(str(EXAMPLES / "harbour.txt"), "--model", str(tiny_model_path), "--svg", str(nowhere))
    assert result.exit_code == 2 and "directory does not exist" in result.stderr and "Elnor" not in result.stdout
    result = show(str(EXAMPLES / "harbour.txt"), "--model", str(tiny_model_path), "--svg", str(tmp_path))
    assert result.exit_code == 2 and "is a directory" in result.stderr and "Elnor" not in result.stdout


def test_show_into_a_closed_pipe_exits_141_as_label_does(tiny_model_path, tmp_path):
    import subprocess
    import sys

    page = tmp_path / "long.txt"
    page.write_text("\n".join(f"Line {n} of a long page about the harbour strike." for n in range(3000)))
    command = f"{sys.executable} -m classifier show {page} --model {tiny_model_path} | head -1; exit ${{PIPESTATUS[0]}}"
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=300)
    assert done.returncode == 141, done.stderr
    assert "Traceback" not in done.stderr


def test_show_on_a_terminal_goes_through_the_pager(tiny_model_path, tmp_path):
    import os
    import pty
    import subprocess
    import sys

    paged = tmp_path / "paged.txt"
    picture = tmp_path / "paged.svg"
    primary, secondary = pty.openpty()
    environment = dict(os.environ, PAGER=f"cat > {paged}", COLUMNS="100")
    environment.pop("LESS", None)
    command = ["show", str(EXAMPLES / "harbour.txt"), "--model", str(tiny_model_path), "--svg", str(picture)]
    done = subprocess.run(
        [sys.executable, "-m", "classifier", *command],
        stdin=secondary,
        stdout=secondary,
        stderr=subprocess.PIPE,
        env=environment,
        timeout=300,
    )
    os.close(secondary)
    os.close(primary)
    assert done.returncode == 0, done.stderr
    assert "Harbour cranes stand idle" in paged.read_text()
    assert "Harbour&#160;cranes&#160;stand&#160;idle" in picture.read_text(encoding="utf-8")  # the picture too


def test_a_lone_surrogate_is_shown_as_the_replacement_character(tiny_model_path, tmp_path):
    page = tmp_path / "surrogate.jsonl"
    page.write_text('{"id": "s\\udc00", "text": "Police said \\ud800 the raid ended at the port."}\n')
    out = tmp_path / "labelled.jsonl"
    assert runner.invoke(app, ["label", str(page), "-o", str(out), "--model", str(tiny_model_path)]).exit_code == 0
    for shown in (page, out):  # labelled now, or read back from label's records
        result = show(str(shown), "--model", str(tiny_model_path))
        assert result.exit_code == 0, result.output
        assert "said \ufffd the raid" in result.stdout and "s\ufffd" in result.stdout


def test_a_pages_escape_sequences_are_shown_not_obeyed(tiny_model_path, tmp_path):
    page = tmp_path / "escapes.txt"
    page.write_text("Police said \x1b[31mthe raid\x1b[0m ended \x07at the port.\x1b]0;title\x07\n", encoding="utf-8")
    result = show(str(page), "--model", str(tiny_model_path))
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "said \u241b[31mthe raid\u241b[0m ended \u2407at" in result.stdout


def test_blank_rows_stand_only_where_the_page_has_blank_lines(tiny_model_path, tmp_path):
    page = tmp_path / "crlf.txt"  # line ends CRLF, a trailing space, an indented line, one blank line
    page.write_bytes(
        b"Headline of the page \r\nThe first line of the story.\r\n  The second, indented.\r\n\r\nMore.\r\n"
    )
    labelled = tmp_path / "crlf.jsonl"
    runner.invoke(app, ["label", str(page), "-o", str(labelled), "--with-text", "--model", str(tiny_model_path)])
    for shown in (show(str(page), "--model", str(tiny_model_path)), show(str(labelled))):
        rows = shown.stdout.split("\u2500" * 80)[-1].strip("\n").splitlines()
        assert [bool(MARGIN.match(row)) for row in rows] == [True, True, True, False, True], shown.stdout
