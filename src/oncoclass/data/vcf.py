"""VCF, VCF.gz and BCF read and written through htslib (cyvcf2), for ``annotate``.

A record's gene, protein change and consequence come from VEP's ``CSQ`` or snpEff's ``ANN``
INFO field, whose sub-fields the header names. A record with several transcripts' consequences
uses the canonical one (VEP's ``CANONICAL=YES``) and otherwise the first listed (VEP and snpEff
list the most severe first); ``--transcript first`` always takes the first. Written back, a VCF
keeps every header line and record and gains ``ONCOCLASS_*`` INFO fields, declared in its header.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd

from oncoclass.errors import InputError
from oncoclass.output import atomic_path

#: The columns a VCF is read into: where the record is, then what annotate reads.
POSITION_COLUMNS: tuple[str, ...] = ("CHROM", "POS", "ID", "REF", "ALT")
_GENE = {"CSQ": "SYMBOL", "ANN": "Gene_Name"}
_PROTEIN = {"CSQ": "HGVSp", "ANN": "HGVS.p"}
_CONSEQUENCE = {"CSQ": "Consequence", "ANN": "Annotation"}


def _vcf(path: str | Path) -> Any:
    from cyvcf2 import VCF

    try:
        return VCF(str(path), lazy=True)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot be read as a VCF ({exc}).", path=path) from exc


def _fields(reader: Any, path: str | Path) -> tuple[str, list[str]]:
    """Which annotation field the VCF carries (``CSQ`` or ``ANN``) and its sub-field names."""
    for key in ("CSQ", "ANN"):
        try:
            description = reader.get_header_type(key)["Description"]
        except KeyError:
            continue
        names = re.split(r"Format:|annotations:", description, maxsplit=1)[-1]
        return key, [n.strip(" '\"") for n in names.strip().strip("'\"").split("|")]
    raise InputError(
        "has no CSQ (VEP) or ANN (snpEff) annotations, so no gene or protein change to read.",
        path=path,
        hint="Annotate it with VEP or snpEff first, or give a MAF.",
    )


def _choose(entries: list[dict[str, str]], transcript: str) -> dict[str, str]:
    if transcript == "canonical":
        canonical = [e for e in entries if e.get("CANONICAL") == "YES"]
        if canonical:
            return canonical[0]
    return entries[0] if entries else {}


def read_vcf(path: str | Path, *, transcript: str = "canonical") -> pd.DataFrame:
    """:func:`_read_vcf` in a child process (see :func:`isolated`)."""
    return isolated(_read_vcf, path, transcript=transcript, path=path)


def write_vcf(frame: pd.DataFrame, source: str | Path, out: Path, *, prefix: str) -> Path:
    """:func:`_write_vcf` in a child process (see :func:`isolated`)."""
    return isolated(_write_vcf, frame, source, out, prefix=prefix, path=source)


def _quiet(log: str) -> None:
    # htslib writes its diagnostics straight to file descriptor 2; the child's go to a file, which
    # the parent reads to say what was wrong.
    handle = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(handle, 2)


def isolated(func: Any, *args: Any, path: str | Path, **kwargs: Any) -> Any:
    """Run ``func`` in a child process: htslib stops the process on some malformed files (a
    record whose position is not a number crashed cyvcf2 0.35 with a segmentation fault), and a
    hostile file must end in one clear message, not a dead process. Errors the child raises come
    back as they are; a crash becomes an InputError quoting htslib's first diagnostic."""
    import multiprocessing
    import tempfile
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    with tempfile.TemporaryDirectory(prefix="oncoclass-vcf-") as folder:
        log = os.path.join(folder, "htslib.log")
        context = multiprocessing.get_context("spawn")  # no copy of the parent's threads or locks
        try:
            with ProcessPoolExecutor(1, mp_context=context, initializer=_quiet, initargs=(log,)) as pool:
                return pool.submit(func, *args, **kwargs).result()
        except BrokenProcessPool:
            said = Path(log).read_text(encoding="utf-8", errors="replace") if os.path.exists(log) else ""
            first = next((line for line in said.splitlines() if line.startswith("[E::")), None) or next(
                (line for line in said.splitlines() if line.strip()), "no reason given"
            )
            raise InputError(
                f"cannot be read as a VCF: htslib stopped on it ({first.strip()}).", path=path
            ) from None


def _read_vcf(path: str | Path, *, transcript: str = "canonical") -> pd.DataFrame:
    """One row per record: its position and the chosen consequence's gene (``SYMBOL``), protein
    change (``HGVSp``) and consequence (``Consequence``)."""
    reader = _vcf(path)
    key, names = _fields(reader, path)
    if "ONCOCLASS_PREDICTION" in reader.raw_header:
        reader.close()
        raise InputError(
            "already has oncoclass annotations (ONCOCLASS_* INFO fields).",
            path=path,
            hint="Annotate the original file.",
        )
    rows = []
    try:
        for record in reader:
            raw = record.INFO.get(key) or ""
            entries = [
                dict(zip(names, item.split("|"), strict=False)) for item in str(raw).split(",") if item
            ]
            chosen = _choose(entries, transcript)
            rows.append(
                (record.CHROM, str(record.POS), record.ID or ".", record.REF, ",".join(record.ALT),
                 chosen.get(_GENE[key], ""), chosen.get(_PROTEIN[key], ""), chosen.get(_CONSEQUENCE[key], ""))
            )  # fmt: skip
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"record {len(rows) + 1} cannot be read ({exc}).", path=path) from exc
    finally:
        reader.close()
    return pd.DataFrame(rows, columns=[*POSITION_COLUMNS, "SYMBOL", "HGVSp", "Consequence"], dtype=object)


def _encode(value: str) -> str:
    # INFO values may not hold white space, ';', '=' or ','; VCF 4.3 percent-encodes them.
    return quote(value, safe="!\"#$&'()*+-./:<>?@[\\]^_`{|}~")


def _info_id(column: str, prefix: str) -> str:
    return "ONCOCLASS_" + re.sub(r"[^0-9A-Za-z_.]", "_", column[len(prefix) :]).upper()


def _write_vcf(frame: pd.DataFrame, source: str | Path, out: Path, *, prefix: str) -> Path:
    """``source`` again with the frame's ``prefix`` columns as INFO fields, row i on record i;
    bgzipped when ``out`` ends in ``.gz``, BCF when it ends in ``.bcf``. Written to a temporary
    file beside ``out`` and renamed into place when complete."""
    from cyvcf2 import Writer

    added = [c for c in frame.columns if str(c).startswith(prefix)]
    reader = _vcf(source)
    ids = {}
    for column in added:
        ids[column] = info = _info_id(column, prefix)
        reader.add_info_to_header(
            {
                "ID": info,
                "Number": "1",
                "Type": "String",
                "Description": f"oncoclass: {column[len(prefix) :]}",
            }
        )
    mode = "wb" if out.name.endswith(".bcf") else "wz" if out.name.endswith(".gz") else "w"
    try:
        with atomic_path(out) as tmp:
            writer = Writer(str(tmp), reader, mode=mode)
            values = frame[added].astype(str).to_numpy()
            for i, record in enumerate(reader):
                for column, value in zip(added, values[i], strict=True):
                    if value:
                        record.INFO[ids[column]] = _encode(value)
                writer.write_record(record)
            writer.close()
    finally:
        reader.close()
    return out
