"""Fixtures for the evidence store's tests; the database fixtures (``kb_url`` on SQLite and
PostgreSQL) are in the root conftest, shared with the review tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The tests import the tiny source files of sources_data.py; with pytest's importlib mode a test
# folder is not on the path by itself.
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def kb_model(tmp_path_factory: pytest.TempPathFactory, synth_files: dict[str, Path], synth_kb: Path) -> Path:
    """The default recipe trained on the synthetic corpus with the store built from that corpus:
    each training row must not retrieve its own item."""
    from oncoclass.api import train
    from oncoclass.config import InputSpec, TrainConfig

    spec = InputSpec(path=str(synth_files["training_variants"]), text=str(synth_files["training_text"]))
    out = tmp_path_factory.mktemp("kbmodels") / "default"
    return train(TrainConfig(input=spec, kb=str(synth_kb)), out_dir=out).path
