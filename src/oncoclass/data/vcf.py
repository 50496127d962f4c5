"""VCF, VCF.gz and BCF read and written through htslib (cyvcf2), for ``annotate``.

A record's gene, protein change and consequence come from VEP's ``CSQ`` or snpEff's ``ANN``
INFO field, whose sub-fields the header names. A record with several transcripts' consequences
uses the canonical one (VEP's ``CANONICAL=YES``) and otherwise the first listed (VEP and snpEff
list the most severe first); ``--transcript first`` always takes the first. Written back, a VCF
keeps every header line and record and gains ``ONCOCLASS_*`` INFO fields, declared in its header
as ``Number=A``: a record is read as one row per ALT allele, each predicted, a value for each.
"""

from __future__ import annotations

import functools
import io
import itertools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd

from oncoclass.data.files import open_checked_stream, open_stream, read_start
from oncoclass.data.tables import refuse_duplicate_names
from oncoclass.errors import InputError
from oncoclass.output import atomic_path

#: The columns a VCF is read into: where the record is, the rest of the record (QUAL, FILTER,
#: INFO, then FORMAT and each sample's column when it has samples), then what annotate reads.
POSITION_COLUMNS: tuple[str, ...] = ("CHROM", "POS", "ID", "REF", "ALT")
RECORD_COLUMNS: tuple[str, ...] = ("QUAL", "FILTER", "INFO")
READ_COLUMNS: tuple[str, ...] = ("SYMBOL", "HGVSp", "Consequence")
_GENE = {"CSQ": "SYMBOL", "ANN": "Gene_Name"}
_PROTEIN = {"CSQ": "HGVSp", "ANN": "HGVS.p"}
_CONSEQUENCE = {"CSQ": "Consequence", "ANN": "Annotation"}


#: The columns every VCF header line names, in order, before FORMAT and the samples.
_FIXED = ("#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO")
_DECLARED = re.compile(r"##(INFO|FORMAT|FILTER)=<ID=([^,>]+)")
#: The most INFO fields one record may hold. htslib keeps a record's count in 16 bits (65,535) and
#: past it fails with a code that reads as a damaged record; each undeclared key also costs a header
#: line, declared one at a time. Real records hold tens (a VEP CSQ holds its fields in one).
MAX_INFO_KEYS = 10_000
#: How many undeclared keys the note names before it only counts the rest.
NOTE_KEYS = 20


@dataclass
class _Text:
    """What a text VCF's own lines say, read before htslib sees it: htslib's messages for a
    damaged header are vague, and a record's key without a header line makes cyvcf2 fail on
    writing (and crash on reading its FORMAT)."""

    meta: int = 0  # the ``##`` lines before ``#CHROM``
    declared: set[tuple[str, str]] = field(default_factory=set)  # ("INFO"|"FORMAT"|"FILTER", ID)
    #: keys the records use with no header line, in the order first met; INFO: whether any value
    undeclared: dict[tuple[str, str], bool] = field(default_factory=dict)

    @property
    def first_record_line(self) -> int:
        return self.meta + 2


def _scan_text(source: Path, path: str | Path) -> _Text | None:
    """:func:`_scan_once` of ``source`` as it is now: annotate reads a VCF to predict it and again
    to write it, and the second read need not scan it again (a VEP VCF's CSQ fields can run to
    kilobytes a record)."""
    stat = source.stat()
    return _scan_once(str(source), str(path), stat.st_mtime_ns, stat.st_size, stat.st_ino)


