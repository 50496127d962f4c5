"""Shared fixtures: tiny synthetic corpora built per session, and the real data when available."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from oncoclass.data.synth import SynthSpec, make_corpus, write_corpus


def _real_data() -> Path | None:
    value = os.environ.get("ONCOCLASS_DATA")
    return Path(value) if value else None


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The shared real data; CI (ONCOCLASS_REQUIRE_DATA=1) fails rather than skips without it."""
    path = _real_data()
    if path is None or not path.is_dir():
        if os.environ.get("ONCOCLASS_REQUIRE_DATA"):
            pytest.fail(f"ONCOCLASS_DATA must point at the shared data folder (got {path!r})")
        pytest.skip("ONCOCLASS_DATA is not set: real-data tests need the shared Kaggle/CIViC files")
    return path


@pytest.fixture(scope="session")
def kaggle_dir(real_data: Path) -> Path:
    return real_data / "kaggle-msk"


@pytest.fixture(scope="session")
def civic_file(real_data: Path) -> Path:
    return real_data / "civic" / "2018-11-08-ClinicalEvidenceSummaries.tsv"


@pytest.fixture(scope="session")
def small_corpus() -> tuple[pd.DataFrame, pd.DataFrame]:
    return make_corpus(SynthSpec(rows=240, test_rows=60, doc_chars=600, seed=1))


@pytest.fixture(scope="session")
def synth_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("synth")
    return write_corpus(out, SynthSpec(rows=240, test_rows=60, doc_chars=600, seed=1))


@pytest.fixture(scope="session")
def synth_zipped(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("synthzip")
    return write_corpus(out, SynthSpec(rows=240, test_rows=60, doc_chars=600, seed=1), zipped=True)
