"""The streaming line reader agrees with reading the whole file, whatever the block boundaries."""

from __future__ import annotations

import itertools
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oncoclass.data import load_table
from oncoclass.data.files import _lines, iter_lines, read_bytes, read_text
from oncoclass.errors import InputError

_DIR = Path(tempfile.mkdtemp(prefix="oncoclass-lines-"))


def _whole(path: Path) -> list[str]:
    lines = read_text(path).split("\n")
    return lines[:-1] if lines[-1] == "" else lines


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(["a", "|", "\r", "\n", "é", "中", "😀", " "]), max_size=60),
    st.booleans(),
    st.integers(min_value=1, max_value=9),
)
def test_streamed_lines_equal_whole_file_lines(text: str, bom: bool, block: int) -> None:
    path = _DIR / "lines"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    with path.open("rb") as handle:
        streamed = list(_lines(handle, path, None, block))
    assert streamed == _whole(path)


@pytest.mark.parametrize("bom", [False, True])
@pytest.mark.parametrize("block", [1, 2, 3, 64])
def test_invalid_utf8_names_the_same_byte_and_row_as_whole_reading(
    tmp_path: Path, block: int, bom: bool
) -> None:
    # The byte is counted in the file as saved: a byte-order mark (which utf-8-sig drops before
    # it counts) moves it by three, read whole or a few bytes at a time.
    path = tmp_path / "bad"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + "ab\ncé\n".encode() + b"x\xe9\xff\n")
    with pytest.raises(InputError) as whole:
        read_text(path)
    with pytest.raises(InputError) as streamed, path.open("rb") as handle:
        list(_lines(handle, path, None, block))
    assert streamed.value.render() == whole.value.render()
    assert f"row 3: byte {11 if bom else 8}" in streamed.value.render()


def test_long_line_is_refused_before_it_is_assembled(tmp_path: Path) -> None:
    path = tmp_path / "long"
    path.write_text("header\n" + "x" * 5000 + "\n")
    expected = "row 2: a line of more than 1,000 characters"
    with pytest.raises(InputError, match=expected), path.open("rb") as handle:
        list(_lines(handle, path, 1000, 256))


def test_zip_member_streams(tmp_path: Path) -> None:
    path = tmp_path / "texts.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("training_text", "ID,Text\r\n0||one\r\n1||two")
    assert list(iter_lines(path)) == ["ID,Text", "0||one", "1||two"]


def test_binary_and_missing_files(tmp_path: Path) -> None:
    path = tmp_path / "binary"
    path.write_bytes(bytes(range(256)))
    with pytest.raises(InputError, match="binary"):
        list(iter_lines(path))
    with pytest.raises(InputError, match="no such file"):
        list(iter_lines(tmp_path / "absent"))


def _workbook(path: Path, folder: str) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(f"{folder}/workbook.xml", "<workbook/>")
        archive.writestr(f"{folder}/sheet1.xml", "<sheet/>")
    return path


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("v.xlsx", lambda p: _workbook(p, "xl"), "is an Excel workbook.*Save the sheet as CSV"),
        ("v.docx", lambda p: _workbook(p, "word"), "is a Word document"),
        (
            "paper.pdf",
            lambda p: p.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"),
            "is a PDF.*pdftotext",
        ),
        (
            "v.xls",
            lambda p: p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64)),
            "old Office file",
        ),
    ],
)
def test_office_files_and_pdfs_are_named_with_what_to_do(
    tmp_path: Path, name: str, make, message: str
) -> None:
    # What a curator most often passes by mistake: the sheet as Excel saved it, or the paper itself.
    path = tmp_path / name
    make(path)
    with pytest.raises(InputError, match=message):
        load_table(path)


# --- Inputs that are not regular files, and archives that lie -------------------------------------


def test_standard_input_is_read_once(monkeypatch) -> None:
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"id,gene,variation\n1,BRAF,V600E\n")))
    assert read_bytes("-") == b"id,gene,variation\n1,BRAF,V600E\n"


def test_a_fifo_is_read_as_a_stream(tmp_path: Path) -> None:
    import os
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    data = b"ID,Gene,Variation,Class\n0,BRAF,V600E,7\n1,TP53,R175H,4\n"

    def writer() -> None:
        with fifo.open("wb") as handle:
            handle.write(data)

    thread = threading.Thread(target=writer)
    thread.start()
    table = load_table(fifo)  # detection and loading share the one read of the pipe
    thread.join(timeout=10)
    assert list(table["variation"]) == ["V600E", "R175H"]


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null", "/dev/urandom"])
def test_devices_are_refused_before_reading(device: str) -> None:
    with pytest.raises(InputError, match="device"):
        read_bytes(device)
    with pytest.raises(InputError, match="device"):
        next(iter_lines(device))


