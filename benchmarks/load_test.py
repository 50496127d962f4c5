"""Load test of `oncoclass serve` on loopback: 32 concurrent clients for 60 s, with attacks mixed in.

    .venv/bin/python benchmarks/load_test.py [--clients 32] [--seconds 60] [--model-dir DIR]

Uses the model of benchmarks/serve_latency.py (trained on a SYNTHETIC corpus) unless --model-dir
is given. Each client loops over a mix of requests until the time is up: /predict with a
statement or a 60 KB article, /predict/batch of 16, /explain, and hostile ones (a body over the
limit, malformed JSON, a missing API key, a request naming a path) that must get 413/422/401.
Prints requests, errors (any unexpected status or failure), latency percentiles per kind, and the
server's resident memory at start, middle and end. Bounded: a fixed time and loopback only.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve_latency import model_dir, payloads, start_server

KEY = "load-test-key"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def requests_mix(statement: dict, article: dict) -> list[tuple[str, str, dict, int]]:
    """(kind, path, httpx kwargs, expected status)"""
    auth = {"X-API-Key": KEY}
    as_json = {**auth, "content-type": "application/json"}
    return [
        ("predict statement", "/predict", {"json": statement, "headers": auth}, 200),
        ("predict statement", "/predict", {"json": statement, "headers": auth}, 200),
        ("predict article", "/predict", {"json": article, "headers": auth}, 200),
        ("batch of 16", "/predict/batch", {"json": {"variants": [statement] * 16}, "headers": auth}, 200),
        ("explain statement", "/explain", {"json": statement, "headers": auth}, 200),
        ("oversized body", "/predict", {"content": b"x" * 3_000_000, "headers": auth}, 413),
        ("malformed JSON", "/predict", {"content": b'{"gene": "BRAF",', "headers": as_json}, 422),
        ("no API key", "/predict", {"json": statement}, 401),
        ("path in body", "/predict", {"json": {**statement, "model": "/etc/passwd"}, "headers": auth}, 422),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workdir", default="/tmp/oncoclass-serve-bench")
    parser.add_argument("--model-dir", default=None)
    args = parser.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    model = Path(args.model_dir) if args.model_dir else model_dir(workdir)
    server, url = start_server(model, env={"ONCOCLASS_API_KEY": KEY})
    try:
        cases = list(payloads().values())
        mix = requests_mix(cases[0], cases[1])
        with httpx.Client() as warm:
            for _, path, kwargs, _ in mix:
                warm.post(url + path, **kwargs)
        memory = {"start": rss_mb(server.pid)}
        latencies: dict[str, list[float]] = {kind: [] for kind, *_ in mix}
        errors: list[str] = []
        lock = threading.Lock()
        stop_at = time.monotonic() + args.seconds

        def client(offset: int) -> None:
            mine: dict[str, list[float]] = {kind: [] for kind, *_ in mix}
            bad: list[str] = []
            with httpx.Client(timeout=60.0) as http:
                i = offset
                while time.monotonic() < stop_at:
                    kind, path, kwargs, expected = mix[i % len(mix)]
                    i += 1
                    started = time.perf_counter()
                    try:
                        status = http.post(url + path, **kwargs).status_code
                    except httpx.HTTPError as exc:
                        status = f"{type(exc).__name__}"
                    mine[kind].append(time.perf_counter() - started)
                    if status != expected:
                        bad.append(f"{kind}: {status} (expected {expected})")
            with lock:
                for kind, values in mine.items():
                    latencies[kind].extend(values)
                errors.extend(bad)

        threads = [threading.Thread(target=client, args=(k,)) for k in range(args.clients)]
        started = time.monotonic()
        for t in threads:
            t.start()
        time.sleep(args.seconds / 2)
        memory["middle"] = rss_mb(server.pid)
        for t in threads:
            t.join()
        wall = time.monotonic() - started
        memory["end"] = rss_mb(server.pid)
        total = sum(len(v) for v in latencies.values())
        print(f"{args.clients} clients for {wall:.0f} s: {total} requests ({total / wall:.0f}/s), "
              f"{len(errors)} errors\n")  # fmt: skip
        print("| request | expected | count | p50 ms | p95 ms | p99 ms |\n|---|---|---|---|---|---|")
        for kind, _, _, expected in dict.fromkeys((m[0], m[1], None, m[3]) for m in mix):
            ms = np.asarray(latencies[kind]) * 1000
            print(f"| {kind} | {expected} | {len(ms)} | {np.percentile(ms, 50):.0f} | "
                  f"{np.percentile(ms, 95):.0f} | {np.percentile(ms, 99):.0f} |")  # fmt: skip
        print(
            f"\nserver RSS MB: start {memory['start']:.0f}, middle {memory['middle']:.0f}, "
            f"end {memory['end']:.0f}"
        )
        for line in errors[:10]:
            print("error:", line)
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
