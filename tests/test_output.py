"""What ``--out`` may be, and the atomic writer: every refusal is an OutputError naming the path,
and every failure leaves nothing behind."""

from __future__ import annotations

import errno
import os
import signal
from pathlib import Path

import pytest

from oncoclass.errors import OutputError
from oncoclass.output import Interrupted, atomic_write, check_output, cleanup_on_signals


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_a_new_file_in_an_existing_folder_is_fine(tmp_path: Path) -> None:
    assert check_output(tmp_path / "out.csv") == tmp_path / "out.csv"
    assert check_output(tmp_path / "model", folder=True) == tmp_path / "model"  # made by its writer


def test_a_folder_that_does_not_exist_is_said_not_made(tmp_path: Path) -> None:
    for target, folder in ((tmp_path / "a" / "b" / "out.maf", False), (tmp_path / "a" / "model", True)):
        with pytest.raises(OutputError, match=f"the folder {tmp_path / 'a'}.* does not exist"):
            check_output(target, folder=folder)
    assert list(tmp_path.iterdir()) == []


def test_dash_is_standard_output_where_allowed() -> None:
    assert check_output("-") is None
    with pytest.raises(OutputError, match="standard output"):
        check_output("-", folder=True)
    with pytest.raises(OutputError, match="standard output"):
        check_output("-", stdout_ok=False)


@pytest.mark.parametrize(
    ("make", "folder", "message"),
    [
        (lambda t: t.mkdir(), False, "is a folder"),
        (lambda t: t.write_text("x"), True, "is not a folder"),
        (lambda t: t.symlink_to(t.parent / "elsewhere"), False, "symbolic link"),
        (lambda t: os.mkfifo(t), False, "device, pipe or socket"),
    ],
    ids=["folder for a file", "file for a folder", "symlink", "fifo"],
)
def test_outputs_that_must_not_be_replaced(tmp_path: Path, make, folder: bool, message: str) -> None:
    target = tmp_path / "out"
    make(target)
    with pytest.raises(OutputError, match=message) as info:
        check_output(target, folder=folder)
    assert str(target) in str(info.value)


def test_devices_and_dev_stdout_are_refused() -> None:
    with pytest.raises(OutputError, match="device"):
        check_output("/dev/null")
    with pytest.raises(OutputError, match="or - for standard output"):
        check_output("/dev/stdout")  # a link to /proc/self/fd/1: it would be replaced, not written


def test_the_input_itself_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("id,gene,variation\n")
    with pytest.raises(OutputError, match="also an input"):
        check_output(source, inputs=[None, source])
    with pytest.raises(OutputError, match="also an input"):
        check_output(tmp_path / "." / "in.csv", inputs=[str(source)])  # another spelling of it


def test_a_read_only_folder_is_refused(tmp_path: Path, monkeypatch) -> None:
    # Root ignores permission bits, so the read-only case is simulated at the access check.
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == tmp_path else real_access(p, mode))
    with pytest.raises(OutputError, match="read-only"):
        check_output(tmp_path / "out.csv")


@pytest.mark.parametrize(
    ("code", "reason"),
    [(errno.ENOSPC, "disk is full"), (errno.EROFS, "read-only"), (errno.EACCES, "permission")],
)
def test_write_failures_become_one_message_and_leave_nothing(tmp_path: Path, code: int, reason: str) -> None:
    def fail(handle) -> None:
        handle.write("half")
        raise OSError(code, os.strerror(code))

    with pytest.raises(OutputError, match=reason):
        atomic_write(tmp_path / "out.csv", fail)
    assert list(tmp_path.iterdir()) == []


def test_an_existing_output_survives_a_failed_write(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("before")

    def fail(handle) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OutputError):
        atomic_write(target, fail)
    assert target.read_text() == "before" and _leftovers(tmp_path) == []


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_mid_write_removes_the_temporary_file(tmp_path: Path, signum: int, code: int) -> None:
    before = signal.getsignal(signum)

    def killed(handle) -> None:
        handle.write("half")
        os.kill(os.getpid(), signum)

    with pytest.raises(Interrupted) as info, cleanup_on_signals():
        atomic_write(tmp_path / "out.csv", killed)
    assert info.value.code == code
    assert list(tmp_path.iterdir()) == []
    assert signal.getsignal(signum) == before  # the handler is the block's alone


