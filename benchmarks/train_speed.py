"""Training time and peak memory of a recipe on Kaggle-scale SYNTHETIC full-text corpora.

    .venv/bin/python benchmarks/train_speed.py [--rows 3321] [--doc-chars 52000] [--model default]

Writes the corpus once (cached under --workdir), then runs the real `oncoclass train` and
`oncoclass predict` in child processes and prints wall time, CPU time and peak RSS of each.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

from oncoclass.data.synth import SynthSpec, write_corpus

EXE = str(Path(sys.executable).with_name("oncoclass"))


def timed(args: list[str]) -> tuple[float, float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([EXE, *args], check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # ru_maxrss of children is the largest child so far (KiB on Linux).
    return wall, cpu, after.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=3321)
    parser.add_argument("--test-rows", type=int, default=368)
    parser.add_argument("--doc-chars", type=int, default=52000)
    parser.add_argument("--model", default="default")
    parser.add_argument("--workdir", default="/tmp/oncoclass-bench")
    args = parser.parse_args()
    spec = SynthSpec(rows=args.rows, test_rows=args.test_rows, doc_chars=args.doc_chars, seed=7)
    corpus = Path(args.workdir) / f"corpus-{args.rows}-{args.doc_chars}"
    if not (corpus / "test_solution.csv").exists():
        write_corpus(corpus, spec)
    size_mb = (corpus / "training_text").stat().st_size / 1e6
    model = Path(args.workdir) / f"model-{args.model}"
    train = timed(
        [
            "train",
            "-i",
            str(corpus / "training_variants"),
            "--text",
            str(corpus / "training_text"),
            "-m",
            args.model,
            "-o",
            str(model),
        ]
    )
    predict = timed(
        [
            "predict",
            "-m",
            str(model),
            "-i",
            str(corpus / "test_variants"),
            "--text",
            str(corpus / "test_text"),
            "-o",
            str(Path(args.workdir) / "p.csv"),
        ]
    )
    print(
        f"SYNTHETIC corpus: {args.rows} training documents, {size_mb:.0f} MB of text; recipe {args.model}\n"
    )
    print("| step    | wall s | CPU s | peak RSS MB |\n|---|---|---|---|")
    for name, (wall, cpu, rss) in (("train", train), ("predict", predict)):
        print(f"| {name:<7} | {wall:6.1f} | {cpu:5.1f} | {rss:11.0f} |")


if __name__ == "__main__":
    main()