def test_a_zip_member_larger_than_its_header_declares_is_cut_at_the_cap(tmp_path: Path, monkeypatch) -> None:
    import oncoclass.data.files as files

    path = tmp_path / "liar.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("v.csv", b"id,gene,variation\n" + b"1,BRAF,V600E\n" * 50_000)
    monkeypatch.setenv("ONCOCLASS_MAX_TABLE_BYTES", "100000")
    # The central directory says 650 kB and is refused at once; a header claiming less is still
    # refused once the counted bytes pass the cap, before the member is read whole.
    with pytest.raises(InputError, match="ONCOCLASS_MAX_TABLE_BYTES"):
        read_bytes(path)
    real_check = files._check_size
    calls: list[int] = []

    def lenient_header(p, uncompressed, compressed, limit):
        calls.append(uncompressed)
        if len(calls) == 1:
            return None  # pretend the header declared a small member
        return real_check(p, uncompressed, compressed, limit)

    monkeypatch.setattr(files, "_check_size", lenient_header)
    with pytest.raises(InputError, match="ONCOCLASS_MAX_TABLE_BYTES"):
        read_bytes(path)
    assert max(calls[1:]) <= 100_000 + (1 << 16) + 1  # stopped within one read of the cap


def test_a_zip_through_a_pipe_is_read(tmp_path: Path, monkeypatch) -> None:
    import io
    import sys

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("v.csv", "id,gene,variation\n1,BRAF,V600E\n")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(buffer.getvalue())))
    assert read_bytes("-") == b"id,gene,variation\n1,BRAF,V600E\n"


def test_a_zip_with_damaged_deflate_data_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("v.csv", b"id,gene,variation\n" + b"1,BRAF,V600E\n" * 2000)
    data = bytearray(path.read_bytes())
    start = data.index(b"v.csv") + len(b"v.csv") + 10  # inside the compressed stream
    data[start : start + 40] = bytes(40)
    path.write_bytes(bytes(data))
    with pytest.raises(InputError):
        read_bytes(path)


def test_gzip_inputs_are_read_and_bounded(tmp_path: Path, monkeypatch) -> None:
    import gzip

    from oncoclass.data import files

    path = tmp_path / "variants.csv.gz"
    path.write_bytes(gzip.compress(b"gene,variation\nBRAF,V600E\n"))
    assert load_table(path)["variation"].tolist() == ["V600E"]
    bomb = tmp_path / "bomb.csv.gz"
    bomb.write_bytes(gzip.compress(b"gene,variation\n" + b"A,V1E\n" * 100_000))
    monkeypatch.setenv("ONCOCLASS_MAX_TABLE_BYTES", "100000")
    with pytest.raises(InputError, match="ONCOCLASS_MAX_TABLE_BYTES"):
        files.read_bytes(bomb)
    broken = tmp_path / "broken.csv.gz"
    broken.write_bytes(gzip.compress(b"gene,variation\nBRAF,V600E\n" * 50)[:-12])  # the end cut off
    with pytest.raises(InputError, match="damaged"):
        files.read_bytes(broken)


def test_a_table_cut_short_is_refused_and_a_complete_one_is_not(tmp_path: Path) -> None:
    from oncoclass.data.files import refuse_cut_short

    with pytest.raises(InputError, match=r"t.tsv, row 3: the last row has 2 of the header's 3 fields"):
        refuse_cut_short("a\tb\tc\n1\t2\t3\n4\t5", "t.tsv", delimiter="\t", quoted=False)
    with pytest.raises(InputError, match=r"row 3: .*cut short"):
        refuse_cut_short(b'a,b,c\n1,2,3\n4,"5', "t.csv", delimiter=",", quoted=True)
    # Complete: a last row of every field without a line break, or a quoted value holding one.
    refuse_cut_short("a\tb\tc\n1\t2\t", "t.tsv", delimiter="\t", quoted=False)
    refuse_cut_short(b'a,b,c\n1,2,"x\ny"', "t.csv", delimiter=",", quoted=True)
    # A short row that ends with a line break is whole: the table's reader judges it.
    refuse_cut_short(b"a,b,c\n1,2\n", "t.csv", delimiter=",", quoted=True)
    # Named by its line as an editor shows it (RowWidths'), as the Dask engine names it: the
    # header plus the record's position before, one short after a quoted value's line break;
    # a last line of spaces is blank (skipped by every reader), not a row cut short.
    with pytest.raises(InputError, match=r"t.csv, row 4: the last row has 2 of the header's 3 fields"):
        refuse_cut_short(b'a,b,c\n1,2,"x\ny"\n4,5', "t.csv", delimiter=",", quoted=True)
    refuse_cut_short(b"a,b,c\n1,2,3\n  ", "t.csv", delimiter=",", quoted=True)