def test_json_has_no_nan_and_reads_numpy_dataclasses_and_paths() -> None:
    """JSON has no NaN: a missing number is null, so strict parsers (jq, JavaScript) read it."""
    import json
    import math
    from dataclasses import dataclass

    import numpy as np

    from oncoclass.output import to_json

    @dataclass
    class Result:
        path: Path
        scores: np.ndarray

    text = to_json(
        {"a": math.nan, "b": np.float32(0.5), "c": np.int64(3), "d": Result(Path("x"), np.ones(2))}
    )
    assert json.loads(text) == {"a": None, "b": 0.5, "c": 3, "d": {"path": "x", "scores": [1.0, 1.0]}}
    assert text.endswith("\n") and "NaN" not in text


def test_a_path_inside_a_model_folder_is_refused(tmp_path: Path) -> None:
    model = tmp_path / "m"
    model.mkdir()
    (model / "model.skops").write_bytes(b"model")
    (model / "metadata.json").write_text("{}")
    for target in (model / "model.skops", model / "new.csv", model / "sub" / "x.csv"):
        with pytest.raises(OutputError, match="inside the model folder") as info:
            check_output(target)
        assert str(target) in str(info.value)
    assert check_output(tmp_path / "beside.csv") == tmp_path / "beside.csv"
    assert check_output(model, folder=True) == model  # train --out replaces a model whole


def test_no_command_writes_into_the_model_it_reads(cli, tmp_path: Path, fast_model: Path) -> None:
    import shutil

    model = tmp_path / "m"
    shutil.copytree(fast_model, model)
    before = {p.name: p.read_bytes() for p in model.iterdir()}
    labelled = tmp_path / "l.csv"
    labelled.write_text("ID,Gene,Variation,Class\n1,BRAF,V600E,7\n2,KRAS,G12D,7\n3,TP53,R175H,4\n")
    runs = [
        ["report", "--model", model, "--input", labelled, "--out", model / "model.skops"],
        ["predict", "--model", model, "--input", labelled, "--out", model / "model.skops"],
        ["predict", "--model", model, "--input", labelled, "--out", model / "p.csv"],
        ["annotate", "--model", model, "--input", labelled, "--out", model / "metadata.json"],
        ["kb", "export", "--kb", tmp_path / "kb.sqlite", "--out", model / "model.skops"],
    ]
    for args in runs:
        done = cli(args)
        assert done.returncode == 2 and "inside the model folder" in done.stderr, (args, done.stderr)
    assert {p.name: p.read_bytes() for p in model.iterdir()} == before


class _Failing:
    """A standard output whose writes fail with ``code``."""

    def __init__(self, code: int) -> None:
        self.code = code

    def write(self, text: str) -> int:
        raise OSError(self.code, os.strerror(self.code))

    def flush(self) -> None:
        pass


def test_a_full_standard_output_is_one_message(monkeypatch) -> None:
    import sys

    from oncoclass.output import write_stdout

    monkeypatch.setattr(sys, "stdout", _Failing(errno.ENOSPC))
    with pytest.raises(OutputError, match=r"^standard output: could not be written \(no space left"):
        write_stdout(lambda handle: handle.write("ID,class1\n"))


def test_a_closed_pipe_ends_quietly(monkeypatch) -> None:
    import sys

    from oncoclass.output import PipeClosed, write_stdout

    monkeypatch.setattr(sys, "stdout", _Failing(errno.EPIPE))
    with pytest.raises(PipeClosed) as info:
        write_stdout(lambda handle: handle.write("ID,class1\n"))
    assert info.value.code == 128 + signal.SIGPIPE
