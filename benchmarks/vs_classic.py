"""oncoclass against the classic notebook pipeline on the same Kaggle-format full-text corpus.

    .venv/bin/python benchmarks/vs_classic.py [--scale 1 3] [--model default]

For each scale, a SYNTHETIC corpus in Kaggle's format (3,321 × scale training documents of
~52 KB, 368 test documents; cached under --workdir) is scored by the classic pipeline written
plainly (benchmarks/classic_pipeline.py) and by the real `oncoclass train` + `oncoclass predict`,
each in its own child process. Prints wall time, CPU time and peak RSS of each (per process, from
wait4), their ratios, and both log losses on the synthetic test labels as a sanity check.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
BUILD = (
    "import sys; from pathlib import Path; from oncoclass.data.synth import SynthSpec, write_corpus\n"
    "spec = SynthSpec(rows=int(sys.argv[2]), test_rows=368, doc_chars=52000, seed=7)\n"
    "write_corpus(Path(sys.argv[1]), spec)"
)
#: `oncoclass` run by this interpreter, so the code measured is what this interpreter imports (a
#: worktree's PYTHONPATH included), not whatever an installed script points at.
EXE = [sys.executable, "-m", "oncoclass"]


def measured(command: list[str]) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MB) of one child process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(command)}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def score(predictions: Path, solution: Path) -> float:
    p = pd.read_csv(predictions).set_index("ID").sort_index()
    truth = pd.read_csv(solution).set_index("ID").loc[p.index]
    proba = np.clip(p[truth.columns].to_numpy(), 1e-15, 1)
    proba /= proba.sum(axis=1, keepdims=True)
    return float(-np.log((proba * truth.to_numpy()).sum(axis=1)).mean())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--model", default="default")
    parser.add_argument("--workdir", default="/tmp/oncoclass-bench")
    args = parser.parse_args()
    workdir = Path(args.workdir)
    print("| corpus | pipeline | wall s | CPU s | peak RSS MB | log loss |\n|---|---|---|---|---|---|")
    for scale in args.scale:
        rows = 3321 * scale
        corpus = workdir / f"corpus-{rows}-52000"
        if not (corpus / "test_solution.csv").exists():
            # In a child process: a child's peak RSS counts the parent's pages until it execs, so
            # a parent that had just built the corpus would inflate every figure measured after.
            subprocess.run([sys.executable, "-c", BUILD, str(corpus), str(rows)], check=True)
        size = (corpus / "training_text").stat().st_size / 1e6
        c = {k: str(corpus / k) for k in ("training_variants", "training_text", "test_variants", "test_text")}
        classic_out = workdir / f"classic-{scale}.csv"
        classic = measured(
            [sys.executable, str(HERE / "classic_pipeline.py"), c["training_variants"], c["training_text"],
             c["test_variants"], c["test_text"], str(classic_out)]
        )  # fmt: skip
        model, ours_out = workdir / f"model-{args.model}-{scale}", workdir / f"ours-{scale}.csv"
        train = measured([*EXE, "train", "-i", c["training_variants"], "--text", c["training_text"],
                          "-m", args.model, "-o", str(model)])  # fmt: skip
        predict = measured([*EXE, "predict", "-m", str(model), "-i", c["test_variants"], "--text",
                            c["test_text"], "-o", str(ours_out)])  # fmt: skip
        ours = (train[0] + predict[0], train[1] + predict[1], max(train[2], predict[2]))
        solution = corpus / "test_solution.csv"
        name = f"{scale}× ({rows:,} docs, {size:.0f} MB)"
        print(f"| {name} | classic | {classic[0]:.0f} | {classic[1]:.0f} | {classic[2]:.0f} | "
              f"{score(classic_out, solution):.3f} |")  # fmt: skip
        print(f"| {name} | oncoclass {args.model} | {ours[0]:.0f} | {ours[1]:.0f} | {ours[2]:.0f} | "
              f"{score(ours_out, solution):.3f} |")  # fmt: skip
        print(f"| {name} | ratio | {ours[0] / classic[0]:.2f} | {ours[1] / classic[1]:.2f} | "
              f"{ours[2] / classic[2]:.2f} | |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