def test_a_compressed_table_cut_short_is_refused_as_the_plain_one_is(tmp_path: Path) -> None:
    """The same rule for a file read in pieces, plain, gzipped or zipped: up front
    (refuse_cut_short_file) or as the stream ends (open_checked_stream, which reads it once)."""
    import gzip

    from oncoclass.data.files import open_checked_stream, refuse_cut_short_file

    cut, whole = b"#c\na\tb\tc\n1\t2\t3\n4\t5", b"#c\na\tb\tc\n1\t2\t3\n4\t5\t6"
    for data, refused in ((cut, True), (whole, False)):
        plain, gz, zipped = tmp_path / "t.tsv", tmp_path / "t.tsv.gz", tmp_path / "t.zip"
        plain.write_bytes(data)
        gz.write_bytes(gzip.compress(data))
        with zipfile.ZipFile(zipped, "w") as archive:
            archive.writestr("t.tsv", data)
        for source in (plain, gz, zipped):
            rule = {"delimiter": "\t", "quoted": False, "skip": 1}
            if refused:
                with pytest.raises(InputError, match=rf"{source.name}, row 4: the last row has 2 of"):
                    refuse_cut_short_file(source, source.name, **rule)
                with (
                    pytest.raises(InputError, match=rf"{source.name}, row 4: .*cut short"),
                    open_checked_stream(source, source.name, **rule) as stream,
                ):
                    while stream.read(3):
                        pass
            else:
                refuse_cut_short_file(source, source.name, **rule)
                with open_checked_stream(source, source.name, **rule) as stream:
                    assert stream.read() == data


_CELLS = st.text(alphabet=st.sampled_from(["a", ",", '"', "\n", "\r", " ", "é"]), max_size=6)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_CELLS, min_size=1, max_size=4), min_size=1, max_size=6), st.integers(1, 7))
def test_row_widths_count_fields_as_the_csv_readers_do(rows: list[list[str]], block: int) -> None:
    """RowWidths (the one width rule) counts each record's fields as Python's csv module parses
    RFC 4180 (quoted values holding commas, quotes and line breaks), fed in any blocks."""
    import csv
    import io

    from oncoclass.data.files import RowWidths

    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([["h1", "h2", "h3"], *rows])
    data = out.getvalue().encode()
    # The readers skip a line of spaces alone (pandas' skip_blank_lines), as RowWidths does.
    parsed = [
        r for r in csv.reader(io.StringIO(out.getvalue(), newline=""))
        if r and not (len(r) == 1 and r[0] and not r[0].strip(" "))
    ]  # fmt: skip
    bad = next((len(r) for r in parsed if len(r) != 3), None)
    counter = RowWidths("t.csv", delimiter=",", quoted=True)
    if bad is None:
        for start in range(0, len(data), block):
            counter.feed(data[start : start + block])
        counter.end()
    else:
        with pytest.raises(InputError, match=f"row [0-9]+: this row has (only )?{bad} "):
            for start in range(0, len(data), block):
                counter.feed(data[start : start + block])
            counter.end()


_LINES = st.lists(
    st.tuples(st.integers(0, 4), st.sampled_from(["\n", "\r\n", "\r"])), min_size=1, max_size=12
)


@settings(max_examples=300, deadline=None)
@given(_LINES, st.lists(st.integers(0, 200), max_size=4), st.integers(0, 2))
def test_row_widths_in_pieces_find_the_rows_of_the_whole(lines, cuts, skip) -> None:
    """A file checked in pieces cut at line ends (a Dask partition's block), each with the
    header's width and its first line and byte given, finds the records of the wrong width that
    the whole file's check finds: the same rows, fields and bytes (what ``--on-bad-rows skip``
    cuts out). A line of n tabs has n + 1 fields (0: a blank line, skipped)."""
    from oncoclass.data.files import RowWidths

    text = "#c\n" * skip + "a\tb\tc\n" + "".join(("x\t" * n)[:-1] + end if n else end for n, end in lines)
    data = text.encode()
    whole: list = []
    RowWidths("t.tsv", delimiter="\t", quoted=False, skip=skip, bad=whole).check(data)
    body = len("#c\n" * skip + "a\tb\tc\n")  # the first piece holds the header (batch._read sees to it)
    ends = sorted({i + 1 for i, b in enumerate(data) if b == ord("\n") and i + 1 > body})
    points = sorted({0, *(ends[c % len(ends)] for c in cuts if ends), len(data)})
    found, line = [], 0
    for number, (begin, end) in enumerate(itertools.pairwise(points)):
        bad: list = []
        first = number == 0
        piece = RowWidths(
            "t.tsv",
            delimiter="\t",
            quoted=False,
            skip=skip if first else 0,
            width=None if first else 3,
            bad=bad,
        )
        piece.check(data[begin:end], final=end == len(data))
        found += [(line + b.row, b.fields, begin + b.start, begin + b.end) for b in bad]
        line += piece.line
    assert found == [(b.row, b.fields, b.start, b.end) for b in whole]
    for b in whole:  # each span is its record's line, its end included
        assert data[b.start : b.end].rstrip(b"\r\n").count(b"\t") + 1 == b.fields


