"""Property-based tests: whatever bytes a user hands over, the loaders return a canonical table
or raise InputError (a message for the user), never anything else."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oncoclass.data import load_table
from oncoclass.data.table import CANONICAL_COLUMNS
from oncoclass.errors import InputError

_DIR = Path(tempfile.mkdtemp(prefix="oncoclass-props-"))
FIELD = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)


def _load(data: bytes, **kwargs) -> None:
    path = _DIR / "input"
    path.write_bytes(data)
    try:
        table = load_table(path, **kwargs)
    except InputError as exc:
        assert exc.message and "Traceback" not in exc.render()
        return
    assert list(table.columns[: len(CANONICAL_COLUMNS)]) == list(CANONICAL_COLUMNS)
    assert table["id"].is_unique and (table["gene"] != "").all() and (table["variation"] != "").all()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400), st.sampled_from(["auto", "kaggle", "civic", "csv", "tsv", "jsonl"]))
def test_any_bytes_give_a_table_or_an_input_error(data: bytes, fmt: str) -> None:
    _load(data, fmt=fmt)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(FIELD, FIELD, FIELD, FIELD), min_size=0, max_size=8), st.sampled_from([",", "\t"]))
def test_delimited_rows_of_any_text(rows: list[tuple[str, ...]], sep: str) -> None:
    lines = [sep.join(("id", "gene", "variation", "label"))] + [sep.join(r) for r in rows]
    _load(("\n".join(lines) + "\n").encode("utf-8"), fmt="csv" if sep == "," else "tsv")


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(max_size=30), max_size=6))
def test_kaggle_text_lines_of_any_shape(lines: list[str]) -> None:
    variants = _DIR / "variants"
    variants.write_text("ID,Gene,Variation,Class\n0,BRAF,V600E,7\n1,TP53,R175H,4\n")
    text = _DIR / "text"
    text.write_text("ID,Text\n" + "\n".join(lines) + "\n", encoding="utf-8")
    try:
        table = load_table(variants, text=text)
    except InputError:
        return
    assert len(table) == 2
