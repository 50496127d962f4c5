"""Annotation speed and peak memory on SYNTHETIC MAFs of growing size: prints a table.

    .venv/bin/python benchmarks/annotate_speed.py [--rows 10000,100000,300000[,1000000]] [--workdir DIR]

Trains the default recipe once on the synthetic corpus (cached in --workdir), writes MAFs shaped
like GDC's (a `#version 2.4` line, 30 columns, many samples sharing recurrent variants, silent and
intronic rows, nonsense rows without a written change), and runs the real `oncoclass annotate` on
each in a child process, reporting its rows/s and its own peak RSS. The input is streamed a chunk at
a time, so memory follows the distinct variants and not the file. The target (issue "Annotate"):
at least 5,000 rows/s for 100,000 rows on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from oncoclass.data.synth import SynthSpec, write_corpus

EXE = str(Path(sys.executable).with_name("oncoclass"))
AA = "ACDEFGHIKLMNPQRSTVWY"
FILLER = [f"extra_{i}" for i in range(22)]


def synthetic_maf(path: Path, rows: int, genes: list[str], seed: int = 0) -> None:
    rng = random.Random(seed)
    # Recurrent variants, as in real cohorts: about one distinct change per three rows.
    pool = [
        (rng.choice(genes), f"p.{rng.choice(AA)}{rng.randint(1, 1500)}{rng.choice(AA)}")
        for _ in range(rows // 3)
    ]
    header = ["Hugo_Symbol", "Variant_Classification", "Tumor_Sample_Barcode", "HGVSp_Short", "Chromosome",
              "Start_Position", "End_Position", *FILLER]  # fmt: skip
    lines = ["#version 2.4", "\t".join(header)]
    for i in range(rows):
        gene, change = rng.choice(pool)
        roll = rng.random()
        kind = "Missense_Mutation"
        if roll < 0.15:
            kind, change = "Silent", change[:-1] + "="
        elif roll < 0.2:
            kind, change = "Intron", ""
        elif roll < 0.25:
            kind, change = "Nonsense_Mutation", ""
        position = str(rng.randint(1, 10**8))
        values = [gene, kind, f"TCGA-{i % 997:04d}", change, str(rng.randint(1, 22)), position, position]
        lines.append("\t".join(values + ["."] * len(FILLER)))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def timed(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one `oncoclass` run: the run's own peak, from wait4, not
    the largest child so far, so that a size that needs less memory than the one before shows it."""
    started = time.perf_counter()
    child = subprocess.Popen([EXE, *args], stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise subprocess.CalledProcessError(child.returncode, [EXE, *args])
    return wall, usage.ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", default="10000,100000,300000")
    parser.add_argument("--workdir", default="/tmp/oncoclass-annotate-bench")
    args = parser.parse_args()
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    paths = write_corpus(work / "corpus", SynthSpec(rows=600, test_rows=10, doc_chars=600, seed=3))
    model = work / "model"
    if not (model / "metadata.json").exists():
        subprocess.run([EXE, "train", "-i", paths["training_variants"], "--text", paths["training_text"],
                        "-o", model], check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    genes = sorted(pd.read_csv(paths["training_variants"])["Gene"].unique())
    print("| MAF rows | distinct variants | seconds | rows/s | peak RSS MB |\n|---|---|---|---|---|")
    for rows in (int(r) for r in args.rows.split(",")):
        maf = work / f"cohort-{rows}.maf"
        synthetic_maf(maf, rows, genes)
        distinct = pd.read_csv(
            maf, sep="\t", comment="#", usecols=["Hugo_Symbol", "HGVSp_Short"]
        ).drop_duplicates()
        wall, rss = timed(["annotate", "-m", model, "-i", maf, "-o", work / f"out-{rows}.maf"])
        print(f"| {rows:,} | {len(distinct):,} | {wall:.1f} | {rows / wall:,.0f} | {rss:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