def test_a_quote_never_closed_is_named_by_its_row() -> None:
    # pandas says "EOF inside string" and no row; the rows after the quote would be one value.
    from oncoclass.data.files import refuse_ragged_rows

    with pytest.raises(InputError, match=r"q.csv, row 3: a quoted value begins on this row and never ends"):
        refuse_ragged_rows(
            b'gene,variation\nBRAF,V600E\nKRAS,"G12D\nTP53,R175H\n', "q.csv", delimiter=",", quoted=True
        )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("id,gene,variation,text\n1,BRAF,V600E,a\n2,KRAS,G12D\n3,TP53,R175H,c\n",
         "row 3: this row has only 3 of the header's 4 fields"),
        # pandas would read the first row's extra field as an index and shift every value left.
        ("id,gene,variation\n1,BRAF,V600E,x\n2,KRAS,G12D\n", "row 2: this row has 4 fields where the header"),
        ("id\tgene\tvariation\ttext\r\n1\tBRAF\tV600E\ta\r\n2\tKRAS\tG12D\r\n", "row 3: this row has only 3"),
        ('id,gene,variation,text\n1,BRAF,V600E,"a, ""b""\nc"\n2,KRAS,G12D\n', "row 4: this row has only 3"),
    ],
)  # fmt: skip
def test_a_row_with_too_few_or_too_many_fields_is_refused_by_every_reader(
    data: str, message: str, tmp_path: Path
) -> None:
    from oncoclass.data.tables import load_generic

    path = tmp_path / ("t.tsv" if "\t" in data else "t.csv")
    path.write_text(data, newline="")
    with pytest.raises(InputError, match=message):
        load_generic(path)


def test_quoted_values_and_blank_lines_are_not_ragged_rows(tmp_path: Path) -> None:
    from oncoclass.data.tables import load_generic

    path = tmp_path / "t.csv"
    path.write_text('id,gene,variation,text\n1,BRAF,V600E,"a,b\n\nc"\n\n   \n2,KRAS,G12D,"x ""y"""\n')
    assert load_generic(path)["text"].tolist() == ["a,b\n\nc", 'x "y"']


@pytest.mark.parametrize("command", ["predict", "annotate", "annotate-dask", "predict-dask", "kb import"])
@pytest.mark.parametrize("packing", ["plain", "gzip"])
def test_every_command_refuses_a_short_row_in_the_middle(
    cli, tmp_path: Path, fast_model: Path, command: str, packing: str
) -> None:
    import gzip

    text = "Hugo_Symbol\tProtein_Change\tid\nBRAF\tp.V600E\t1\nKRAS\tp.G12D\nTP53\tp.R175H\t3\n"
    if command.startswith("annotate"):
        text = "#version 2.4\n" + text  # its comment lines are skipped, and counted in the row
    path = tmp_path / "in.maf"
    if packing == "gzip":
        path = tmp_path / "in.maf.gz"
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    out = tmp_path / ("out.csv" if command.startswith("predict") else "out.maf")  # predictions: a table
    args = {
        "predict": ["predict", "-m", fast_model, "-i", path, "-o", out],
        "predict-dask": ["predict", "-m", fast_model, "-i", path, "-o", out, "--engine", "dask"],
        "annotate": ["annotate", "-m", fast_model, "-i", path, "-o", out],
        "annotate-dask": ["annotate", "-m", fast_model, "-i", path, "-o", out, "--engine", "dask"],
        "kb import": ["kb", "import", path, "--kb", f"sqlite:///{tmp_path / 'kb.db'}"],
    }[command]
    result = cli(args)
    assert result.returncode == 2, result.stderr
    row = 4 if command.startswith("annotate") else 3
    line = f"{path}, row {row}: this row has only 2 of the header's 3 fields"
    assert line in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize("command", ["predict", "annotate", "kb import"])