@functools.lru_cache(maxsize=4)
def _scan_once(name: str, path: str, mtime_ns: int, size: int, inode: int) -> _Text | None:
    """The header of a text VCF checked, and the INFO and FORMAT keys its records use without a
    ``##INFO`` or ``##FORMAT`` line; None for a BCF (binary: its header declares every key). The
    records are read through :func:`open_checked_stream`, so a VCF cut short (an interrupted
    download or copy: a last record with fewer fields than ``#CHROM`` names) is refused by the
    rule every table follows, plain or compressed, before htslib reads its cut record as whole."""
    source = Path(name)
    if read_start(source, 3) == b"BCF":
        return None
    text = _Text()
    with open_stream(source) as stream:
        for line in io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline=""):
            if line.startswith("\ufeff") and not text.meta:
                # A UTF-8 byte-order mark (saved by a Windows editor): the file is a VCF by every
                # command's rule (detect.is_vcf), but htslib takes the mark for part of the first
                # line and does not read it as one; said as such, not as a missing #CHROM line.
                raise InputError(
                    "begins with a UTF-8 byte-order mark, which htslib does not read in a VCF.",
                    path=path,
                    row=1,
                    hint="Remove it (sed -i '1s/^\\xEF\\xBB\\xBF//' FILE) or save the file as UTF-8 "
                    "without a BOM.",
                )
            if line.startswith("##"):
                text.meta += 1
                if match := _DECLARED.match(line):
                    text.declared.add((match[1], match[2]))
                continue
            columns = line.rstrip("\r\n").split("\t")
            if not line.startswith("#"):
                raise InputError(
                    "has no #CHROM header line before its first record.",
                    path=path,
                    row=text.meta + 1,
                    hint="Add the line #CHROM<tab>POS<tab>ID<tab>REF<tab>ALT<tab>QUAL<tab>FILTER<tab>INFO "
                    "before the records.",
                )
            if len(columns) < len(_FIXED):
                raise InputError(
                    f"the #CHROM header line should name at least {len(_FIXED)} tab-separated "
                    f"columns, but this line has {len(columns)}.",
                    path=path,
                    row=text.meta + 1,
                    hint="Write it as " + "<tab>".join(_FIXED) + " (then <tab>FORMAT<tab>sample... "
                    "when the records carry genotypes), separated by tabs, not spaces.",
                )
            break
        else:
            raise InputError("has no #CHROM header line.", path=path, row=text.meta + 1)
    with open_checked_stream(source, path, delimiter="\t", quoted=False, skip=text.meta) as stream:
        lines = io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline="")
        for _ in range(text.meta + 1):
            next(lines, None)
        number, line = text.first_record_line - 1, "\n"
        for number, line in enumerate(lines, start=text.first_record_line):
            fields = line.rstrip("\r\n").split("\t", 9)
            if len(fields) < len(_FIXED) and line.strip():
                # htslib reads the missing columns as "." and would write the record back whole.
                raise InputError(
                    f"the record has {len(fields)} of the {len(_FIXED)} columns a VCF record needs "
                    "(CHROM POS ID REF ALT QUAL FILTER INFO): it was cut short or damaged.",
                    path=path,
                    row=number,
                    hint="Download or copy the file again.",
                )
            if len(fields) > 6:
                # A filter a caller set without its ##FILTER line (LowQual): htslib cannot write
                # the record back, and said so as "errorcode 2" of the wrong record.
                for key in fields[6].split(";"):
                    if key not in ("", ".", "PASS") and ("FILTER", key) not in text.declared:
                        text.undeclared.setdefault(("FILTER", key), False)
            if len(fields) > 7:
                items = fields[7].split(";")
                if len(items) > MAX_INFO_KEYS:
                    raise InputError(
                        f"the record has {len(items):,} INFO fields, past the limit of "
                        f"{MAX_INFO_KEYS:,} in one record (htslib holds at most 65,535).",
                        path=path,
                        row=number,
                        hint="Split the values among fewer keys, or drop the keys predictions do not "
                        "need (bcftools annotate -x).",
                    )
                for item in items:
                    key, equals, _ = item.partition("=")
                    if key not in ("", ".") and ("INFO", key) not in text.declared:
                        had = text.undeclared.get(("INFO", key), False)
                        text.undeclared[("INFO", key)] = had or bool(equals)
            if len(fields) > 8:
                for key in fields[8].split(":"):
                    if key not in ("", ".") and ("FORMAT", key) not in text.declared:
                        text.undeclared.setdefault(("FORMAT", key), True)
    if not line.endswith(("\n", "\r")):
        # Every tool ends a VCF's lines with a line break; a sites-only VCF cut inside its last
        # INFO still has all eight columns, and only the missing break tells.
        raise InputError(
            "the last record ends without a line break: the file was cut short (an interrupted "
            "download or copy).",
            path=path,
            row=number,
            hint="Download or copy the file again (or, if it is whole, end it with a line break).",
        )
    _refuse_bgzf_without_end(source, path)
    return text


#: The empty block bgzip (and htslib) writes at the end of every BGZF file.
_BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")


def _refuse_bgzf_without_end(source: Path, path: str | Path) -> None:
    """A bgzipped VCF ends with an empty end-of-file block; one without it was cut at a block
    boundary, where each block still decompresses whole (htslib only warns)."""
    with source.open("rb") as handle:
        head = handle.read(16)  # the file's own bytes, not what they decompress to
        if len(head) < 16 or head[:4] != b"\x1f\x8b\x08\x04" or head[12:14] != b"BC":
            return
        handle.seek(max(handle.seek(0, os.SEEK_END) - len(_BGZF_EOF), 0))
        if handle.read() != _BGZF_EOF:
            raise InputError(
                "the bgzip file ends without its end-of-file block: it was cut short (an interrupted "
                "download or copy).",
                path=path,
                hint="Download or copy the file again.",
            )


