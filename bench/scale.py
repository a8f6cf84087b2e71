"""Benchmark: `storyfilter label` at corpus scale, with 1 and 2 workers and on a Dask cluster.

The input is made by repeating real pages (every page of a web-page corpus,
rendered to text as scrapers do) under new ids, up to each size asked for,
as one JSONL file. Each mode labels the same file with the shipped model,
writing records with their segments:

* ``1 worker``: ``--workers 1`` (all in the main process);
* ``2 workers``: ``--workers 2`` (two worker processes);
* ``dask``: ``--scheduler`` on a local Dask cluster of two worker processes
  with one thread each, started by this script on loopback.

For each run it prints pages/s (documents over wall time, start-up
included), the speed-up over one worker, and peak resident memory (VmHWM)
of the main process, of the largest worker and of all of them together,
sampled from /proc while the run goes. (Dask runs on a fresh cluster each
time; its workers count, its scheduler, in this script's process, does not.) It checks that every mode wrote
byte-identical output. With ``--repeats`` it prints the median.

    python bench/scale.py --data ../shared/datasets/web-pages-2026 --sizes 10000 100000

Needs Linux (/proc) and, for the Dask mode, ``pip install 'storyfilter[dask]'``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from classifier.cache import cache_folder
from classifier.corpus.webpages import read_web_pages

MODES = ("1 worker", "2 workers", "dask")


def write_input(data: Path, size: int, path: Path) -> None:
    """``size`` documents made by cycling through the corpus's pages, each with its own id."""
    pages = [d.text for d in read_web_pages(data, renderers=["html-text"], cache=cache_folder())]
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(size):
            handle.write(json.dumps({"id": f"doc-{i:07d}", "text": pages[i % len(pages)]}, ensure_ascii=False) + "\n")


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found.extend(int(c) for c in handle.read().split())
    except OSError:
        pass
    return found


def _peak_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


@dataclass
class Peaks:
    """Highest resident memory seen per process (MB)."""

    by_pid: dict[int, float] = field(default_factory=dict)

    def sample(self, pids: list[int]) -> None:
        for pid in pids:
            kb = _peak_kb(pid)
            if kb is not None:
                self.by_pid[pid] = max(self.by_pid.get(pid, 0.0), kb / 1024)


def watch(main_pid: int, worker_pids: list[int], peaks: Peaks, done: threading.Event) -> None:
    """Sample the peaks of the main process, its descendants and the given workers until done."""
    while not done.is_set():
        pids, queue = [], [main_pid]
        while queue:
            pid = queue.pop()
            pids.append(pid)
            queue.extend(_children(pid))
        peaks.sample(pids + worker_pids)
        done.wait(0.25)


@dataclass
class Run:
    mode: str
    size: int
    seconds: float
    main_mb: float
    worker_mb: float
    total_mb: float
    sha256: str

    @property
    def pages_per_second(self) -> float:
        return self.size / self.seconds


def run_once(mode: str, source: Path, size: int, out: Path, scheduler: str | None, dask_pids: list[int]) -> Run:
    command = [
        sys.executable,
        "-c",
        "from classifier.cli.app import main; main()",
        "label",
        str(source),
        "-o",
        str(out),
    ]
    if mode == "dask":
        command += ["--scheduler", scheduler]
    else:
        command += ["--workers", mode.split()[0]]
    peaks, done = Peaks(), threading.Event()
    started = time.perf_counter()
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    watcher = threading.Thread(target=watch, args=(process.pid, dask_pids, peaks, done))
    watcher.start()
    _, stderr = process.communicate()
    seconds = time.perf_counter() - started
    done.set()
    watcher.join()
    if process.returncode != 0:
        raise SystemExit(f"{mode} failed ({process.returncode}): {stderr}")
    main_mb = peaks.by_pid.get(process.pid, 0.0)
    workers = [mb for pid, mb in peaks.by_pid.items() if pid != process.pid]
    digest = hashlib.sha256()
    with open(out, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    out.unlink()
    return Run(mode, size, seconds, main_mb, max(workers, default=0.0), main_mb + sum(workers), digest.hexdigest())


def run_mode(mode: str, source: Path, size: int, out: Path) -> Run:
    """One run; for Dask, on a fresh local cluster (started before the clock, as a user's would be)."""
    if mode != "dask":
        return run_once(mode, source, size, out, None, [])
    from distributed import Client, LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        with Client(cluster.scheduler_address) as client:
            pids = list(client.run(os.getpid).values())
        return run_once(mode, source, size, out, cluster.scheduler_address, pids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("../shared/datasets/web-pages-2026"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    parser.add_argument(
        "--workdir", type=Path, default=None, help="Where the input and outputs go (a temporary directory by default)."
    )
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="storyfilter-scale-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"{os.cpu_count()} cores; input and outputs in {workdir}")
    print(
        f"{'documents':>9}  {'mode':10} {'pages/s':>8} {'speed-up':>8} {'main MB':>8} {'worker MB':>9} {'all MB':>7}  output"
    )
    for size in args.sizes:
        source = workdir / f"input-{size}.jsonl"
        write_input(args.data, size, source)
        medians: dict[str, Run] = {}
        for mode in args.modes:
            runs = [run_mode(mode, source, size, workdir / "out.jsonl") for _ in range(args.repeats)]
            runs.sort(key=lambda r: r.seconds)
            medians[mode] = runs[len(runs) // 2]
        base = medians.get("1 worker")
        digests = {run.sha256 for run in medians.values()}
        for mode, run in medians.items():
            ratio = f"{run.pages_per_second / base.pages_per_second:.2f}x" if base else "-"
            print(
                f"{size:>9}  {mode:10} {run.pages_per_second:8.1f} {ratio:>8} {run.main_mb:8.0f} {run.worker_mb:9.0f} "
                f"{run.total_mb:7.0f}  {run.sha256[:12]}"
            )
        print(f"{'':>9}  outputs identical across modes: {'yes' if len(digests) == 1 else 'NO'}")
        source.unlink()
    if args.repeats > 1:
        print(f"(medians of {args.repeats} runs)")


if __name__ == "__main__":
    main()
