"""Batch scoring of large inputs on Dask: partitions scored in parallel, on one machine or many.

Each partition is read, checked row by row, scored and written by one task, so nothing larger
than a partition is ever in memory and the client only gathers counts. Workers load the model
once and keep it (keyed by the model file's checksum) for every later partition. Rows that are
not valid (no ID, gene or variation; a text over the length limit; a CSV line with the wrong
number of fields) stop the job with a message naming them, or with ``on_bad_rows="skip"`` go to
a reject file with the reason: every input row ends up in exactly one of the two outputs.
"""

from __future__ import annotations

import csv
import gzip
import logging
import os
import shutil
import tempfile
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from oncoclass.annotate import (
    Lookup,
    Sheet,
    Sink,
    Tally,
    annotate_chunk,
    output_of,
    predict_variants,
    refuse_annotated,
    variants_in,
    write_output,
)
from oncoclass.config import InputSpec
from oncoclass.data.detect import detect_format
from oncoclass.data.files import (
    STDIN,
    archive_kind,
    check_rows_of,
    damaged_archive,
    existing_file,
    refuse_cut_short_file,
)  # fmt: skip
from oncoclass.data.table import (
    ID,
    check_columns,
    label_columns,
    numbered_ids,
    numbered_note,
    numbers_rows,
    row_problems,
    text_columns,
)
from oncoclass.data.tables import maf_comment_lines, map_columns
from oncoclass.errors import ConfigError, InputError
from oncoclass.jobs.inputs import load_input
from oncoclass.jobs.predict import (
    PREDICTION_INFO_COLUMNS,
    predict_table,
    sidecar_path,
    store_notes,
    write_sidecar,
)
from oncoclass.kb.retrieve import attach
from oncoclass.kb.store import Store, open_store, store_inputs
from oncoclass.output import atomic_write, check_output, is_stdout, make_parent
from oncoclass.persist import Bundle, load_bundle

#: A CSV line with the wrong number of fields, kept (not dropped) for the reject file.
_BAD_LINE = "\x00bad-line\x00"
REJECT_COLUMNS = ("ID", "reason", "raw")


@dataclass
class BatchResult:
    out: Path
    rows: int
    rejected: int
    reject_path: Path | None
    partitions: int
    model_id: str
    seconds: float
    notes: list[str] = field(default_factory=list)


# --- on the workers -------------------------------------------------------------------------

_MODELS: dict[tuple[str, str], Bundle] = {}


def _model(model_dir: str, sha: str) -> Bundle:
    """The worker's copy of the model: loaded on its first partition, reused after."""
    key = (model_dir, sha)
    if key not in _MODELS:
        _MODELS.clear()
        _MODELS[key] = load_bundle(model_dir)
    return _MODELS[key]


_STORES: dict[tuple[str, str], Store] = {}


def _store(url: str, job: str) -> Store:
    """The worker's connection to the evidence store: opened on its first partition of a job,
    reused for the job's later ones. Keyed by the job too, so a long-lived worker never reads a
    store through a connection opened before the file was replaced."""
    key = (url, job)
    if key not in _STORES:
        _close_stores()  # a job that failed midway left its own open
        # The client opened it first (and brought its schema up to date): this only connects.
        _STORES[key] = open_store(url, create=False)
    return _STORES[key]


def _close_stores() -> None:
    """Close the worker's store connections (the end of a job: a long-lived worker keeps none)."""
    for store in _STORES.values():
        store.close()
    _STORES.clear()


def _keep_bad_line(fields: list[str]) -> list[str]:
    # pandas calls this for a line with too many fields; keep it whole for the reject file.
    return [_BAD_LINE + "\x1f".join(fields)]


