"""A short coverage-guided fuzz run of the input readers (``fuzz/fuzz_inputs.py``) in CI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parents[1] / "fuzz" / "fuzz_inputs.py"
SEEDS = {
    "kaggle": b"ID,Gene,Variation,Class\n0,BRAF,V600E,7\n",
    "text": b"ID,Text\n0||The BRAF V600E variant\n",
    "csv": b"id,gene,variation,label\n1,KIT,D816V,x\n",
    "jsonl": b'{"id": "1", "gene": "EGFR", "variation": "L858R", "label": "a"}\n',
    "civic": b"gene\tvariant\tevidence_type\tclinical_significance\tevidence_statement\tevidence_id\n",
}


@pytest.mark.slow  # 30 s of fuzzing, about a minute with start-up
def test_short_fuzz_run_finds_no_crash(tmp_path: Path) -> None:
    pytest.importorskip("atheris")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, data in SEEDS.items():
        (corpus / name).write_bytes(b"\x00" + data)  # first byte picks the format
    seconds = os.environ.get("ONCOCLASS_FUZZ_SECONDS", "30")
    result = subprocess.run(
        [sys.executable, str(HARNESS), f"-max_total_time={seconds}", "-max_len=4096", str(corpus)],
        capture_output=True, text=True, timeout=int(seconds) + 300, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    assert "Done" in result.stderr or "DONE" in result.stderr
