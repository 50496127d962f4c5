"""Batch scoring throughput: single process vs Dask with 1 and 2 workers, on short documents.

    .venv/bin/python benchmarks/batch_throughput.py [--rows 1000000 200000] [--model-dir DIR]

Builds a SYNTHETIC CSV of CIViC-size statements (~400 characters) per size (cached under
--workdir), trains the default recipe on a synthetic corpus of the same shape unless --model-dir
is given, then times the real `oncoclass predict` (one process) and `oncoclass predict --engine
dask` with a local cluster of 1 and 2 workers. Prints docs/s and microseconds per row, so the
cost per row can be compared across sizes.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from oncoclass.data.synth import SynthSpec, make_corpus

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve_latency import train_once

EXE = str(Path(sys.executable).with_name("oncoclass"))


def write_rows(path: Path, rows: int) -> None:
    """``rows`` statements built by recombining a synthetic corpus's sentences (fast at 10^6)."""
    train, _ = make_corpus(SynthSpec(rows=2000, test_rows=10, doc_chars=400, seed=5))
    rng = np.random.default_rng(0)
    pick = rng.integers(0, len(train), size=rows)
    frame = pd.DataFrame(
        {
            "id": [f"s{i}" for i in range(rows)],
            "gene": train["gene"].to_numpy()[pick],
            "variation": train["variation"].to_numpy()[pick],
            "text": train["text"].to_numpy()[rng.integers(0, len(train), size=rows)],
        }
    )
    frame.to_csv(path, index=False, chunksize=100_000)


def timed(args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run([EXE, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 200_000])
    parser.add_argument("--workdir", default="/tmp/oncoclass-batch-bench")
    parser.add_argument("--model-dir", default=None)
    args = parser.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    shape = SynthSpec(rows=2000, test_rows=10, doc_chars=400, seed=4)
    model = Path(args.model_dir) if args.model_dir else train_once(workdir, shape)
    print("| rows | engine | seconds | docs/s | µs per row |\n|---|---|---|---|---|")
    for rows in args.rows:
        source = workdir / f"rows-{rows}.csv"
        if not source.exists():
            write_rows(source, rows)
        runs = {
            "single process": ["predict", "-m", str(model), "-i", str(source), "-o", str(workdir / "p1.csv")],
        }
        for workers in (1, 2):
            # A scheduler we start, so the worker count is ours to choose.
            runs[f"dask, {workers} worker(s)"] = [
                "predict", "-m", str(model), "-i", str(source), "-o", str(workdir / f"pd{workers}.csv"),
                "--engine", "dask", "--scheduler", f"WORKERS={workers}",
            ]  # fmt: skip
        for name, command in runs.items():
            if "--scheduler" in command:
                seconds = _with_cluster(command, int(command[-1].split("=")[1]))
            else:
                seconds = timed(command)
            print(
                f"| {rows:,} | {name} | {seconds:.1f} | {rows / seconds:,.0f} | {1e6 * seconds / rows:.0f} |",
                flush=True,
            )


def _with_cluster(command: list[str], workers: int) -> float:
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        return timed([*command[:-1], cluster.scheduler_address])


if __name__ == "__main__":
    main()