def test_a_nul_byte_past_the_start_is_named_with_its_row(
    cli, tmp_path: Path, fast_model: Path, command
) -> None:
    """Past the first 8 KiB (where a file reads as binary), a NUL would have become part of a
    value (a gene "BR\\x00AF") without a word: refused with its row by every reader."""
    rows = ["id,gene,variation"] + [f"{i},BRAF,V600E" for i in range(1, 1500)]
    rows[1200] = "1200,BR\x00AF,V600E"
    path = tmp_path / "late.csv"
    path.write_text("\n".join(rows) + "\n")
    out = tmp_path / "out.csv"
    args = {
        "predict": ["predict", "-m", fast_model, "-i", path, "-o", out],
        "annotate": ["annotate", "-m", fast_model, "-i", path, "-o", out],
        "kb import": ["kb", "import", path, "--kb", f"sqlite:///{tmp_path / 'kb.db'}"],
    }[command]
    done = cli(args)
    assert done.returncode == 2 and "late.csv, row 1201: " in done.stderr and "is a NUL" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not out.exists()


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_text_is_named_with_what_to_do(tmp_path: Path, encoding: str) -> None:
    # Excel's "Unicode Text" (UTF-16 with its byte-order mark) read as "a binary file" before.
    path = tmp_path / "unicode.txt"
    text = "gene\tvariation\nBRAF\tV600E\n"
    path.write_bytes(("\ufeff" + text if encoding == "utf-16-be" else text).encode(encoding))
    with pytest.raises(InputError, match=r"unicode.txt: this is UTF-16 or UTF-32 text .* iconv -f UTF-16"):
        load_table(path)


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_a_bytes_row_is_its_line_whatever_the_line_ends(tmp_path, newline: bytes) -> None:
    # Not UTF-8 and a NUL, found whole or streamed a few bytes at a time (a CR cut from its LF),
    # are named by the line RowWidths names (a lone CR ends one), as an editor shows it.
    from oncoclass.data.files import RowWidths, decode, iter_lines, line_ends

    lines = [b"id,gene", *(b"%d,BRAF" % i for i in range(5)), b"bad,BR\xe9F", b"x,y"]
    data = newline.join(lines) + newline
    assert line_ends(data) == len(lines)
    with pytest.raises(InputError, match=r"row 7: byte \d+ is not valid UTF-8"):
        decode(data, "t.csv")
    source = tmp_path / "t.csv"
    source.write_bytes(data)
    for block in (1, 2, 3, 7):
        with pytest.raises(InputError, match=r"row 7: byte \d+ is not valid UTF-8"):
            list(iter_lines(source, block=block))
    nul = data.replace(b"\xe9", b"\x00")
    with pytest.raises(InputError, match=r"row 7: byte \d+ is a NUL"):
        RowWidths("t.csv", delimiter=",", quoted=True).check(nul)


@pytest.mark.parametrize(
    ("fmt", "data", "rows"),
    [
        # After a blank line ended by a lone CR, pandas took a delimiter opening the next line for
        # the CR's LF and dropped it: the row's values shifted left, or a row of one delimiter was
        # lost (and with it the row numbers of every row after it).
        ("csv", b"id,gene,variation\rr1,BRAF,V600E\r \t\r,KRAS,G12D\r",
         [["r1", "BRAF", "V600E"], ["", "KRAS", "G12D"]]),
        ("csv", b"gene,variation\rBRAF,V600E\r\r,\rKRAS,G12D\r",
         [["BRAF", "V600E"], ["", ""], ["KRAS", "G12D"]]),
        ("tsv", b"gene\tvariation\rBRAF\tV600E\r  \r\t\rKRAS\tG12D\r",
         [["BRAF", "V600E"], ["", ""], ["KRAS", "G12D"]]),
    ],
)  # fmt: skip
def test_a_row_after_a_blank_line_ended_by_a_lone_cr_is_read_whole(fmt: str, data: bytes, rows: list) -> None:
    from oncoclass.data.files import for_pandas
    from oncoclass.data.tables import read_frame

    starts: list[int] = []
    frame = read_frame(Path(f"x.{fmt}"), fmt, data, starts=starts)
    assert frame.values.tolist() == rows and len(starts) == len(rows)
    assert len(for_pandas(data, "\t" if fmt == "tsv" else ",")) == len(data)  # every offset holds
    plain = b"id,gene\r\nr1,BRAF\r\n"
    assert for_pandas(plain, ",") is plain  # no copy where nothing needs it
