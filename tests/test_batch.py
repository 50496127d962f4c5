"""Batch scoring on Dask: same probabilities as one process, every row kept exactly once."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from oncoclass.api import PREDICTION_INFO_COLUMNS, predict_table
from oncoclass.batch import predict_dask
from oncoclass.config import InputSpec
from oncoclass.errors import InputError
from oncoclass.persist import load_bundle

#: Predictions files hold IDs and class labels ("007", "1") as text.
TEXT_COLUMNS = {"ID": str, "prediction": str}


@pytest.fixture(scope="module")
def rows(small_corpus) -> pd.DataFrame:
    _, test = small_corpus
    table = pd.concat([test] * 5, ignore_index=True)
    table["id"] = [f"r{i}" for i in range(len(table))]
    return table[["id", "gene", "variation", "text"]]


def _single_process(model: Path, table: pd.DataFrame) -> pd.DataFrame:
    canonical = table.assign(context="")
    return predict_table(load_bundle(model), canonical)


def test_dask_csv_matches_the_single_process_path(tmp_path, default_model, rows, cluster) -> None:
    source = tmp_path / "rows.csv"
    rows.to_csv(source, index=False)
    out = tmp_path / "pred.csv"
    result = predict_dask(
        default_model, InputSpec(path=str(source)), out, scheduler=cluster.scheduler_address, partitions=4
    )
    assert result.rows == len(rows) and result.rejected == 0 and result.partitions >= 2
    got = pd.read_csv(out, dtype=TEXT_COLUMNS, keep_default_na=False).set_index("ID").sort_index()
    expected = _single_process(default_model, rows).set_index("ID").sort_index()
    assert list(got.index) == sorted(rows["id"])
    pd.testing.assert_frame_equal(got, expected, check_exact=False, atol=2e-6)
    assert json.loads(out.with_name("pred.csv.json").read_text())["model_id"] == result.model_id


def test_dask_parquet_parts_from_jsonl(tmp_path, lr_model, rows, cluster) -> None:
    source = tmp_path / "rows.jsonl"
    rows.to_json(source, orient="records", lines=True)
    out = tmp_path / "pred"
    predict_dask(
        lr_model, InputSpec(path=str(source)), out, scheduler=cluster.scheduler_address, partitions=3
    )
    parts = sorted(out.glob("part-*.parquet"))
    assert parts
    got = pd.concat([pd.read_parquet(p) for p in parts])
    assert sorted(got["ID"]) == sorted(rows["id"])
    assert got.drop(columns=["ID", *PREDICTION_INFO_COLUMNS]).sum(axis=1).round(6).eq(1).all()


def _with_bad_rows(tmp_path: Path, rows: pd.DataFrame) -> Path:
    source = tmp_path / "bad.csv"
    text = rows.to_csv(index=False)
    lines = text.splitlines()
    lines.insert(5, "bad1,BRAF,V600E,some text,EXTRA,FIELDS")  # too many fields
    lines.insert(9, "bad2,,V600E,no gene")  # empty gene
    source.write_text("\n".join(lines) + "\n")
    return source


def test_a_table_without_ids_is_numbered_as_the_local_engine_numbers_it(
    tmp_path, lr_model, rows, cluster
) -> None:
    # The rows are numbered in file order across partitions (a first pass counts each one's rows),
    # as `predict` without --engine numbers them, and the run says so.
    from oncoclass.api import predict

    source = tmp_path / "variants.csv"
    rows.drop(columns="id").to_csv(source, index=False)
    out = tmp_path / "p.csv"
    result = predict_dask(
        lr_model, InputSpec(path=str(source)), out, scheduler=cluster.scheduler_address, partitions=3
    )
    assert result.partitions >= 2 and "numbered 1 to" in result.notes[0]
    got = pd.read_csv(out, dtype=TEXT_COLUMNS, keep_default_na=False)
    local, _ = predict(load_bundle(lr_model), InputSpec(path=str(source)))
    assert got["ID"].tolist() == [str(i + 1) for i in range(len(rows))] == local["ID"].tolist()
    pd.testing.assert_frame_equal(got, local.reset_index(drop=True), check_exact=False, atol=2e-6)


def test_missing_columns_are_refused_before_a_cluster_starts(tmp_path, lr_model) -> None:
    source = tmp_path / "genes.csv"
    source.write_text("gene,protein\nBRAF,V600E\n")
    with pytest.raises(InputError, match=r"missing column.*variation; found gene, protein"):
        predict_dask(lr_model, InputSpec(path=str(source)), tmp_path / "p.csv", scheduler="tcp://127.0.0.1:1")


@pytest.mark.parametrize("name", ["p.xlsx", "p.maf", "p.csv.gz"])
def test_a_name_dask_cannot_write_is_refused_before_a_cluster_starts(tmp_path, lr_model, name: str) -> None:
    from oncoclass.errors import OutputError

    source = tmp_path / "v.csv"
    source.write_text("id,gene,variation\n1,BRAF,V600E\n")
    with pytest.raises(
        OutputError, match=r"cannot write a .* file here; this output is written as \.csv or \.parquet"
    ):
        predict_dask(lr_model, InputSpec(path=str(source)), tmp_path / name, scheduler="tcp://127.0.0.1:1")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.csv"]


@pytest.mark.parametrize("on_bad_rows", ["fail", "skip"])
def test_a_file_cut_short_is_refused_by_its_row(tmp_path, lr_model, cluster, on_bad_rows) -> None:
    # Found by the workers' first pass over the blocks (the client does not read the file through),
    # refused in both modes: a row cut short is not a malformed row to set aside.
    source = tmp_path / "cut.csv"
    source.write_text(
        "id,gene,variation,text\n" + "".join(f"{i},BRAF,V600E,kinase\n" for i in range(900)) + "x,KRAS"
    )
    with pytest.raises(InputError, match="row 902: the last row has 2 of the header's 4 fields"):
        predict_dask(
            lr_model, InputSpec(path=str(source)), tmp_path / "p.csv", scheduler=cluster.scheduler_address,
            partitions=3, on_bad_rows=on_bad_rows,
        )  # fmt: skip
    assert not (tmp_path / "p.csv").exists()


@pytest.mark.parametrize("name", ["cut.csv.gz", "short.csv.gz"])
def test_a_gzipped_file_cut_short_is_refused_before_a_cluster_starts(tmp_path, lr_model, name) -> None:
    """A .gz of a file cut short, and a .gz whose own bytes were cut off: predict's Dask engine
    reads an archive whole, as every command does, and refuses both."""
    import gzip

    rows = "id,gene,variation,text\n" + "".join(f"{i},BRAF,V600E,kinase {i}\n" for i in range(3000))
    if name == "cut.csv.gz":
        data, message = gzip.compress((rows + "3000,KRAS").encode()), "row 3002: the last row has 2"
    else:
        whole = gzip.compress(rows.encode())
        data, message = whole[: len(whole) // 2], "cut short or damaged"
    source = tmp_path / name
    source.write_bytes(data)
    with pytest.raises(InputError, match=message):
        predict_dask(lr_model, InputSpec(path=str(source)), tmp_path / "p.csv", scheduler="tcp://127.0.0.1:1")
    assert not (tmp_path / "p.csv").exists()


def test_malformed_rows_fail_clearly_by_default(tmp_path, lr_model, rows, cluster) -> None:
    source = _with_bad_rows(tmp_path, rows)
    with pytest.raises(InputError, match=r"malformed|cannot"):
        predict_dask(
            lr_model, InputSpec(path=str(source)), tmp_path / "p.csv", scheduler=cluster.scheduler_address
        )
    assert not (tmp_path / "p.csv").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".p.csv")]


def test_malformed_rows_skip_into_a_reject_file(tmp_path, lr_model, rows, cluster) -> None:
    source = _with_bad_rows(tmp_path, rows)
    out = tmp_path / "p.csv"
    result = predict_dask(
        lr_model, InputSpec(path=str(source)), out, scheduler=cluster.scheduler_address,
        partitions=2, on_bad_rows="skip",
    )  # fmt: skip
    assert result.rejected == 2 and result.rows == len(rows)
    rejects = pd.read_csv(result.reject_path, dtype=str, keep_default_na=False)
    assert {r.split(" (")[0] for r in rejects["reason"]} == {"wrong number of fields", "empty gene"}
    assert "bad1" in rejects["raw"].str.cat() and "bad2" in set(rejects["ID"])
    predicted = pd.read_csv(out, dtype=TEXT_COLUMNS)
    assert sorted(predicted["ID"]) == sorted(rows["id"])  # every good row exactly once


def test_duplicate_ids_across_partitions_are_an_error(tmp_path, lr_model, rows, cluster) -> None:
    source = tmp_path / "dup.csv"
    pd.concat([rows, rows.iloc[:1]]).to_csv(source, index=False)
    with pytest.raises(InputError, match="duplicate ID"):
        predict_dask(
            lr_model, InputSpec(path=str(source)), tmp_path / "p.csv", scheduler=cluster.scheduler_address
        )
    assert not (tmp_path / "p.csv").exists()


def test_a_civic_export_is_read_as_civic_on_dask_too(tmp_path, lr_model, cluster) -> None:
    """Format detection is the one rule every command uses: a CIViC TSV is not a generic table."""
    from oncoclass.api import load_input

    header = (
        "gene\tvariant\tdisease\tdrugs\tevidence_type\tclinical_significance\tevidence_statement\tevidence_id"
    )
    lines = [header] + [
        f"BRAF\tV600E\tMelanoma\tVemurafenib\tPredictive\tSensitivity/Response\tStatement {i}.\t{100 + i}"
        for i in range(6)
    ]
    source = tmp_path / "civic.tsv"
    source.write_text("\n".join(lines) + "\n")
    out = tmp_path / "pred.csv"
    predict_dask(
        lr_model, InputSpec(path=str(source)), out, scheduler=cluster.scheduler_address, partitions=2
    )
    got = pd.read_csv(out, dtype=TEXT_COLUMNS, keep_default_na=False).set_index("ID").sort_index()
    expected = predict_table(load_bundle(lr_model), load_input(InputSpec(path=str(source))))
    pd.testing.assert_frame_equal(got, expected.set_index("ID").sort_index(), check_exact=False, atol=2e-6)


# --- with an evidence store: the local engine's retrieval, per partition --------------------


def _local(model: Path, spec: InputSpec, kb: str) -> pd.DataFrame:
    from oncoclass.api import predict

    predictions, _ = predict(load_bundle(model), spec, kb=kb)
    return predictions.set_index("ID").sort_index()


def test_dask_with_a_store_writes_the_local_engines_predictions(
    tmp_path, kb_model, synth_files, kb_url, cluster
) -> None:
    """The same evidence (cited, and read by the model) and so the same probabilities as the
    local engine, on SQLite and PostgreSQL; a row never retrieves its own item on either."""
    from oncoclass.kb.load import import_path
    from oncoclass.kb.store import open_store

    with open_store(kb_url) as store:
        import_path(store, synth_files["training_variants"], text=synth_files["training_text"])
    train = pd.read_csv(synth_files["training_variants"], dtype=str)
    known = train.iloc[:12]
    # Rows without text that the store knows (by the training rows' IDs: their own items must be
    # left out), rows with their own text, and a gene the store has never seen.
    rows = pd.DataFrame(
        {
            "id": [*known["ID"], "t1", "t2", "u1"],
            "gene": [*known["Gene"], known["Gene"].iloc[0], known["Gene"].iloc[1], "NOTAGENE"],
            "variation": [*known["Variation"], known["Variation"].iloc[0], "V1A", "V1A"],
            "text": [""] * len(known) + ["A given text.", "Another given text.", ""],
        }
    )
    source = tmp_path / "rows.csv"
    rows.to_csv(source, index=False)
    options = {"scheduler": cluster.scheduler_address, "partitions": 3, "kb": kb_url}
    # A Kaggle pair is read whole, then partitioned; its rows are the store's own items.
    kaggle = InputSpec(path=str(synth_files["training_variants"]), text=str(synth_files["training_text"]))
    for spec, name in ((InputSpec(path=str(source)), "rows"), (kaggle, "kaggle")):
        out = tmp_path / f"{name}-dask.csv"
        predict_dask(kb_model, spec, out, **options)
        got = pd.read_csv(out, dtype=TEXT_COLUMNS, keep_default_na=False).set_index("ID").sort_index()
        expected = _local(kb_model, spec, kb_url)
        pd.testing.assert_frame_equal(got, expected, check_exact=False, atol=2e-6)
        own = f"kaggle:{Path(synth_files['training_variants']).name}:"
        assert not [i for i, cited in got["evidence_ids"].items() if own + i in cited.split(";")]
    by_id = pd.read_csv(tmp_path / "rows-dask.csv", dtype=TEXT_COLUMNS, keep_default_na=False).set_index("ID")
    assert {"given", "retrieved", "none"} <= set(by_id["text_source"])
    assert by_id.loc["u1", "text_source"] == "none" and by_id.loc["u1", "evidence_ids"] == ""
    assert (by_id.loc[known["ID"], "evidence_ids"] != "").any()


def test_a_wrong_store_is_refused_before_any_work(cli, tmp_path, lr_model, rows) -> None:
    source = tmp_path / "rows.csv"
    rows.to_csv(source, index=False)
    out = tmp_path / "p.csv"
    done = cli(["predict", "-m", lr_model, "-i", source, "-o", out, "--engine", "dask",
                "--kb", tmp_path / "missing.sqlite"])  # fmt: skip
    assert done.returncode == 2 and "no evidence store" in done.stderr and "Traceback" not in done.stderr
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".p.csv")]


def _with_short_row(tmp_path: Path, rows: pd.DataFrame, *, ids: bool = True) -> tuple[Path, int]:
    """``rows`` as a CSV with a row one field short near its end (a later partition's); the row's
    number in the file."""
    lines = (rows if ids else rows.drop(columns="id")).to_csv(index=False).splitlines()
    at = len(lines) - 3
    lines.insert(at, "short,BRAF,V600E" if ids else "BRAF,V600E")
    source = tmp_path / "short.csv"
    source.write_text("\n".join(lines) + "\n")
    return source, at + 1


def _both(tmp_path: Path, model: Path, source: Path, cluster, **options) -> tuple[str, str]:
    """The local engine's and the Dask engine's refusals of ``source`` (3 partitions); neither
    leaves an output."""
    from oncoclass.api import predict

    with pytest.raises(InputError) as local:
        predict(load_bundle(model), InputSpec(path=str(source)))
    with pytest.raises(InputError) as dask:
        predict_dask(
            model, InputSpec(path=str(source)), tmp_path / "p.csv", scheduler=cluster.scheduler_address,
            partitions=3, **options,
        )  # fmt: skip
    assert not (tmp_path / "p.csv").exists() and not (tmp_path / "p.csv.rejects.csv").exists()
    return str(local.value), str(dask.value)


def test_a_short_row_is_refused_by_both_engines_with_one_message(tmp_path, lr_model, rows, cluster) -> None:
    # The workers find it in their own block and name its row in the file, as the local engine
    # names it: the client never reads the file through.
    source, row = _with_short_row(tmp_path, rows)
    local, dask = _both(tmp_path, lr_model, source, cluster)
    assert f"row {row}: this row has only 3 of the header's 4 fields" in local
    assert dask == local
    assert not (tmp_path / "p.csv").exists()


def test_a_short_row_is_skipped_into_the_reject_file_not_padded(tmp_path, lr_model, rows, cluster) -> None:
    # pandas would pad it with an empty text and score it; it goes to the reject file with its row.
    source, row = _with_short_row(tmp_path, rows)
    out = tmp_path / "p.csv"
    result = predict_dask(
        lr_model, InputSpec(path=str(source)), out, scheduler=cluster.scheduler_address, partitions=3,
        on_bad_rows="skip",
    )  # fmt: skip
    assert result.partitions >= 2 and result.rejected == 1 and result.rows == len(rows)
    rejects = pd.read_csv(result.reject_path, dtype=str, keep_default_na=False)
    assert rejects.to_dict("records") == [
        {
            "ID": "",
            "reason": f"wrong number of fields (row {row}: 3 where the header has 4)",
            "raw": "short,BRAF,V600E",
        }
    ]
    got = pd.read_csv(out, dtype=TEXT_COLUMNS, keep_default_na=False).set_index("ID").sort_index()
    expected = _single_process(lr_model, rows).set_index("ID").sort_index()
    pd.testing.assert_frame_equal(got, expected, check_exact=False, atol=2e-6)


def test_a_skipped_row_keeps_its_number_in_a_table_without_ids(tmp_path, lr_model, rows, cluster) -> None:
    # Rows are numbered in file order; a row set aside keeps its number, so the rows after it keep
    # theirs (the local engine's numbers for the same rows).
    source, row = _with_short_row(tmp_path, rows, ids=False)
    out = tmp_path / "p.csv"
    result = predict_dask(
        lr_model, InputSpec(path=str(source)), out, scheduler=cluster.scheduler_address, partitions=3,
        on_bad_rows="skip",
    )  # fmt: skip
    assert result.rejected == 1
    got = pd.read_csv(out, dtype=TEXT_COLUMNS, keep_default_na=False)["ID"].tolist()
    skipped = row - 1  # the header is line 1
    assert got == [str(n) for n in range(1, len(rows) + 2) if n != skipped]


def test_a_header_only_file_is_refused_as_the_local_engine_refuses_it(tmp_path, lr_model, cluster) -> None:
    source = tmp_path / "empty.csv"
    source.write_text("id,gene,variation,text\n")
    with pytest.raises(InputError, match="the file holds no data rows"):
        predict_dask(
            lr_model, InputSpec(path=str(source)), tmp_path / "p.csv", scheduler=cluster.scheduler_address
        )
    assert not (tmp_path / "p.csv").exists()


def test_bytes_that_are_not_utf8_are_named_by_their_row_in_the_file(
    tmp_path, lr_model, rows, cluster
) -> None:
    lines = rows.to_csv(index=False).splitlines()
    lines[-2] = lines[-2].replace("BRAF", "BR\xe9F") if "BRAF" in lines[-2] else lines[-2] + "\xe9"
    source = tmp_path / "latin1.csv"
    source.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    local, dask = _both(tmp_path, lr_model, source, cluster)
    assert f"row {len(lines) - 1}: byte" in local and dask == local


def test_a_row_without_a_gene_is_named_by_its_row_as_the_local_engine_names_it(
    tmp_path, lr_model, rows, cluster
) -> None:
    lines = rows.to_csv(index=False).splitlines()
    lines.insert(len(lines) - 2, "nogene,,V600E,text")
    source = tmp_path / "nogene.csv"
    source.write_text("\n".join(lines) + "\n")
    local, dask = _both(tmp_path, lr_model, source, cluster)
    where = f"nogene.csv, row {len(lines) - 2}: empty gene."
    assert where in local and where in dask


def test_a_quote_never_closed_is_named_by_its_row_as_the_local_engine_names_it(
    tmp_path, lr_model, rows, cluster
) -> None:
    # pandas said "EOF inside string"; Dask's reader read the rest of the file as one value, and
    # the first pass saw no record after the quote ("no data rows" when it opened the first).
    lines = rows.to_csv(index=False).splitlines()
    lines.append('open,KRAS,G12D,"never closed')  # in the last block
    source = tmp_path / "quote.csv"
    source.write_text("\n".join(lines) + "\n")
    local, dask = _both(tmp_path, lr_model, source, cluster, on_bad_rows="skip")
    said = f"row {len(lines)}: a quoted value begins on this row and never ends"
    assert said in local and dask == local


def test_quoted_values_holding_line_breaks_across_blocks_are_read_whole(
    tmp_path, lr_model, rows, cluster
) -> None:
    # A block cut at a line end inside a quoted value would read the next block from inside it
    # (Dask's own reader failed with "EOF inside string"); the first pass sees the cut and the
    # file is read whole by the local engine's reader, then partitioned: the same predictions.
    table = rows.assign(text=rows["text"].str.slice(0, 80) + "\nsecond line, with a comma\n")
    source = tmp_path / "multiline.csv"
    table.to_csv(source, index=False)
    out = tmp_path / "p.csv"
    result = predict_dask(
        lr_model, InputSpec(path=str(source)), out, scheduler=cluster.scheduler_address, partitions=4
    )
    assert result.rows == len(rows) and result.partitions >= 2
    got = pd.read_csv(out, dtype=TEXT_COLUMNS, keep_default_na=False).set_index("ID").sort_index()
    expected = _single_process(lr_model, table).set_index("ID").sort_index()
    pd.testing.assert_frame_equal(got, expected, check_exact=False, atol=2e-6)


def test_a_file_cut_short_in_a_long_last_line_is_refused_whatever_the_blocks(
    tmp_path, lr_model, cluster
) -> None:
    # The long last line spans the last block's start: Dask's last block is empty, its line read
    # whole by the block before. The end is checked on the last block with bytes, so the file is
    # refused as the local engine refuses it, not scored with its cut row set aside (exit 0).
    body = "".join(f"r{i},BRAF,V600E,plain text {i},x\n" for i in range(100))
    source = tmp_path / "cut.csv"
    source.write_text("ID,Gene,Variation,Text,Extra\n" + body + "rlast,BRAF,V600E," + "word " * 1500)
    local, dask = _both(tmp_path, lr_model, source, cluster, on_bad_rows="skip")
    assert "row 102: the last row has 4 of the header's 5 fields" in local and dask == local


def test_a_nul_inside_a_quoted_value_is_named_a_nul_by_both_engines(tmp_path, lr_model, cluster) -> None:
    # Told apart by its reason: a NUL in a value left open at the block's end is still a NUL, not
    # a quote never closed; named by the same row and byte as the local engine names it.
    lines = ["ID,Gene,Variation,Text"] + [f"r{i},BRAF,V600E,t" for i in range(9000)]
    lines[6000] = 'r5999,BRAF,V600E,"a NUL \x00 in a quoted value'
    source = tmp_path / "nul.csv"
    source.write_text("\n".join(lines) + "\n")
    local, dask = _both(tmp_path, lr_model, source, cluster)
    assert "row 6001: byte" in local and "is a NUL" in local and dask == local


@pytest.mark.parametrize("bad", [1999, 4999])
def test_a_nul_after_a_byte_that_is_not_utf8_is_refused_first_by_both_engines(
    tmp_path, lr_model, cluster, bad: int
) -> None:
    # The local engine looks for NULs in the whole file before it decodes it; Dask's first pass
    # names problems in that order too, whether another block of the three holds the bad byte
    # (row 2001) or the NUL's own block does (row 5001, the NUL on row 5501).
    lines = ["ID,Gene,Variation,Text"] + [f"r{i},BRAF,V600E,t" for i in range(6000)]
    source = tmp_path / "both.csv"
    data = "\n".join(lines).encode() + b"\n"
    data = data.replace(b"r%d,BRAF" % bad, b"r%d,BR\xffF" % bad).replace(b"r5499,BRAF", b"r5499,BR\x00F")
    source.write_bytes(data)
    local, dask = _both(tmp_path, lr_model, source, cluster)
    assert "row 5501: byte" in local and "is a NUL" in local and dask == local


def test_a_byte_after_lone_cr_lines_is_named_by_the_local_engines_row(tmp_path, lr_model, cluster) -> None:
    # A byte's row is its line as RowWidths and an editor count them (a lone CR ends one), by
    # every reader; the Dask engine counted its blocks' lines by RowWidths and the byte's by LF,
    # and the local engine counted LFs alone: three rows for one byte.
    head = "ID,Gene,Variation,Text\n" + "".join(f"r{i},BRAF,V600E,a\rb\n" for i in range(3000))
    tail = "".join(f"s{i},BRAF,V600E,t\n" for i in range(3000))
    source = tmp_path / "cr.csv"
    source.write_bytes(head.encode() + tail.encode() + b"bad,BR\xe9F,V600E,t\n" + tail.encode())
    local, dask = _both(tmp_path, lr_model, source, cluster)
    assert "row 9002: byte" in local and "not valid UTF-8" in local and dask == local


@pytest.mark.parametrize("name", ["calls.vcf.gz", "bom.vcf"])
def test_a_gzipped_or_bom_vcf_is_named_a_vcf_by_both_engines(tmp_path, lr_model, cluster, name) -> None:
    # The Dask engine detected a .vcf.gz's format from its compressed bytes ("a VCF without its
    # first line"), and a UTF-8 byte-order mark hid a VCF's ##fileformat line from is_vcf.
    import gzip

    text = b"##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n7\t1\t.\tA\tT\t.\tPASS\t.\n"
    source = tmp_path / name
    source.write_bytes(gzip.compress(text) if name.endswith(".gz") else b"\xef\xbb\xbf" + text)
    local, dask = _both(tmp_path, lr_model, source, cluster)
    assert f"{name}: this is a VCF; this command reads tables" in local and dask == local


def test_a_file_of_one_endless_line_is_refused_alike_without_reading_it_whole(
    tmp_path, lr_model, cluster, monkeypatch
) -> None:
    # The Dask client looked for the header's end by rescanning all it had read from byte 0 per
    # mebibyte, holding it all (a 256 MB line: minutes); it now stops at the cap, and the local
    # engine refuses such a header by the same cap and message.
    import oncoclass.data.tables

    monkeypatch.setattr(oncoclass.data.tables, "HEADER_CAP", 1 << 20)  # tables.header_of's and read_frame's
    source = tmp_path / "line.csv"
    source.write_bytes(b"gene,variation," + b"x" * (3 << 20))
    local, dask = _both(tmp_path, lr_model, source, cluster)
    assert "line.csv: its header line runs past 1 MiB without a line break" in local and dask == local


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_a_row_rule_error_after_a_blank_line_and_a_multiline_value_is_named_by_its_line(
    tmp_path, lr_model, cluster, newline
) -> None:
    # Row numbers are lines of the file as an editor shows them (RowWidths' count). The local
    # engine counted pandas' rows from the header (2 + position), two rows short after a blank line
    # and a quoted value holding a line break; the Dask engine named the line.
    lines = ["ID,Gene,Variation,Text"] + [f"r{i},BRAF,V600E,t{i}" for i in range(400)]
    lines[6] = 'r5,BRAF,V600E,"a' + newline + 'b"'
    lines.insert(10, "")
    lines.insert(352, "r350x,,V600E,no gene")
    source = tmp_path / "gene.csv"
    source.write_bytes(newline.join(lines).encode() + newline.encode())
    local, dask = _both(tmp_path, lr_model, source, cluster)
    assert "gene.csv, row 354: empty gene." in local and "gene.csv, row 354: empty gene." in dask


def test_a_blocks_shape_counts_its_line_ends_of_every_kind() -> None:
    # The count was named ``lfs`` though a lone CR and a CRLF end a line as an LF does.
    from oncoclass.batch import _shape_block

    shape = _shape_block(
        b"r1,BRAF,V600E\rr2,BRAF,V600E\r\nr3,BRAF,V600E\n", first=False, width=3, path="x.csv", sep=",",
        quoted=True, skip=0,
    )  # fmt: skip
    assert shape.line_ends == 3 and shape.lines == 3 and not hasattr(shape, "lfs")


def test_a_kaggle_files_predictions_are_the_local_engines_bytes(
    cli, tmp_path, lr_model, synth_files, cluster
) -> None:
    # The header was written by csv's writer (CRLF) above rows written by pandas (LF): one file,
    # two line ends. Both engines write one line end throughout, the same bytes for one input.
    source = ["-i", synth_files["test_variants"], "--text", synth_files["test_text"]]
    local, dask = tmp_path / "local.csv", tmp_path / "dask.csv"
    done = cli(["predict", "-m", lr_model, *source, "-o", local])
    assert done.returncode == 0, done.stderr
    done = cli(["predict", "-m", lr_model, *source, "-o", dask, "--engine", "dask",
                "--scheduler", cluster.scheduler_address, "--partitions", "3"])  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert b"\r" not in dask.read_bytes() and dask.read_bytes() == local.read_bytes()


def test_the_earliest_bad_row_is_named_whichever_partition_finishes_first(
    tmp_path, lr_model, rows, cluster, monkeypatch
) -> None:
    # Bad rows in the first and the last partition: the job named the error of whichever failed
    # first (here the last, the first being held back), not the earliest row, as the local engine does.
    import time

    import oncoclass.batch

    real = oncoclass.batch.score_partition

    def first_is_slow(part, index, **options):  # pickled by value: the workers run it as it is
        if index == 0:
            time.sleep(3)
        return real(part, index, **options)

    monkeypatch.setattr(oncoclass.batch, "score_partition", first_is_slow)
    lines = rows.to_csv(index=False).splitlines()
    lines.insert(len(lines) - 2, "late,BRAF,,no variation")
    lines.insert(3, "early,,V600E,no gene")
    source = tmp_path / "two.csv"
    source.write_text("\n".join(lines) + "\n")
    local, dask = _both(tmp_path, lr_model, source, cluster)
    assert "two.csv, row 4: empty gene." in local and "two.csv, row 4: empty gene." in dask


@pytest.mark.parametrize("blank", ["", " \t "])
def test_a_row_after_a_blank_line_ended_by_a_lone_cr_is_named_by_its_line(
    tmp_path, lr_model, cluster, blank
) -> None:
    # pandas dropped a delimiter opening the line after a blank one ended by a lone CR: the row
    # "," (no gene, no variation) vanished, so the local engine fell back to the header plus the
    # position (row 5998 for the row on line 6000) and the Dask engine could not tell its rows
    # apart. Both name the empty row by its line.
    lines = ["Gene,Variation"] + ["BRAF,V600E"] * 6000
    lines[3000:3000] = [blank, ","]
    lines[5999] = "KRAS,"
    source = tmp_path / "cr.csv"
    source.write_bytes("\r".join(lines).encode() + b"\r")
    local, dask = _both(tmp_path, lr_model, source, cluster)
    named = "cr.csv, row 3002: an empty row (only separators)"
    assert named in local and named in dask


@pytest.mark.parametrize(
    ("line", "problem"),
    [("id,gene,variation,text", "repeats the header (files joined together?)"),
     (",,,", "an empty row (only separators)")],
)  # fmt: skip
def test_a_repeated_header_or_an_empty_row_is_no_row_of_data_on_either_engine(
    tmp_path, lr_model, rows, cluster, line, problem
) -> None:
    # Files joined together repeat their header mid-file (it was predicted as gene "gene"); a line
    # of separators only was refused as an empty id, or dropped. Both engines name it by its line,
    # or set it aside with --on-bad-rows skip.
    lines = rows.to_csv(index=False).splitlines()
    at = len(lines) - 3
    lines.insert(at, line)
    source = tmp_path / "joined.csv"
    source.write_text("\n".join(lines) + "\n")
    local, dask = _both(tmp_path, lr_model, source, cluster)
    assert f"row {at + 1}: {problem}: remove it." in local
    assert dask.split(": remove it.")[0] == local.split(": remove it.")[0]  # the hints differ
    result = predict_dask(
        lr_model, InputSpec(path=str(source)), tmp_path / "p.csv", scheduler=cluster.scheduler_address,
        partitions=3, on_bad_rows="skip",
    )  # fmt: skip
    assert result.rejected == 1 and result.rows == len(rows)
    rejects = pd.read_csv(result.reject_path, dtype=str, keep_default_na=False)
    assert rejects["reason"].tolist() == [problem]


def test_a_byte_order_mark_then_a_line_of_spaces_is_a_blank_line_on_either_engine(
    tmp_path, lr_model, cluster
) -> None:
    # The mark and the spaces were read as a header of one column ("row 2: 4 fields where the
    # header has 1"), and the Dask engine found no columns; the line is blank, as every reader
    # skips it, and counted.
    source = tmp_path / "bom.csv"
    source.write_bytes(b"\xef\xbb\xbf   \nid,gene,variation,text\n1,BRAF,V600E,x\n2,,V600E,x\n")
    local, dask = _both(tmp_path, lr_model, source, cluster)
    assert "bom.csv, row 4: empty gene" in local and "bom.csv, row 4: empty gene" in dask


def test_excels_sep_line_is_skipped_and_counted_on_either_engine(tmp_path, lr_model, cluster) -> None:
    source = tmp_path / "excel.csv"
    source.write_bytes(b"sep=,\r\nid,gene,variation,text\r\n1,BRAF,V600E,x\r\n2,,V600E,y\r\n")
    local, dask = _both(tmp_path, lr_model, source, cluster)
    assert "excel.csv, row 4: empty gene" in local and "excel.csv, row 4: empty gene" in dask
