"""Fault check, run by hand: label real pages damaged at random and account for every document.

Every page of a web-page corpus (``pages.jsonl`` + ``html/ID.html.gz``) goes
into one input directory, as an HTML file, a text file (its html-text
rendering, as scrapers store pages) or a line of a JSONL file, and most of
them are damaged on the way, each by one kind of damage drawn at random:

* bytes flipped (a few, or one in a hundred), NUL and control bytes put in;
* cut: the file cut short, lines deleted, lines cut in half;
* encodings changed: UTF-16 with and without BOM, UTF-16-BE, UTF-8 with
  BOM, windows-1252, Latin-1, Shift-JIS, KOI8-R (unmappable characters
  replaced), half the page in UTF-8 and half in windows-1252;
* compressed (``.gz``), then cut or with bytes flipped;
* made empty, made pure binary junk, made a 2 MB single line;
* in JSONL (a page as `text`, or as `html` for about a third): a line cut
  in half, bytes flipped inside the text, text in
  Latin-1 bytes, ``text`` missing, null or a number, a line that is not
  an object, no id, the same id twice; one gzipped JSONL file is cut short.

Then ``storyfilter label DIR -o OUT`` runs over the directory (as a
subprocess, with the shipped model unless ``--model``), and the script
checks that stderr holds no traceback, the exit code is 0 or 1, every
output line is a JSON object, and every input document has exactly one
record, in input order: its own id, or ``FILE:LINE`` for a JSONL line whose
damage makes its id unreadable. Lines after the cut of a cut gzipped JSONL
file cannot be read by anyone: one error record must stand for them, and
they are counted apart. With ``--interrupt S`` a second run is stopped by
SIGTERM after S seconds and finished with ``--resume``; its output must be
byte-identical to the first run's.

    python bench/corrupt.py --data ../shared/datasets/web-pages-2026 --seed 1

Prints a table by kind of damage (documents, labelled, error records, and
for text pages whose damage leaves them readable, i.e. none, gzip or
another encoding, how many were misread: their segments do not hold the
page's words, as the encoding left them) and the counts that must be zero:
tracebacks, lost ids, duplicated ids, records out of order. Exits 1 if
any is not zero.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import json
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from classifier.cache import cache_folder
from classifier.corpus.webpages import read_web_pages

ENCODINGS = ("utf-16", "utf-16-le", "utf-16-be", "utf-8-sig", "cp1252", "latin-1", "shift_jis", "koi8-r")


@dataclass
class Expected:
    """One input document: the ids its record may have, and how it was damaged."""

    ids: tuple[str, ...]
    damage: str
    file: str
    cut_off: bool = False  # its line lies after the cut of a cut gzipped JSONL file
    text: str | None = None  # for a text page whose damage keeps it readable: what its segments must hold


# Damage to whole files --------------------------------------------------------


def flip(data: bytes, rng: random.Random, share: float | None = None, avoid: bytes = b"") -> bytes:
    """``data`` with a few bytes (or ``share`` of them) set to random values other than ``avoid``."""
    if not data:
        return data
    out = bytearray(data)
    count = max(1, int(len(data) * share)) if share else rng.randint(1, 8)
    for _ in range(count):
        at = rng.randrange(len(out))
        if out[at] in avoid:
            continue
        value = rng.randrange(256)
        while value in avoid:
            value = rng.randrange(256)
        out[at] = value
    return bytes(out)


def cut_lines(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    kept = []
    for line in lines:
        roll = rng.random()
        if roll < 0.1:
            continue  # deleted
        kept.append(line[: rng.randrange(len(line) + 1)] if roll < 0.2 else line)
    return "\n".join(kept)


def encode(text: str, encoding: str) -> bytes:
    return text.encode(encoding, errors="replace")


def damage_file(raw: bytes, text: str, rng: random.Random) -> tuple[str, bytes, str]:
    """A damage kind, the damaged bytes, and the suffix the file gets (``""`` or ``.gz``)."""
    kind = rng.choice(
        [
            "none",
            "flip few",
            "flip 1%",
            "control bytes",
            "cut short",
            "lines cut",
            "encoding",
            "mixed encodings",
            "gzip",
            "gzip cut",
            "gzip flipped",
            "empty",
            "binary junk",
        ]
    )
    if kind == "flip few":
        return kind, flip(raw, rng), ""
    if kind == "flip 1%":
        return kind, flip(raw, rng, share=0.01), ""
    if kind == "control bytes":
        out = bytearray(raw)
        for _ in range(rng.randint(1, 40)):
            out.insert(rng.randrange(len(out) + 1), rng.choice([0, 1, 7, 8, 11, 12, 27, 127]))
        return kind, bytes(out), ""
    if kind == "cut short":
        return kind, raw[: rng.randrange(len(raw) + 1)], ""
    if kind == "lines cut":
        return kind, cut_lines(text, rng).encode("utf-8"), ""
    if kind == "encoding":
        encoding = rng.choice(ENCODINGS)
        return f"encoding {encoding}", encode(text, encoding), ""
    if kind == "mixed encodings":
        half = len(text) // 2
        return kind, text[:half].encode("utf-8") + encode(text[half:], "cp1252"), ""
    if kind == "gzip":
        return kind, gzip.compress(raw), ".gz"
    if kind == "gzip cut":
        packed = gzip.compress(raw)
        return kind, packed[: rng.randrange(len(packed))], ".gz"
    if kind == "gzip flipped":
        return kind, flip(gzip.compress(raw), rng), ".gz"
    if kind == "empty":
        return kind, b"", ""
    if kind == "binary junk":
        return kind, rng.randbytes(rng.randint(1, 20000)), ""
    return kind, raw, ""


# Damage to JSONL lines ----------------------------------------------------------


def jsonl_line(doc_id: str, field: str, text: str, rng: random.Random) -> tuple[str, bytes, bool]:
    """A damage kind, the line's bytes (without its newline), and whether the id stays readable.

    ``field`` is ``text`` or ``html``.
    """
    kind = rng.choice(
        [
            "none",
            "none",
            "line cut",
            "flip in text",
            "latin-1 text",
            "no text",
            "null text",
            "number text",
            "not an object",
            "no id",
            "control chars in text",
        ]
    )
    head = '{"id": ' + json.dumps(doc_id) + f', "{field}": '
    body = json.dumps(text, ensure_ascii=False) + "}"
    if kind == "line cut":
        whole = (head + body).encode("utf-8")
        return kind, whole[: rng.randrange(len(whole) - 1)], False
    if kind == "flip in text":
        # Only the text's bytes: the id stays as written, or the line stops being JSON.
        return kind, head.encode("utf-8") + flip(body.encode("utf-8"), rng, avoid=b"\n"), False
    if kind == "latin-1 text":
        return kind, (head + body).encode("latin-1", errors="replace"), True
    if kind == "control chars in text":
        return kind, (head + json.dumps("\x00\x07\x1b" + text + "\x7f", ensure_ascii=False) + "}").encode("utf-8"), True
    if kind == "no text":
        return kind, json.dumps({"id": doc_id, "body": text}).encode("utf-8"), True
    if kind == "null text":
        return kind, json.dumps({"id": doc_id, field: None}).encode("utf-8"), True
    if kind == "number text":
        return kind, json.dumps({"id": doc_id, field: 3.5}).encode("utf-8"), True
    if kind == "not an object":
        return kind, json.dumps([doc_id, text]).encode("utf-8"), False
    if kind == "no id":
        return kind, json.dumps({field: text}).encode("utf-8"), False
    return kind, (head + body).encode("utf-8"), True


# Building the input ---------------------------------------------------------------


def build_input(data: Path, directory: Path, rng: random.Random, lines_per_file: int) -> list[Expected]:
    """Write the damaged inputs into ``directory``; the documents they hold, in the order ``label`` reads them."""
    pages = list(read_web_pages(data, renderers=["html-text"], cache=cache_folder()))
    index = [json.loads(line) for line in (data / "pages.jsonl").open(encoding="utf-8")]
    expected: dict[str, list[Expected]] = {}
    jsonl: list[tuple[str, str, str]] = []
    for number, (page, record) in enumerate(zip(pages, index)):
        name = f"p{number:04d}"
        container = rng.choice(["html", "text", "jsonl"])
        raw = gzip.decompress((data / "html" / f"{record['id']}.html.gz").read_bytes())
        if container == "jsonl":
            as_html = rng.random() < 0.3
            jsonl.append(
                (name, "html", raw.decode("utf-8", errors="replace")) if as_html else (name, "text", page.text)
            )
            continue
        if container == "html":
            kind, damaged, gz = damage_file(raw, raw.decode("utf-8", errors="replace"), rng)
        else:
            kind, damaged, gz = damage_file(page.text.encode("utf-8"), page.text, rng)
        file = f"{name}.{'html' if container == 'html' else 'txt'}{gz}"
        (directory / file).write_bytes(damaged)
        readable = None
        if container == "text" and kind in ("none", "gzip"):
            readable = page.text
        elif container == "text" and kind.startswith("encoding "):
            encoding = kind.split()[1]
            readable = encode(page.text, encoding).decode(encoding)  # what survives the encoding
        expected[file] = [Expected((name,), f"{container}: {kind}", file, text=readable)]
    # One page as a 2 MB line, and documents that are nothing but damage.
    (directory / "z-line.txt").write_text(
        " ".join(pages[0].text.split()) * (2_000_000 // max(1, len(pages[0].text))), encoding="utf-8"
    )
    expected["z-line.txt"] = [Expected(("z-line",), "text: 2 MB single line", "z-line.txt")]
    for start in range(0, len(jsonl), lines_per_file):
        write_jsonl_file(directory, jsonl[start : start + lines_per_file], start // lines_per_file, rng, expected)
    return [doc for file in sorted(expected) for doc in expected[file]]


def write_jsonl_file(
    directory: Path,
    items: list[tuple[str, str, str]],
    number: int,
    rng: random.Random,
    expected: dict[str, list[Expected]],
) -> None:
    gzipped = number % 4 == 3
    file = f"j{number:03d}.jsonl" + (".gz" if gzipped else "")
    path = directory / file
    lines, docs = [], []
    for name, field, text in items:
        kind, line, id_kept = jsonl_line(name, field, text, rng)
        lines.append(line)
        where = f"{path}:{len(lines)}"
        readable = text if field == "text" and kind == "none" else None
        docs.append(Expected((name,) if id_kept else (name, where), f"jsonl {field}: {kind}", file, text=readable))
        if rng.random() < 0.03:  # the same id again, on the next line
            lines.append(json.dumps({"id": name, field: text}).encode("utf-8"))
            docs.append(Expected((name,), f"jsonl {field}: same id twice", file))
    raw = b"\n".join(lines) + b"\n"
    if gzipped:
        packed = gzip.compress(raw)
        if number == 3:  # the first gzipped file is cut short: what follows the cut is gone
            packed = packed[: len(packed) // 2]
            for doc in docs:
                doc.cut_off = True  # may be; the check tells the readable ones from the lost
        raw = packed
    path.write_bytes(raw)
    expected[file] = docs


# Checking the output ------------------------------------------------------------------


@dataclass
class Check:
    tracebacks: int = 0
    bad_lines: int = 0
    lost: int = 0
    duplicated: int = 0
    out_of_order: int = 0
    cut_off: int = 0

    def failures(self) -> int:
        return self.tracebacks + self.bad_lines + self.lost + self.duplicated + self.out_of_order


def check(expected: list[Expected], output: bytes, stderr: str, directory: Path) -> tuple[Check, collections.Counter]:
    result = Check(tracebacks=stderr.count("Traceback"))
    records = []
    for line in output.splitlines():
        try:
            record = json.loads(line)
            assert isinstance(record, dict) and "id" in record
            records.append(record)
        except (ValueError, AssertionError):
            result.bad_lines += 1
    outcome: collections.Counter = collections.Counter()
    at = 0
    for doc in expected:
        if at < len(records) and records[at]["id"] in doc.ids:
            outcome[(doc.damage, "error" if "error" in records[at] else "labelled")] += 1
            if doc.text is not None and "segments" in records[at]:
                decoded = " ".join(s["text"] for s in records[at]["segments"])
                if decoded.split() != doc.text.split():
                    outcome[(doc.damage, "misread")] += 1
            if "error" in records[at]:
                outcome[(doc.damage, "why", _reason(records[at]["error"]["message"]))] += 1
            at += 1
        elif (
            doc.cut_off
            and at < len(records)
            and "cannot read past line" in records[at].get("error", {}).get("message", "")
            and records[at]["id"].startswith(str(directory / doc.file))
        ):
            at += 1  # the error record standing for the rest of a cut file, this line included
            result.cut_off += 1
        elif (
            doc.cut_off
            and at > 0
            and "cannot read past line" in records[at - 1].get("error", {}).get("message", "")
            and records[at - 1]["id"].startswith(str(directory / doc.file))
        ):
            result.cut_off += 1  # after the cut: nobody can read it
        else:
            result.lost += 1
            print(
                f"  no record for {doc.ids[0]} ({doc.damage}); next record: {records[at]['id'] if at < len(records) else None}"
            )
    extra = records[at:]
    result.duplicated = len(extra)
    seen = collections.Counter(r["id"] for r in records)
    expected_counts = collections.Counter(d.ids[0] for d in expected)
    result.out_of_order = sum(1 for key, n in seen.items() if key in expected_counts and n > expected_counts[key])
    return result, outcome


def _reason(message: str) -> str:
    """An error message without the file name and line in front and the details in brackets at the end."""
    return re.sub(r"^\S+: ", "", message).split(" (")[0][:60]


def run(command: list[str], interrupt: float | None = None) -> tuple[int, str, float]:
    started = time.perf_counter()
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    if interrupt is not None:
        try:
            process.wait(timeout=interrupt)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate()
    return process.returncode, stderr, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="a web-page corpus: pages.jsonl and html/")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default=None, help="model bundle (default: the shipped one)")
    parser.add_argument("--workers", default="2")
    parser.add_argument("--lines-per-file", type=int, default=40)
    parser.add_argument(
        "--interrupt", type=float, default=None, help="also stop a second run after S seconds and resume it"
    )
    parser.add_argument(
        "--keep", type=Path, default=None, help="build the input here and keep it (default: a temporary directory)"
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as scratch:
        directory = args.keep or Path(scratch) / "in"
        directory.mkdir(parents=True, exist_ok=True)
        expected = build_input(args.data, directory, rng, args.lines_per_file)
        out = Path(scratch) / "out.jsonl"
        command = [
            sys.executable,
            "-m",
            "classifier",
            "label",
            str(directory),
            "-o",
            str(out),
            "--workers",
            args.workers,
        ]
        if args.model:
            command += ["--model", args.model]
        code, stderr, seconds = run(command)
        result, outcome = check(expected, out.read_bytes(), stderr, directory)
        print(
            f"{len(expected)} input documents in {len(list(directory.iterdir()))} files; exit code {code}; {seconds:.1f} s"
        )
        print(f"stderr: {stderr.strip().splitlines()[-1] if stderr.strip() else ''}")
        print(f"\n{'damage':<36} {'documents':>9} {'labelled':>9} {'misread':>7} {'errors':>7}")
        for damage in sorted({key[0] for key in outcome}):
            labelled, errors = outcome[(damage, "labelled")], outcome[(damage, "error")]
            misread = (
                outcome[(damage, "misread")]
                if any(d.damage == damage and d.text is not None for d in expected)
                else "-"
            )
            reasons = "; ".join(
                f"{n} {key[2]}" for key, n in sorted(outcome.items()) if key[0] == damage and len(key) == 3
            )
            print(f"{damage:<36} {labelled + errors:>9} {labelled:>9} {misread:>7} {errors:>7}  {reasons}")
        misread = sum(n for key, n in outcome.items() if key[1] == "misread")
        print(
            f"\ntext pages kept readable by their damage (none, gzip, encodings) whose segments do not hold their "
            f"text: {misread} of {sum(1 for d in expected if d.text is not None)}"
        )
        print(
            f"\nmust be zero: tracebacks {result.tracebacks}, lines that are not JSON records {result.bad_lines}, "
            f"lost ids {result.lost}, extra records {result.duplicated}, ids repeated beyond the input {result.out_of_order}"
        )
        print(
            f"lines from the cut of a cut gzipped JSONL file on (unreadable; one error record stands for them): {result.cut_off}"
        )
        failures = result.failures() + (code not in (0, 1))
        if args.interrupt is not None:
            resumed = Path(scratch) / "resumed.jsonl"
            again = [c if c != str(out) else str(resumed) for c in command]
            first, stderr1, _ = run(again, interrupt=args.interrupt)
            second, stderr2, _ = run([*again, "--resume"])
            same = resumed.read_bytes() == out.read_bytes()
            tracebacks = (stderr1 + stderr2).count("Traceback")
            print(
                f"\nstopped by SIGTERM after {args.interrupt} s: exit {first}; resumed: exit {second}; "
                f"output identical to the uninterrupted run: {same}; tracebacks {tracebacks}"
            )
            failures += (not same) + tracebacks
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
