"""Benchmark: memory of a long Dask run, client, scheduler and worker, at two sizes.

Starts a Dask scheduler and one worker (one process, one thread) on
loopback, labels N generated pages of about 20 KB (``--repeat`` lines of a
fixed pair) with ``storyfilter label --scheduler``, samples VmRSS of the
three every 0.5 s and prints each one's peak, for each size asked. A
storyfilter that kept something per chunk would grow with N; so does the
worker's statistical profiler (a profile a second for its last 1,000 s of
work), which ``--worker-env`` can turn off:

    python bench/dask_memory.py --sizes 10000 100000
    python bench/dask_memory.py --sizes 10000 100000 --worker-env DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False

Needs Linux (/proc) and ``pip install 'storyfilter[dask]'``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
LINES = "Police arrested a man on Tuesday after a long chase through the city centre, officials said.\nHome | News | Sport\n"


def rss(pid: int) -> int:
    """Resident memory of a process, in MB (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


def descendants(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    children = [int(child) for child in found]
    return children + [grandchild for child in children for grandchild in descendants(child)]


def run(size: int, args, folder: Path) -> dict:
    path = folder / f"in-{size}.jsonl"
    with open(path, "w") as handle:
        for number in range(size):
            handle.write(json.dumps({"id": f"d{number}", "text": LINES * args.repeat}) + "\n")
    port = 20000 + size % 20000
    scheduler = subprocess.Popen(
        [BIN / "dask", "scheduler", "--port", str(port), "--no-dashboard"], stderr=subprocess.DEVNULL
    )
    time.sleep(4)
    worker_env = dict(os.environ, **dict(item.split("=", 1) for item in args.worker_env))
    worker = subprocess.Popen(
        [BIN / "dask", "worker", f"tcp://127.0.0.1:{port}", "--nworkers", "1", "--nthreads", "1", "--no-dashboard"],
        stderr=subprocess.DEVNULL,
        env=worker_env,
    )
    time.sleep(6)
    command = [BIN / "storyfilter", "label", str(path), "--scheduler", f"tcp://127.0.0.1:{port}"]
    command += ["--chunk-size", str(args.chunk_size), "--no-segments", "-o", str(folder / "out.jsonl")]
    client = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    peaks = {"client": 0, "scheduler": 0, "worker": 0}
    started = time.time()
    while client.poll() is None:
        peaks["client"] = max(peaks["client"], rss(client.pid))
        peaks["scheduler"] = max(peaks["scheduler"], rss(scheduler.pid))
        peaks["worker"] = max(peaks["worker"], sum(rss(pid) for pid in descendants(worker.pid)))
        time.sleep(0.5)
    seconds = time.time() - started
    for process in (worker, scheduler):
        process.terminate()
        process.wait()
    with open(folder / "out.jsonl") as written:
        records = sum(1 for _ in written)
    print(
        f"{size:>8} pages  {seconds:6.0f} s  records {records}  peak MB "
        + ", ".join(f"{k} {v}" for k, v in peaks.items())
    )
    return peaks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 30000])
    parser.add_argument("--repeat", type=int, default=180, help="Lines pairs a page (180: about 20 KB).")
    parser.add_argument("--chunk-size", type=int, default=64)
    parser.add_argument("--worker-env", action="append", default=[], help="NAME=VALUE for the worker's environment.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        peaks = [run(size, args, Path(folder)) for size in args.sizes]
    for name in peaks[0]:
        print(f"{name}: largest run's peak / smallest's = {peaks[-1][name] / max(peaks[0][name], 1):.3f}")


if __name__ == "__main__":
    main()
