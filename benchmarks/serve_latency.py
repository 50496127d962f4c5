"""Latency and throughput of `oncoclass serve` on loopback, for the README's service table.

    .venv/bin/python benchmarks/serve_latency.py [--requests 400] [--model-dir DIR]

Trains the default recipe on a SYNTHETIC Kaggle-format corpus (1,000 rows of ~20 KB documents;
cached under --workdir) unless --model-dir names a trained model, starts the real server in a
child process, and times POST /predict with a CIViC-size statement (~400 characters) and a 60 KB
article: sequentially on one keep-alive connection, then from 8 concurrent clients. Prints p50,
p95, p99, throughput and errors per case.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np

from oncoclass.data.synth import SynthSpec, make_corpus, write_corpus

EXE = str(Path(sys.executable).with_name("oncoclass"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def train_once(workdir: Path, spec: SynthSpec) -> Path:
    """The default recipe trained on a synthetic corpus of ``spec``, cached under ``workdir``."""
    model = workdir / "model"
    if (model / "metadata.json").exists():
        return model
    paths = write_corpus(workdir / "corpus", spec)
    subprocess.run(
        [EXE, "train", "-i", paths["training_variants"], "--text", paths["training_text"], "-o", model],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return model


def model_dir(workdir: Path) -> Path:
    return train_once(workdir, SynthSpec(rows=1000, test_rows=50, doc_chars=20000, seed=3))


def payloads() -> dict[str, dict[str, str]]:
    _, test = make_corpus(SynthSpec(rows=20, test_rows=4, doc_chars=60000, seed=11))
    row = test.iloc[0]
    article = row["text"][:60000]
    statement = (
        f"In a phase II trial, patients with {row['gene']} {row['variation']} positive tumours treated "
        "with the inhibitor showed an objective response rate of 48 %, and median progression-free "
        "survival of 7.2 months compared with 3.1 months for wild-type tumours. In vitro, the "
        "variant conferred sensitivity to the drug in two cell lines, and resistance emerged after "
        "prolonged exposure through a secondary mutation."
    )
    base = {"gene": row["gene"], "variation": row["variation"]}
    return {
        f"statement ({len(statement)} chars)": {**base, "text": statement},
        f"article ({len(article) // 1000} KB)": {**base, "text": article},
    }


def run_case(url: str, payload: dict[str, str], requests: int, clients: int) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    per_client = requests // clients

    def work() -> None:
        nonlocal errors
        with httpx.Client(timeout=30.0) as client:
            mine, bad = [], 0
            for _ in range(per_client):
                started = time.perf_counter()
                try:
                    ok = client.post(url + "/predict", json=payload).status_code == 200
                except httpx.HTTPError:
                    ok = False
                mine.append(time.perf_counter() - started)
                bad += not ok
        with lock:
            latencies.extend(mine)
            errors += bad

    with httpx.Client() as warm:  # first requests pay for lazy imports and caches
        for _ in range(5):
            warm.post(url + "/predict", json=payload)
    threads = [threading.Thread(target=work) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    ms = np.asarray(latencies) * 1000
    return {
        "p50": float(np.percentile(ms, 50)),
        "p95": float(np.percentile(ms, 95)),
        "p99": float(np.percentile(ms, 99)),
        "rps": len(ms) / wall,
        "errors": errors,
        "n": len(ms),
    }


def start_server(model: Path, *extra: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """`oncoclass serve` on a free loopback port, once /health answers; returns (process, url)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [EXE, "serve", "--model", str(model), "--port", str(port), *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})},
    )
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return server, url
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            raise SystemExit("the server did not start")
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--workdir", default="/tmp/oncoclass-serve-bench")
    parser.add_argument("--model-dir", default=None)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    model = Path(args.model_dir) if args.model_dir else model_dir(workdir)
    server, url = start_server(model, "--workers", str(args.workers))
    try:
        print(f"model: {model}  ({os.cpu_count()} CPUs)\n")
        print("| payload | clients | requests | p50 ms | p95 ms | p99 ms | p99/p50 | req/s | errors |")
        print("|---|---|---|---|---|---|---|---|---|")
        for name, payload in payloads().items():
            for clients in (1, 8):
                r = run_case(url, payload, args.requests, clients)
                print(
                    f"| {name} | {clients} | {r['n']} | {r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} "
                    f"| {r['p99'] / r['p50']:.2f} | {r['rps']:.0f} | {r['errors']} |",
                    flush=True,
                )
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
