"""The streaming line reader agrees with reading the whole file, whatever the block boundaries."""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oncoclass.data.files import _lines, iter_lines, read_text
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


@pytest.mark.parametrize("block", [1, 2, 3, 64])
def test_invalid_utf8_names_the_same_byte_and_row_as_whole_reading(tmp_path: Path, block: int) -> None:
    path = tmp_path / "bad"
    path.write_bytes("ab\ncé\n".encode() + b"x\xe9\xff\n")
    with pytest.raises(InputError) as whole:
        read_text(path)
    with pytest.raises(InputError) as streamed, path.open("rb") as handle:
        list(_lines(handle, path, None, block))
    assert streamed.value.render() == whole.value.render()
    assert "row 3: byte 8" in streamed.value.render()


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
