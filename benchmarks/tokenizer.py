"""The encoder's hand-written WordPiece tokenizer against Hugging Face's `tokenizers`: prints a table.

    ONCOCLASS_DATA=../shared/data .venv/bin/python benchmarks/tokenizer.py [--repeats 5] [--articles 8]

Both read the same vocab.txt from the weights package, configured as its tokenizer_config says
(lower-case, accents stripped, Chinese characters split, clean text; 128 word pieces for the
sentence encoder). Rows: agreement of the ids on every CIViC statement and context (text+context
of the 2018-11-08 export) and on the hostile strings of tests/test_encoder.py; microseconds per
statement, one call per text and (for `tokenizers`) in one `encode_batch`; per 50 KB synthetic
article, all of its pieces (what the word-piece embedding reads) and the first 128 (what the
sentence encoder reads); the import and the vocabulary load, each in a fresh process. Old and new
alternate within each repeat, and each cell is the median of the repeats: on a shared machine
timings drift, and alternating keeps both sides under the same load.

`tokenizers` is not a dependency of oncoclass (it lost this comparison; see the README's
Recipes); install it to rerun the comparison: `.venv/bin/pip install 'tokenizers==0.23.3'`.
Without it the table has the old column only.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from oncoclass.data.civic import load_civic
from oncoclass.data.synth import SynthSpec, make_corpus
from oncoclass.features.encoder import WordPiece, _model_dir

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_encoder import HOSTILE  # the reference ids live with the tests


def hugging_face(vocab: Path) -> Any | None:
    try:
        from tokenizers import BertWordPieceTokenizer
    except ImportError:
        return None
    # tokenizer_config.json: do_lower_case, strip_accents null (follows lower-casing),
    # tokenize_chinese_chars; the normaliser cleans control characters as BERT's does.
    return BertWordPieceTokenizer(
        str(vocab), lowercase=True, strip_accents=None, clean_text=True, handle_chinese_chars=True
    )


def per_text_us(run: Callable[[list[str]], object], texts: list[str]) -> float:
    start = time.perf_counter()
    run(texts)
    return (time.perf_counter() - start) / len(texts) * 1e6


def in_fresh_process(code: str, repeats: int) -> float:
    """Median milliseconds ``code`` takes in a new interpreter (it prints its own figure)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    runs = [float(subprocess.check_output([sys.executable, "-c", code], env=env)) for _ in range(repeats)]
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--articles", type=int, default=8, help="synthetic 50 KB articles")
    args = parser.parse_args()
    data = os.environ.get("ONCOCLASS_DATA")
    if not data:
        sys.exit("set ONCOCLASS_DATA to the shared data folder (it holds the CIViC export)")
    table = load_civic(Path(data) / "civic" / "2018-11-08-ClinicalEvidenceSummaries.tsv")
    statements = list(table["text"])
    texts = statements + list(table["context"])
    articles = list(make_corpus(SynthSpec(rows=args.articles, test_rows=0, doc_chars=50_000))[0]["text"])
    vocab_path = _model_dir() / "vocab.txt"
    vocab = vocab_path.read_text(encoding="utf-8").splitlines()
    old = WordPiece(vocab)
    new = hugging_face(vocab_path)

    def new_pieces(text: str) -> list[int]:
        return new.encode(text, add_special_tokens=False).ids

    rows: dict[str, tuple[str, str]] = {}
    if new is not None:
        same = sum(old.pieces(t) == new_pieces(t) for t in texts)
        hostile = sum(old.pieces(t) == new_pieces(t) for t in HOSTILE)
        rows["ids equal, CIViC statements + contexts"] = (f"{same:,} / {len(texts):,}", "(reference)")
        rows["ids equal, hostile strings"] = (f"{hostile} / {len(HOSTILE)}", "(reference)")
    else:
        hostile = sum(old.pieces(t) == ids for t, ids in HOSTILE.items())
        rows["ids equal, hostile strings (recorded ids)"] = (f"{hostile} / {len(HOSTILE)}", "—")

    def new_encode(text: str, limit: int = 128) -> list[int]:
        # `tokenizers` truncates after it has split the whole text, so this costs the same.
        return [old.cls, *new_pieces(text)[: limit - 2], old.sep]

    def old_cold(xs: list[str]) -> object:
        old._words.clear()  # the word cache starts empty, as in a new process
        return [old.pieces(x) for x in xs]

    cases: list[tuple[str, str, Callable[[list[str]], object], list[str]]] = [
        ("µs per statement, one call each, first pass", "old", old_cold, statements),
        ("µs per statement, one call each", "old", lambda xs: [old.pieces(x) for x in xs], statements),
        ("µs per 50 KB article, all pieces", "old", lambda xs: [old.pieces(x) for x in xs], articles),
        ("µs per 50 KB article, first 128", "old", lambda xs: [old.encode(x, 128) for x in xs], articles),
    ]
    if new is not None:
        cases += [
            ("µs per statement, one call each", "new", lambda xs: [new_pieces(x) for x in xs], statements),
            ("µs per statement, one batch", "new",
             lambda xs: [e.ids for e in new.encode_batch(xs, add_special_tokens=False)], statements),
            ("µs per 50 KB article, all pieces", "new", lambda xs: [new_pieces(x) for x in xs], articles),
            ("µs per 50 KB article, first 128", "new", lambda xs: [new_encode(x) for x in xs], articles),
        ]  # fmt: skip
    timings: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.repeats):
        for name, side, run, inputs in cases:
            timings.setdefault((name, side), []).append(per_text_us(run, inputs))
    names = [case[0] for case in cases]
    names.insert(2, "µs per statement, one batch")  # beside the one-call figures
    for name in dict.fromkeys(names):
        rows[name] = tuple(  # type: ignore[assignment]
            f"{statistics.median(timings[name, side]):,.0f}" if (name, side) in timings else "—"
            for side in ("old", "new")
        )
    clock = "import time; s = time.perf_counter(); "
    report = "; print((time.perf_counter() - s) * 1e3)"
    rows["import ms (fresh process)"] = (
        "0 (re, unicodedata)",
        f"{in_fresh_process(clock + 'import tokenizers' + report, args.repeats):.0f}" if new else "—",
    )
    # The network is cut in that process: the vocabulary must load from the local file alone.
    offline = "import socket; socket.socket.connect = lambda *a: 1 / 0; "
    load_old = (
        f"{offline}from pathlib import Path; from oncoclass.features.encoder import WordPiece; "
        f"{clock}WordPiece(Path({str(vocab_path)!r}).read_text(encoding='utf-8').splitlines()){report}"
    )
    load_new = (
        f"{offline}from tokenizers import BertWordPieceTokenizer; {clock}"
        f"BertWordPieceTokenizer({str(vocab_path)!r}, lowercase=True){report}"
    )
    rows["vocabulary load ms (fresh process, no network)"] = (
        f"{in_fresh_process(load_old, args.repeats):.0f}",
        f"{in_fresh_process(load_new, args.repeats):.0f}" if new else "—",
    )

    version = "not installed"
    if new is not None:
        import tokenizers

        version = tokenizers.__version__
    print(f"{len(statements):,} statements, {len(articles)} articles of ~50 KB, {args.repeats} repeats, "
          f"{os.cpu_count()} cores; new = tokenizers {version}\n")  # fmt: skip
    width = max(map(len, rows))
    print(f"| {'':{width}} | old (hand-written) | new (tokenizers) |")
    print(f"| {'-' * width} | --- | --- |")
    for name, (a, b) in rows.items():
        print(f"| {name:{width}} | {a} | {b} |")


if __name__ == "__main__":
    main()
