"""Benchmark: the memory a worker needs for one document at the limits, and for one refused.

Each case runs in a fresh process with the shipped model: it labels one
made-up page once (to warm up) and reports its peak resident memory before
and after labelling the page and writing its record (with segments), and
the time taken. The pages: plain text at the segment limit (short lines,
and lines long enough to reach the character limit too), HTML at the
segment limit, and a page of 4,000,000 one-character lines, which is
refused.

    python bench/limits.py
    python bench/limits.py --max-segments 50000 --max-chars 5000000

Needs Linux or macOS (``resource``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from classifier.limits import DEFAULT_MAX_CHARS, DEFAULT_MAX_SEGMENTS

CASE = """
import json, resource, sys, time
from classifier import DocumentLimits, TooLargeError, load_model

kind, segments, chars = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
model = load_model(limits=DocumentLimits(segments, chars))
model.label("A line to warm up.\\nAnother line.")
resting = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if kind == "text-short":
    page = {"text": "".join(f"Line {i}\\n" for i in range(segments))}
elif kind == "text-long":
    width = max(chars // segments - 1, 1)
    page = {"text": "".join(f"Line {i} ".ljust(width, "x") + "\\n" for i in range(segments))}
elif kind == "html":
    page = {"html": "<html><body>" + "".join(f"<p>Paragraph {i} of the page</p>" for i in range(segments)) + "</body></html>"}
else:  # refused: 4,000,000 one-character lines
    page = {"text": "a\\n" * 4_000_000}
started = time.perf_counter()
try:
    record = json.dumps(model.label(**page).to_record(), ensure_ascii=False)
    outcome = f"labelled, record {len(record) / 2**20:.1f} MB"
except TooLargeError as error:
    outcome = f"refused ({error.limit})"
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
size = len(page.get("text") or page.get("html"))
print(json.dumps({"case": kind, "chars": size, "outcome": outcome, "seconds": round(seconds, 2),
                  "resting_mb": round(resting / 1024), "peak_mb": round(peak / 1024)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-segments", type=int, default=DEFAULT_MAX_SEGMENTS)
    parser.add_argument("--max-chars", type=int, default=DEFAULT_MAX_CHARS)
    args = parser.parse_args()
    print("| page | characters | outcome | seconds | resting MB | peak MB | peak - resting |")
    print("|---|---|---|---|---|---|---|")
    for kind in ("text-short", "text-long", "html", "refused"):
        command = [sys.executable, "-c", CASE, kind, str(args.max_segments), str(args.max_chars)]
        row = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
        print(
            f"| {row['case']} | {row['chars']:,} | {row['outcome']} | {row['seconds']} | {row['resting_mb']} "
            f"| {row['peak_mb']} | {row['peak_mb'] - row['resting_mb']} |"
        )


if __name__ == "__main__":
    main()