#: The description of a header line oncoclass added for a key the input's records used undeclared.
_ADDED = "Not declared in the input's header; added by oncoclass"


def _declare(reader: Any, text: _Text | None) -> None:
    """Declare the keys the records use without a header line, before htslib reads a record, as
    bcftools does: INFO values and FORMAT keys as text (Type=String, any number), an INFO key
    never given a value as a Flag, GT as the genotype the VCF specification defines."""
    for (kind, key), valued in (text.undeclared if text else {}).items():
        if kind == "FILTER":
            reader.add_filter_to_header({"ID": key, "Description": _ADDED})
            continue
        line = {"ID": key, "Number": ".", "Type": "String"}
        if kind == "INFO" and not valued:
            line.update(Number="0", Type="Flag")
        if kind == "FORMAT" and key == "GT":
            line.update(Number="1", Description="Genotype")
        line.setdefault("Description", _ADDED)
        (reader.add_info_to_header if kind == "INFO" else reader.add_format_to_header)(line)


def _undeclared_note(text: _Text | None, path: str | Path) -> list[str]:
    if not text or not text.undeclared:
        return []
    # A file may use thousands: the note stays one readable line.
    named = [f"{kind} {key}" for kind, key in itertools.islice(text.undeclared, NOTE_KEYS)]
    more = len(text.undeclared) - len(named)
    keys = ", ".join(named) + (f" and {more:,} more" if more else "")
    return [
        f"{path}: {keys} used without a ##INFO/##FORMAT/##FILTER header line; declared in the "
        "output's header (as bcftools does; INFO and FORMAT values read as text). Add the header "
        "lines to the input to give their types and meanings."
    ]


def _vcf(path: str | Path, text: _Text | None = None) -> Any:
    """A cyvcf2 reader over ``path``, with the keys its records use undeclared declared."""
    from cyvcf2 import VCF

    try:
        reader = VCF(str(path), lazy=True)
    except Exception as exc:  # cyvcf2 raises bare Exception ("cannot parse VCF header")
        raise InputError(
            f"cannot be read as a VCF ({exc}).",
            path=path,
            hint="Check its header lines (##fileformat=VCFv4.x first, then the ## lines, then #CHROM).",
        ) from exc
    _declare(reader, text)
    return reader


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


def _vep_allele(ref: str, alts: list[str], alt: str) -> str:
    # VEP's Allele drops the first base when REF and every ALT share it (an indel), "-" when
    # nothing is left; snpEff's is the ALT as written. Either may be in a file.
    if ref and all(a and a[0] == ref[0] for a in alts):
        return alt[1:] or "-"
    return alt


def _per_allele(
    ref: str, alts: list[str], entries: list[dict[str, str]], transcript: str
) -> list[tuple[str, dict[str, str]]]:
    """Each ALT allele with its chosen consequence. A record with one ALT takes its entries
    whole; a multi-allelic one gives each allele the entries of its own (VEP's ALLELE_NUM when
    present, else the Allele sub-field), so an allele with none has no protein change, not the
    first allele's."""
    if len(alts) <= 1:
        # A record without ALT (``.``: a reference call) keeps its one row, its ALT written as the
        # file wrote it; annotate notes it, never predicts it (:data:`oncoclass.annotate.NO_ALT`).
        return [(alts[0] if alts else ".", _choose(entries, transcript))]
    numbered = any("ALLELE_NUM" in e for e in entries)
    chosen = []
    for number, alt in enumerate(alts, start=1):
        forms = {alt, _vep_allele(ref, alts, alt)}
        if numbered:
            mine = [e for e in entries if e.get("ALLELE_NUM") == str(number)]
        else:
            mine = [e for e in entries if e.get("Allele") in forms]
        chosen.append((alt, _choose(mine, transcript) if mine else {}))
    return chosen


