"""Kaggle's text file (``ID||text`` lines) cut short: what can honestly be told from a whole file."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from oncoclass.data.kaggle import load_kaggle, read_texts
from oncoclass.errors import InputError

VARIANTS = "ID,Gene,Variation,Class\n0,BRAF,V600E,7\n1,TP53,R175H,4\n12,KRAS,G12D,7\n"
TEXTS = "ID,Text\n0||BRAF V600E is activating.\n1||TP53 R175H is a loss.\n12||KRAS G12D drives growth.\n"


def _pair(folder: Path, text: str, *, gz: bool = False) -> tuple[Path, Path]:
    variants, texts = folder / "variants", folder / ("text.gz" if gz else "text")
    variants.write_text(VARIANTS)
    texts.write_bytes(gzip.compress(text.encode()) if gz else text.encode())
    return variants, texts


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("cut", ["12", "12|", "1", " "])
def test_a_last_line_cut_before_its_separator_is_refused_with_its_row(
    tmp_path: Path, cut: str, gz: bool
) -> None:
    """Cut inside the ID or its '||', with no line break after: not even ``ID||``, refused as cut
    short (a whitespace-only last line is a blank line, not a cut)."""
    whole = TEXTS[: TEXTS.index("12||")]
    variants, texts = _pair(tmp_path, whole + cut, gz=gz)
    if not cut.strip():
        with pytest.raises(InputError, match=r"1 variant ID\(s\) have no text .* \(first: '12'\)"):
            load_kaggle(variants, texts)
        return
    with pytest.raises(InputError, match=rf"{texts.name}, row 4: the last line has no '\|\|'.*cut short"):
        load_kaggle(variants, texts)


def test_a_line_without_a_separator_that_ends_with_a_line_break_is_malformed_not_cut(tmp_path: Path) -> None:
    variants, texts = _pair(tmp_path, TEXTS.replace("12||", "12 "))
    with pytest.raises(InputError, match=r"row 4: no '\|\|' between the ID and the text") as info:
        load_kaggle(variants, texts)
    assert "cut short" not in str(info.value)


def test_a_file_cut_before_a_whole_document_names_the_variant_without_a_text(tmp_path: Path) -> None:
    variants, texts = _pair(tmp_path, TEXTS[: TEXTS.index("12||")])
    with pytest.raises(
        InputError, match=r"variants: 1 variant ID\(s\) have no text in .*text \(first: '12'\)"
    ):
        load_kaggle(variants, texts)


def test_a_whole_file_without_a_final_line_break_is_read(tmp_path: Path) -> None:
    """A file cut inside its last text cannot be told from this, and is not guessed at."""
    variants, texts = _pair(tmp_path, TEXTS.rstrip("\n"))
    table = load_kaggle(variants, texts)
    assert table["text"].tolist()[-1] == "KRAS G12D drives growth."
    assert read_texts(texts) == read_texts(_pair(tmp_path, TEXTS)[1])


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_a_variants_row_is_named_by_its_line_in_the_file(tmp_path: Path, newline: str) -> None:
    # The loader named a row by the header plus its position: two short after a blank line and a
    # quoted value holding a line break (and so after lone CRs, each a line end). It is named by
    # the line an editor shows, as every CSV reader names it (RowWidths).
    lines = ["ID,Gene,Variation,Class", "0,BRAF,V600E,7", "", '1,TP53,"R175H', 'loss",4', "2,,G12D,7"]
    path = tmp_path / "variants"
    path.write_bytes((newline.join(lines) + newline).encode())
    with pytest.raises(InputError, match=r"variants, row 6: empty gene"):
        load_kaggle(path)
    path.write_bytes((newline.join([*lines[:-1], "2,KRAS,G12D,11"]) + newline).encode())
    with pytest.raises(InputError, match=r"variants, row 6: Class '11' is not one of Kaggle's classes"):
        load_kaggle(path)


def test_a_text_files_line_is_named_by_its_line_in_the_file(tmp_path: Path) -> None:
    # ID||Text lines are numbered as the file's lines (blank lines and lone CRs counted).
    variants, texts = _pair(tmp_path, TEXTS.replace("\n1||", "\n\n\r1||").replace("12||", "12 "))
    with pytest.raises(InputError, match=r"text, row 6: no '\|\|' between the ID and the text"):
        load_kaggle(variants, texts)


def test_joined_variants_files_are_refused_at_their_second_header(tmp_path: Path) -> None:
    # Two variants files joined (cat a.csv b.csv): the second header was read as a variant, and
    # kb import filed it as an item of gene "GENE".
    source = tmp_path / "joined.csv"
    source.write_text("ID,Gene,Variation\n0,BRAF,V600E\nID,Gene,Variation\n1,KRAS,G12D\n")
    with pytest.raises(InputError, match=r"row 3: repeats the header \(files joined together\?\): remove it"):
        load_kaggle(source)
