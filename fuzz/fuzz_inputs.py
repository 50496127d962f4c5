"""Coverage-guided fuzzing (atheris) of everything that reads user bytes.

    .venv/bin/python fuzz/fuzz_inputs.py -max_total_time=60 [corpus_dir]

The harness writes the fuzzed bytes to a file (the way users hand them over) and loads it as
each supported format, and as a Kaggle variants file with the same bytes as its text file; it
also parses the bytes as a variation. The only acceptable failure is
:class:`oncoclass.errors.InputError` (a clear message for the user); anything else is a crash
the fuzzer reports. ``tests/test_fuzz.py`` runs it briefly in CI.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import warnings

import atheris

with atheris.instrument_imports():
    from oncoclass.data import load_table
    from oncoclass.errors import InputError
    from oncoclass.variation import parse

FORMATS = ("auto", "kaggle", "civic", "csv", "tsv", "jsonl")
_DIR = tempfile.mkdtemp(prefix="oncoclass-fuzz-")
_PATH = os.path.join(_DIR, "input")
_VARIANTS = os.path.join(_DIR, "variants")


def one_input(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    fmt = FORMATS[provider.ConsumeIntInRange(0, len(FORMATS) - 1)]
    payload = provider.ConsumeBytes(provider.remaining_bytes())
    parse(payload.decode("utf-8", errors="replace")[:200])
    with open(_PATH, "wb") as handle:
        handle.write(payload)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with contextlib.suppress(InputError):
            load_table(_PATH, fmt=fmt)
        with contextlib.suppress(InputError):
            load_table(_VARIANTS, text=_PATH, fmt="kaggle")


def main() -> None:
    with open(_VARIANTS, "w") as handle:
        handle.write("ID,Gene,Variation,Class\n0,BRAF,V600E,7\n1,TP53,R175H,4\n")
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