def _canonical(
    frame: pd.DataFrame, columns: dict[str, str] | None, source: str, first_row: int | None = None
) -> pd.DataFrame:
    """The partition as the canonical table. ``first_row``: the table has no IDs and this
    partition's first row is that row of the file, so its rows are numbered as the local engine
    numbers them; a line kept whole for the reject file keeps its mark in the ID column."""
    frame = map_columns(frame, columns, source)
    if first_row is not None and numbers_rows(frame.columns):
        lead = frame[frame.columns[0]].astype(str)
        bad = lead.str.startswith(_BAD_LINE).to_numpy()
        ids = np.where(bad, lead.to_numpy(), numbered_ids(len(frame), start=first_row))
        frame = frame.assign(**{ID: ids})
    check_columns(frame.columns, source)
    return text_columns(frame).set_axis(frame.index)


def _reasons(table: pd.DataFrame) -> pd.Series:
    """The table's row rule (:func:`row_problems`), and lines with the wrong number of fields."""
    reasons = row_problems(table)
    reasons[table[ID].str.startswith(_BAD_LINE)] = "wrong number of fields"
    return reasons


def score_partition(
    frame: pd.DataFrame, index: int, *, model_dir: str, sha: str, columns: dict[str, str] | None,
    source: str, staging: str, fmt: str, skip_bad: bool, kb: str | None = None,
    input_format: str = "", first_row: int | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Check, score and write one partition; returns its counts and IDs (for the duplicate check).
    With ``kb`` (the store's URL) its rows get their evidence first, as the local engine's do."""
    bundle = _model(model_dir, sha)
    table = _canonical(frame, columns, source, first_row)
    reasons = _reasons(table)
    bad = reasons != ""
    if bad.any() and not skip_bad:
        first = int(np.flatnonzero(bad.to_numpy())[0])
        row_id = table[ID].iloc[first].replace(_BAD_LINE, "")[:60]
        raise InputError(
            f"{int(bad.sum())} malformed row(s) in partition {index}; the first ({row_id!r}): "
            f"{reasons.iloc[first]}.",
            path=source,
            hint="Fix the rows, or pass --on-bad-rows skip to write them to a reject file.",
        )
    good = table[~bad]
    if kb is not None:
        # The attributes the local engine's loader sets: a row's own item is named by them.
        good.attrs = {"format": input_format, "source": source}
        good = attach(good, _store(kb, staging))
    out = predict_table(bundle, good)
    name = f"part-{index:06d}"
    if fmt == "parquet":
        out.to_parquet(Path(staging) / "out" / f"{name}.parquet", index=False)
    else:
        out.to_csv(Path(staging) / "out" / f"{name}.csv", index=False, header=False, float_format="%.6g")
    if bad.any():
        rejects = table[bad]
        raw = rejects[ID].str.replace(_BAD_LINE, "", regex=False).str.replace("\x1f", ",", regex=False)
        pd.DataFrame(
            {
                "ID": np.where(rejects[ID].str.startswith(_BAD_LINE), "", rejects[ID]),
                "reason": reasons[bad].to_numpy(),
                "raw": np.where(rejects[ID].str.startswith(_BAD_LINE), raw, ""),
            }
        ).to_csv(Path(staging) / "rejects" / f"{name}.csv", index=False, header=False)
    return {"rows": len(good), "rejected": int(bad.sum()), "ids": good[ID].to_numpy()}


# --- on the client --------------------------------------------------------------------------


def _read(spec: InputSpec, partitions: int | None, skip_bad: bool) -> tuple[Any, str]:
    """The input as Dask partitions, and its format as every command detects it."""
    import dask.dataframe as dd

    path = existing_file(spec.path)
    regular = str(path) != STDIN and path.is_file()
    head = b""
    if regular:
        with path.open("rb") as handle:
            head = handle.read(65536)
    # The format is decided by the same rule as every other command (detect_format), from the
    # file's head: Kaggle files and CIViC exports have loaders of their own.
    fmt = spec.format if spec.format != "auto" else (detect_format(path, head) if regular else "auto")
    whole = spec.text or spec.labels or fmt in ("kaggle", "civic", "auto")
    if whole or archive_kind(head) is not None:
        # Paired Kaggle files, CIViC exports, archives and pipes are read once, whole, then partitioned.
        table = load_input(spec)
        parts = max(1, partitions or os.cpu_count() or 1)
        return dd.from_pandas(table, npartitions=parts, sort=False), str(table.attrs.get("format", fmt))
    blocksize = _blocksize(path, partitions)
    if fmt == "parquet":
        frame = dd.read_parquet(str(path))
        return (frame.repartition(npartitions=partitions) if partitions else frame), fmt
    if fmt == "jsonl":
        return dd.read_json(str(path), lines=True, blocksize=blocksize, dtype=False), fmt
    sep = "\t" if fmt == "tsv" else ","
    skip = (maf_comment_lines(head) or 0) if fmt == "tsv" else 0  # a MAF's #version lines
    # Dask fills a last row cut short with empty values, as pandas does: refused here as by every reader.
    refuse_cut_short_file(path, spec.path, delimiter=sep, quoted=fmt != "tsv", skip=skip)
    if not skip_bad:  # and pads a short row, as pandas does: refused by every reader's one rule
        check_rows_of(path, spec.path, delimiter=sep, quoted=fmt != "tsv", skip=skip)
    options: dict[str, Any] = {
        "sep": sep, "dtype": str, "keep_default_na": False,
        "blocksize": blocksize, "quoting": 3 if fmt == "tsv" else 0, "skiprows": skip,
    }  # fmt: skip
    if skip_bad:
        options.update(engine="python", on_bad_lines=_keep_bad_line)
    return dd.read_csv(str(path), **options), fmt


def _blocksize(path: Path, partitions: int | None) -> int:
    """Bytes of a file per Dask partition: ``partitions`` even pieces, else 32 MiB each."""
    return max(4096, path.stat().st_size // partitions + 1) if partitions else 32 << 20


@contextmanager
def _unreadable_as_input_error(path: str) -> Iterator[None]:
    # Dask reads the file in the client (to infer columns) and in the workers; both may find it
    # malformed.
    try:
        yield
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        # Dask's own gzip reader, in a worker, on a .gz whose bytes were cut off.
        raise damaged_archive(exc, path) from exc
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        message = str(exc).replace("\n", " ")
        raise InputError(
            f"cannot be read ({type(exc).__name__}: {message}).",
            path=path,
            hint="Fix the file, or pass --on-bad-rows skip to set malformed lines aside.",
        ) from exc


def _client(scheduler: str | None) -> tuple[Any, Any]:
    from distributed import Client, LocalCluster

    # The cluster's own log (scheduler and nanny start-up, connections, a worker's "Compute
    # Failed" with the task's traceback) went to stderr, ~30 lines a run, burying the one message
    # the job ends with. Failures reach the client as exceptions and are reported from there.
    logging.getLogger("distributed").setLevel(logging.ERROR)

    if scheduler:
        try:
            return Client(scheduler, timeout="30s"), None
        except OSError as exc:
            raise ConfigError(f"cannot reach the Dask scheduler at {scheduler} ({exc}).") from exc
    cluster = LocalCluster(
        n_workers=os.cpu_count() or 1, threads_per_worker=1, processes=True, dashboard_address=None,
        silence_logs=logging.CRITICAL,
    )  # fmt: skip
    return Client(cluster), cluster


def predict_dask(
    model_dir: str | Path, spec: InputSpec, out: str | Path, *, scheduler: str | None = None,
    partitions: int | None = None, on_bad_rows: str = "fail", reject_path: str | Path | None = None,
    progress: Any = None, kb: str | None = None,
) -> BatchResult:  # fmt: skip
    """Score ``spec`` with the model in ``model_dir`` on Dask; write Parquet parts (``out`` a folder)
    or one CSV (``out`` ending in ``.csv``), atomically. See the module docstring for bad rows.
    With ``kb`` (a path or URL) each row gets the store's evidence, as with the local engine."""
    if on_bad_rows not in ("fail", "skip"):
        raise ConfigError(f"bad rows are either fail or skip, not {on_bad_rows!r}.", field="on_bad_rows")
    started = time.perf_counter()
    bundle = load_bundle(model_dir)
    out = Path(out)
    fmt = "csv" if out.suffix.lower() == ".csv" else "parquet"
    skip_bad = on_bad_rows == "skip"
    rejects = Path(reject_path) if reject_path else out.with_name(out.name + ".rejects.csv")
    inputs = [*spec.paths, *store_inputs(kb)]
    check_output(out, inputs=inputs, folder=fmt == "parquet", stdout_ok=False)
    for derived in (rejects, sidecar_path(out)):  # the reject file and the sidecar are outputs too
        check_output(derived, inputs=[*inputs, out], stdout_ok=False)
    _check_out(out, fmt)
    kb_url = _store_url(kb)
    with _unreadable_as_input_error(spec.path):
        frame, input_format = _read(spec, partitions, skip_bad)
    # The columns are checked here, from the file's head, before a cluster is started.
    columns = map_columns(frame._meta, spec.columns, spec.path).columns
    numbered = numbers_rows(columns)
    check_columns([*columns, ID] if numbered else columns, spec.path)
    make_parent(out)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    (staging / "out").mkdir()
    (staging / "rejects").mkdir()
    client, cluster = _client(scheduler)
    try:
        from distributed import as_completed

        tasks = frame.to_delayed()
        first_rows: list[int | None] = [None] * len(tasks)
        if numbered:  # each partition's first row number: a first pass counts their rows
            with _unreadable_as_input_error(spec.path):
                lengths = frame.map_partitions(len).compute()
            first_rows = [int(n) for n in np.concatenate([[0], np.cumsum(lengths)[:-1]])]
        if progress is not None:
            progress.start(len(tasks), "scoring partitions")
        import dask

        options = {
            "model_dir": str(Path(model_dir).resolve()), "sha": bundle.metadata["model_sha256"],
            "columns": spec.columns, "source": spec.path, "staging": str(staging), "fmt": fmt,
            "skip_bad": skip_bad, "kb": kb_url, "input_format": input_format,
        }  # fmt: skip
        futures = client.compute(
            [
                dask.delayed(score_partition)(t, i, first_row=first_rows[i], **options)
                for i, t in enumerate(tasks)
            ]
        )
        results = []
        with _unreadable_as_input_error(spec.path):
            for future in as_completed(futures):
                results.append(future.result())
                if progress is not None:
                    progress()
        if kb_url is not None:
            client.run(_close_stores)
        rows = sum(r["rows"] for r in results)
        rejected = sum(r["rejected"] for r in results)
        ids = pd.Series(np.concatenate([r["ids"] for r in results]) if results else [], dtype=object)
        duplicated = ids[ids.duplicated()]
        if len(duplicated):
            raise InputError(
                f"{len(duplicated)} duplicate ID(s) (first: {duplicated.iloc[0]!r}).",
                path=spec.path,
                hint="IDs must be unique so each prediction can be matched to its row.",
            )
        _finish(staging, out, fmt, bundle, rows)
        reject_out = None
        if rejected:
            reject_out = rejects
            _concatenate(sorted((staging / "rejects").glob("part-*.csv")), rejects, header=REJECT_COLUMNS)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
        shutil.rmtree(staging, ignore_errors=True)
    return BatchResult(
        out=out, rows=rows, rejected=rejected, reject_path=reject_out, partitions=len(tasks),
        model_id=bundle.model_id, seconds=time.perf_counter() - started,
        notes=([numbered_note(rows + rejected)] if numbered else []) + store_notes(bundle, kb),
    )  # fmt: skip


def _store_url(kb: str | None) -> str | None:
    """The URL the workers open the store ``kb`` by (None: no store), checked here first.

    Each worker retrieves its own partition's evidence with the local engine's :func:`attach`,
    rather than the client retrieving per distinct variant as ``annotate_dask`` does: a row's
    evidence depends on more than its variant (its own item and statement are left out, its
    context ranks the items), so a per-variant lookup would not give the local engine's output,
    and bringing every row's text to the client would undo the partitioning. An SQLite file (by
    its absolute path, on a file system the workers share, as the input and output already are)
    or a PostgreSQL URL (with its password, which the workers need to connect; it goes only to
    the user's own scheduler and workers) can be opened by every worker. Opening it here first
    refuses a wrong ``--kb`` before a cluster starts, and brings an older schema up to date once,
    not in each worker at the same time."""
    if kb is None:
        return None
    with open_store(kb, create=False) as store:
        return store.url


def _concatenate(parts: list[Path], target: Path, *, header: tuple[str, ...] | list[str]) -> None:
    def write(handle: Any) -> None:
        csv.writer(handle).writerow(header)
        for part in parts:
            with part.open(encoding="utf-8") as chunk:
                shutil.copyfileobj(chunk, handle)

    atomic_write(target, write)


def _check_out(out: Path, fmt: str) -> None:
    earlier = out.is_dir() and all(p.name.startswith("part-") for p in out.iterdir())
    if fmt == "parquet" and out.exists() and not earlier:
        raise InputError(
            "exists and is not an earlier Parquet output of oncoclass.",
            path=out,
            hint="Choose another --out (a new folder, or a name ending in .csv for one CSV).",
        )


def _finish(staging: Path, out: Path, fmt: str, bundle: Bundle, rows: int) -> None:
    header = ["ID", *label_columns(bundle.labels), *PREDICTION_INFO_COLUMNS]
    if fmt == "csv":
        _concatenate(sorted((staging / "out").glob("part-*.csv")), out, header=header)
    else:
        if out.exists():
            shutil.rmtree(out)
        os.replace(staging / "out", out)
    write_sidecar(out, bundle, rows=rows, engine="dask")


# --- annotate on Dask -----------------------------------------------------------------------
#
# The same two passes as ``annotate_file``, over partitions instead of chunks: the workers tally
# their partitions' distinct variants, the client predicts each distinct variant once (with the
# store, if one is given), then the workers annotate their partitions and write them as parts,
# which the client joins in order into the output.


def tally_partition(
    frame: pd.DataFrame, *, path: str, columns: dict[str, str] | None, vcf: bool = False
) -> Tally:
    """The first pass on one partition: its :class:`oncoclass.annotate.Tally`."""
    tally = Tally()
    tally.add(variants_in(frame, path, columns, vcf=vcf))
    return tally


def annotate_partition(
    frame: pd.DataFrame, index: int, *, lookup: Lookup, path: str, columns: dict[str, str] | None,
    staging: str, fmt: str, vcf: bool = False, newline: str = "\n",
) -> None:  # fmt: skip
    """The second pass on one partition: annotated and written, header-less, as a part."""
    annotated = annotate_chunk(frame, variants_in(frame, path, columns, vcf=vcf), lookup)
    part = Path(staging) / f"part-{index:06d}"
    text = {} if fmt == "parquet" else {"encoding": "utf-8", "newline": ""}
    with part.open("wb" if fmt == "parquet" else "w", **text) as handle:  # type: ignore[call-overload]
        sink = Sink(handle, fmt, [], header=False, newline=newline)
        sink.write(annotated)
        sink.close()


def _sheet_partitions(sheet: Sheet, partitions: int | None) -> Any:
    """A sheet as Dask partitions: a streamed MAF, CSV or TSV read by the workers, a byte range
    each (a gzipped one by one worker, as gzip cannot be entered midway); anything else (a zip or
    7z archive, Parquet, JSONL) read whole here and partitioned, as ``predict`` does."""
    import dask.dataframe as dd

    if sheet.source is None or sheet.compression not in (None, "gzip"):
        whole = sheet.whole()
        return dd.from_pandas(whole, npartitions=max(1, partitions or os.cpu_count() or 1), sort=False)
    tab = sheet.fmt in ("maf", "tsv")
    options: dict[str, Any] = {
        "sep": "\t" if tab else ",", "dtype": str, "keep_default_na": False, "encoding": "utf-8-sig",
        "quoting": csv.QUOTE_NONE if tab else csv.QUOTE_MINIMAL, "skiprows": len(sheet.comments),
    }  # fmt: skip
    if sheet.compression == "gzip":
        options.update(compression="gzip", blocksize=None)
    else:
        blocksize = _blocksize(sheet.source, partitions)
        # Dask reads the header from a sample; with comment lines skipped it must lie in the first block.
        options.update(blocksize=blocksize, sample=min(blocksize, 256_000))
    return dd.read_csv(str(sheet.source), **options)


def annotate_dask(
    bundle: Bundle, sheet: Sheet, out: str | Path, *, columns: dict[str, str] | None = None,
    store: Store | None = None, probabilities: bool = False, scheduler: str | None = None,
    partitions: int | None = None, progress: Any = None,
) -> dict[str, Any]:  # fmt: skip
    """Annotate ``sheet`` (:func:`oncoclass.annotate.open_sheet`) into ``out`` on Dask: the same
    file as :func:`oncoclass.annotate.annotate_file` writes, written atomically. Returns the
    summary. The workers read the input and write their parts beside ``out``: on a cluster of
    several machines both must be on a file system they share."""
    if sheet.fmt == "vcf":
        raise ConfigError(
            "--engine dask reads MAFs and tables; annotate a VCF with --engine local (htslib writes "
            "its records back from the source file)."
        )
    refuse_annotated(list(sheet.frame.columns), sheet.path)
    fmt, _ = output_of(sheet, out)
    with _unreadable_as_input_error(sheet.path):
        frame = _sheet_partitions(sheet, partitions)
    beside = None if is_stdout(out) else Path(out).parent
    if beside is not None:
        make_parent(Path(out))
    staging = Path(tempfile.mkdtemp(prefix=".oncoclass-annotate.", dir=beside))
    client, cluster = _client(scheduler)
    try:
        import dask

        tasks = frame.to_delayed()
        if progress is not None:
            progress.start(2 * len(tasks), "annotating partitions")
        where = {"path": sheet.path, "columns": columns, "vcf": sheet.fmt == "vcf"}
        end_check = None
        if sheet.source is not None and sheet.compression in (None, "gzip"):
            # Dask's reader pads a short row with empty values and its gzip reader takes a file cut
            # short (then gzipped whole) for complete, as pandas does; annotate_chunk's reader
            # checks both as it reads, Dask's cannot. So a worker checks them beside the tallies,
            # before any output is written (a plain file's end was checked when it was opened).
            tab = sheet.fmt in ("maf", "tsv")
            end_check = client.compute(dask.delayed(check_rows_of)(
                sheet.source, sheet.path, delimiter="\t" if tab else ",", quoted=not tab,
                skip=len(sheet.comments), cut_short=sheet.compression == "gzip",
            ))  # fmt: skip
        with _unreadable_as_input_error(sheet.path):
            tallies = _in_order(client, [dask.delayed(tally_partition)(t, **where) for t in tasks], progress)
            if end_check is not None:
                end_check.result()
            tally = Tally()
            for part in tallies:
                tally.merge(part)
            lookup = predict_variants(bundle, tally, store=store, probabilities=probabilities)
            [shared] = client.scatter([lookup], broadcast=True)
            _in_order(client, [
                dask.delayed(annotate_partition)(
                    t, i, lookup=shared, staging=str(staging), fmt=fmt, newline=sheet.newline, **where
                )
                for i, t in enumerate(tasks)
            ], progress)  # fmt: skip
        empty = sheet.frame.iloc[:0]
        header = annotate_chunk(
            empty, variants_in(empty, sheet.path, columns, vcf=sheet.fmt == "vcf"), lookup
        )

        def write(sink: Sink) -> None:
            if fmt in ("maf", "csv", "tsv"):
                sink.write(header)  # the comment lines and the header: the parts have none
            for i in range(len(tasks)):
                sink.copy(staging / f"part-{i:06d}")

        write_output(write, sheet, out)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
        shutil.rmtree(staging, ignore_errors=True)
    return tally.summary()


def _in_order(client: Any, tasks: list[Any], progress: Any) -> list[Any]:
    """Run ``tasks`` on the cluster; their results in the tasks' order."""
    from distributed import as_completed

    futures = client.compute(tasks)
    for _ in as_completed(futures):
        if progress is not None:
            progress()
    return list(client.gather(futures))