def _read_vcf(path: str | Path, *, transcript: str = "canonical") -> pd.DataFrame:
    """One row per ALT allele of each record (one for a record without ALT): its position, the
    allele, every other field of the record as htslib writes it (QUAL, FILTER, INFO whole, FORMAT
    and each sample's column), and its chosen consequence's gene (``SYMBOL``), protein change
    (``HGVSp``) and consequence (``Consequence``): a table written from it loses nothing of the
    record (a LowQual call stays LowQual). ``attrs``: ``records`` (how many), ``notes``."""
    text = _scan_text(Path(path), path)
    reader = _vcf(path, text)
    try:
        key, names = _fields(reader, path)
    except InputError:
        reader.close()
        raise
    if "ONCOCLASS_PREDICTION" in reader.raw_header:
        reader.close()
        raise InputError(
            "already has oncoclass annotations (ONCOCLASS_* INFO fields).",
            path=path,
            hint="Annotate the original file.",
        )
    samples = [str(name) for name in reader.samples]
    width = len(_FIXED) + (1 + len(samples) if samples else 0)
    columns = [*POSITION_COLUMNS, *RECORD_COLUMNS, *(["FORMAT", *samples] if samples else []), *READ_COLUMNS]
    try:
        refuse_duplicate_names(columns, path)  # a sample named SYMBOL or ALT: which is which?
    except InputError:
        reader.close()
        raise
    rows = []
    records = 0
    try:
        for record in reader:
            written = str(record).rstrip("\r\n").split("\t")
            rest = tuple(written[5:width]) + ("",) * (width - max(len(written), 5))
            raw = record.INFO.get(key) or ""
            entries = [
                dict(zip(names, item.split("|"), strict=False)) for item in str(raw).split(",") if item
            ]
            alts = list(record.ALT)
            for allele, chosen in _per_allele(record.REF, alts, entries, transcript):
                where = (record.CHROM, str(record.POS), record.ID or ".", record.REF, allele)
                read = (chosen.get(f[key], "") for f in (_GENE, _PROTEIN, _CONSEQUENCE))
                rows.append((*where, *rest, *read))
            records += 1
    except InputError:
        raise
    except Exception as exc:  # htslib's errors reach Python as bare Exception (bcf_read failed)
        raise _record_error(exc, records, text, path) from exc
    finally:
        reader.close()
    frame = pd.DataFrame(rows, columns=columns, dtype=object)
    frame.attrs["records"] = records
    frame.attrs["notes"] = _undeclared_note(text, path)
    return frame


def _record_error(exc: BaseException, done: int, text: _Text | None, path: str | Path) -> InputError:
    """The error for record ``done + 1`` that htslib could not read, with its line in a text VCF
    (blank lines aside, which htslib skips)."""
    return InputError(
        f"record {done + 1} cannot be read as VCF ({exc}).",
        path=path,
        row=None if text is None else text.first_record_line + done,
        hint="Check that record's columns are tab-separated and complete.",
    )


def _encode(value: str) -> str:
    # INFO values may not hold white space, ';', '=' or ','; VCF 4.3 percent-encodes them.
    return quote(value, safe="!\"#$&'()*+-./:<>?@[\\]^_`{|}~")


def _info_id(column: str, prefix: str) -> str:
    return "ONCOCLASS_" + re.sub(r"[^0-9A-Za-z_.]", "_", column[len(prefix) :]).upper()


def _write_vcf(frame: pd.DataFrame, source: str | Path, out: Path, *, prefix: str) -> Path:
    """``source`` again with the frame's ``prefix`` columns as INFO fields, declared Number=A: a
    value per ALT allele, in ALT order, ``.`` for an allele with none (rows come one per allele,
    as :func:`_read_vcf` gives them). Bgzipped when ``out`` ends in ``.gz``, BCF when it ends in
    ``.bcf``. Written to a temporary file beside ``out`` and renamed into place when complete."""
    from cyvcf2 import Writer

    added = [c for c in frame.columns if str(c).startswith(prefix)]
    text = _scan_text(Path(source), source)
    reader = _vcf(source, text)
    ids = {}
    for column in added:
        ids[column] = info = _info_id(column, prefix)
        reader.add_info_to_header(
            {
                "ID": info,
                "Number": "A",
                "Type": "String",
                "Description": f"oncoclass: {column[len(prefix) :]}, one per ALT allele",
            }
        )
    mode = "wb" if out.name.endswith(".bcf") else "wz" if out.name.endswith(".gz") else "w"
    values = frame[added].astype(str).to_numpy()
    row = records = 0
    try:
        with atomic_path(out) as tmp:
            writer = Writer(str(tmp), reader, mode=mode)
            for records, record in enumerate(reader, start=1):  # noqa: B007 (counted for errors)
                alleles = len(record.ALT)
                mine = values[row : row + max(alleles, 1)]
                row += max(alleles, 1)
                for j, column in enumerate(added):
                    given = list(mine[:, j])
                    if alleles and any(given):  # Number=A: nothing to write without an ALT
                        record.INFO[ids[column]] = ",".join(_encode(v) if v else "." for v in given)
                writer.write_record(record)
            writer.close()
            if row != len(values):  # the reader's rows and the records disagree: a bug, not input
                raise RuntimeError(f"{len(values)} rows for {row} alleles of {source}")
    except (InputError, RuntimeError):
        raise
    except Exception as exc:  # htslib's errors reach Python as bare Exception
        raise _record_error(exc, records, text, source) from exc
    finally:
        reader.close()
    return out
