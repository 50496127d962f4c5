"""Every output oncoclass writes goes through here: one rule for what ``--out`` may be, and one
atomic writer that leaves either the complete file or nothing.

``--out`` is checked before any work starts, so an hour of training is not lost to a typo:

* ``-`` means standard output (for outputs that are one stream);
* a symbolic link is refused (a file is replaced by rename, so a link would be replaced, not
  followed: ``/dev/stdout`` is such a link, and ``-`` is the way to write there);
* a device, FIFO or socket, or a folder where a file is expected, is refused;
* the same file as an input is refused: it would be overwritten by its own output;
* a path inside a model folder is refused (the model a command reads, or any other): its files are
  checked against its metadata, so one written over would leave a model that no longer loads;
* the folder it goes into must exist and be writable: a typo in a folder's name is said, not made
  into new folders (a folder output, such as a model, is itself made, in a folder that exists).

Writes go to a hidden temporary file beside the target, renamed into place when complete. Any
failure (a full disk, a read-only file system, Ctrl-C, SIGTERM) removes the temporary file, and an
operating-system failure becomes an :class:`OutputError` naming the path.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import stat
import sys
import tempfile
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from pathlib import Path
from types import FrameType
from typing import Any

from oncoclass.errors import OutputError

STDOUT = "-"


def jsonable(data: Any) -> Any:
    """``data`` as plain JSON values, the one convention every command's ``--json`` and every JSON
    file follow: dataclasses become objects, NumPy numbers plain numbers, arrays lists, paths and
    dates strings, and a missing or undefined number (NaN, infinity) ``null``, since JSON has no
    NaN and ``json.dumps`` would otherwise write one that strict parsers refuse."""
    import dataclasses
    import math

    import numpy as np

    if isinstance(data, dict):
        return {str(key): jsonable(value) for key, value in data.items()}
    if isinstance(data, list | tuple | set | frozenset):
        return [jsonable(value) for value in data]
    if isinstance(data, np.ndarray):
        return jsonable(data.tolist())
    if isinstance(data, np.generic):
        return jsonable(data.item())
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, bool | int | str) or data is None:
        return data
    if hasattr(data, "to_dict"):  # the type's own rendering first (a dataclass may leave out fields)
        return jsonable(data.to_dict())
    if dataclasses.is_dataclass(data) and not isinstance(data, type):
        return jsonable(dataclasses.asdict(data))
    if hasattr(data, "isoformat"):
        return data.isoformat()
    return str(data)


def to_json(data: Any) -> str:
    """One JSON document: keys sorted, two-space indents, a final newline (see :func:`jsonable`)."""
    import json

    return json.dumps(jsonable(data), indent=2, sort_keys=True, allow_nan=False) + "\n"


def write_json(path: str | Path, data: Any) -> None:
    atomic_write(Path(path), lambda handle: handle.write(to_json(data)))


def is_stdout(out: str | Path | None) -> bool:
    return out is not None and str(out) == STDOUT


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _writable_parent(path: Path) -> None:
    parent = path.parent
    if not parent.exists():  # a typo in a folder's name is said, not made into new folders
        raise OutputError(
            f"cannot be written: the folder {parent} does not exist.", path=path, hint="Create it first."
        )
    if not parent.is_dir():
        raise OutputError(f"cannot be written: {parent} is not a folder.", path=path)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(
            f"cannot be written: the folder {parent} is read-only.",
            path=path,
            hint="Choose a folder you can write to.",
        )


def model_folder_of(path: Path) -> Path | None:
    """The model folder ``path`` would be written into (its nearest enclosing folder that holds a
    model's file and metadata), or None."""
    from oncoclass.persist import METADATA_FILE, MODEL_FILE  # persist writes through this module

    for folder in Path(os.path.abspath(path)).parents:
        if (folder / MODEL_FILE).is_file() and (folder / METADATA_FILE).is_file():
            return folder
    return None


def check_output(
    out: str | Path, *, inputs: Iterable[str | Path | None] = (), folder: bool = False,
    stdout_ok: bool = True, field: str = "out",
) -> Path | None:  # fmt: skip
    """Refuse an output that must not be written (see the module docstring); returns the path, or
    None for standard output. ``folder``: the output is a folder (a model), not a file. ``field``:
    which output this is, for the edge to name its option (``report``; ``out`` by default)."""
    try:
        return _check_output(out, inputs=inputs, folder=folder, stdout_ok=stdout_ok)
    except OutputError as exc:
        exc.field = field
        raise


def _check_output(
    out: str | Path, *, inputs: Iterable[str | Path | None], folder: bool, stdout_ok: bool
) -> Path | None:
    if is_stdout(out):
        if folder or not stdout_ok:
            raise OutputError("this output cannot go to standard output; give a path.", path=out)
        return None
    path = Path(out)
    if str(out).strip() == "":
        raise OutputError("is empty; give a path.", path=repr(str(out)))
    if path.is_symlink():
        raise OutputError(
            "is a symbolic link; oncoclass replaces its outputs by renaming and will not replace a link.",
            path=path,
            hint="Give the link's target, or - for standard output." if not folder else None,
        )
    if path.exists():
        mode = path.stat().st_mode
        if not folder and stat.S_ISDIR(mode):
            raise OutputError("is a folder; give a file name.", path=path)
        if folder and not stat.S_ISDIR(mode):
            raise OutputError("exists and is not a folder; choose another path.", path=path)
        if not stat.S_ISDIR(mode) and not stat.S_ISREG(mode):
            raise OutputError(
                "is a device, pipe or socket, not a file.",
                path=path,
                hint="Use - to write to standard output.",
            )
        for source in inputs:
            if source is not None and not is_stdout(source) and _same_file(path, Path(source)):
                raise OutputError(
                    "is also an input; writing it would destroy the input.", path=path,
                    hint="Choose another path.",
                )  # fmt: skip
    model = model_folder_of(path)
    if model is not None:
        raise OutputError(
            f"is inside the model folder {model}; writing there would alter the model, which would "
            "then no longer load.",
            path=path,
            hint="Choose a path outside the model folder.",
        )
    _writable_parent(path)
    return path


def _reason(exc: OSError) -> str:
    return {
        errno.ENOSPC: "the disk is full",
        errno.EDQUOT: "the disk quota is used up",
        errno.EROFS: "the file system is read-only",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
    }.get(exc.errno or 0, exc.strerror or str(exc))


#: Where a name ending in ``.gz`` is gzipped: after the ending of a text format.
GZIP = ".gz"
#: A report is one self-contained HTML page.
REPORT_SUFFIXES = {".html": "html", ".htm": "html"}


def _either(items: list[str]) -> str:
    return ", ".join(items[:-1]) + f" or {items[-1]}" if len(items) > 1 else items[0]


def named_format(
    out: str | Path, suffixes: Mapping[str, str], *, default: str | None = None,
    gzips: Collection[str] = (),
) -> tuple[str, bool]:  # fmt: skip
    """The one rule for what an output's name means: the format its ending asks for among
    ``suffixes`` (ending → format), and whether it is gzipped (``.gz`` after the ending of a
    format in ``gzips``). A name with no ending is ``default``'s format. Any other ending is
    refused, with the endings this output can have: written anyway, one format would go under
    another's name (CSV as ``.xlsx``, TSV as ``.maf.zip``, plain text as ``.gz``)."""
    if is_stdout(out):
        return default or next(iter(suffixes.values())), False
    name = Path(str(out)).name.lower()
    gzipped = name.endswith(GZIP) and len(name) > len(GZIP)
    plain = name[: -len(GZIP)] if gzipped else name
    suffix = Path(plain).suffix
    fmt = suffixes.get(suffix) if suffix else default
    if fmt is not None and (not gzipped or fmt in gzips):
        return fmt, gzipped
    packed = [s for s, f in suffixes.items() if f in gzips]
    also = f" (with {GZIP} after {_either(packed)} to gzip it)" if packed else ""
    listed = _either(list(suffixes))
    if suffix:
        what = f"a {name[len(Path(plain).stem) :]} file"
    else:  # a name without an ending where this output needs one (a report), or a bare .gz
        what = f"a {GZIP} file" if gzipped else "a file without an ending"
    raise OutputError(
        f"oncoclass cannot write {what} here; this output is written as {listed}{also}.",
        path=out,
        hint="Name it with one of those endings.",
    )


def os_error(path: Path, exc: OSError) -> OutputError:
    reason = _reason(exc)
    return OutputError(f"could not be written ({reason}); nothing was written.", path=path)


class PipeClosed(SystemExit):
    """Standard output's reader went away (``oncoclass predict --out - … | head -1``): normal Unix
    use, not an error. The command ends quietly with the shell's status for a process that SIGPIPE
    ended (141), as ``cat`` or ``grep`` do. A SystemExit, so no library or Click handler takes it
    for an error."""

    def __init__(self) -> None:
        super().__init__(128 + signal.SIGPIPE)


def discard_stdout() -> None:
    """Point standard output's descriptor at /dev/null once it can no longer be written, so the
    interpreter's last flush of what is still buffered fails neither loudly ("Exception ignored
    … BrokenPipeError") nor again. Standard output without a descriptor (a test's) is left."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def write_stdout(write: Callable[[Any], Any]) -> None:
    """``write`` an output (``--out -``) to standard output and flush it: a closed pipe ends the
    command quietly (:class:`PipeClosed`), any other failure (a full device) is an
    :class:`OutputError` rather than an internal error."""
    try:
        write(sys.stdout)
        sys.stdout.flush()
    except BrokenPipeError:
        discard_stdout()
        raise PipeClosed() from None
    except OSError as exc:
        discard_stdout()
        reason = "no space left on the device" if exc.errno == errno.ENOSPC else _reason(exc)
        raise OutputError(f"could not be written ({reason}).", path="standard output") from None


def make_parent(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise os_error(path, exc) from exc


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary file in ``path``'s folder for a writer that needs a name (htslib), renamed to
    ``path`` when the block completes and removed if it fails."""
    make_parent(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        os.close(fd)
    except OSError as exc:
        raise os_error(path, exc) from exc
    try:
        yield Path(tmp)
        # mkstemp makes the file private; give it the mode any other new file would get.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise os_error(path, exc) from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write(
    path: Path, write: Callable[[Any], Any], *, binary: bool = False, gzipped: bool = False
) -> None:
    """Write through a temporary file in the same folder, renamed into place when complete;
    ``gzipped``: ``write`` is given a text handle whose lines are gzipped into the file."""
    with atomic_path(path) as tmp:
        if gzipped:
            import gzip
            import io

            with (
                tmp.open("wb") as raw,
                # The header names the file as it will be, not its temporary name.
                gzip.GzipFile(filename=path.name, fileobj=raw, mode="wb") as packed,
                io.TextIOWrapper(packed, encoding="utf-8", newline="") as text,
            ):
                write(text)
            return
        mode = "wb" if binary else "w"
        with tmp.open(mode, **({} if binary else {"encoding": "utf-8", "newline": ""})) as handle:
            write(handle)


class Interrupted(SystemExit):
    """Raised in the main thread on SIGINT (Ctrl-C) or SIGTERM, so ``finally`` blocks and the
    atomic writers clean up. The exit status is the shell's for a killed process: 128 + signal
    (130 for Ctrl-C, 143 for SIGTERM). A SystemExit, so no library or Click handler swallows it."""

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.signum = signum


def _raise_interrupted(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signum)


@contextlib.contextmanager
def cleanup_on_signals() -> Iterator[None]:
    """Turn SIGINT and SIGTERM into :class:`Interrupted` while the block runs (main thread only)."""
    try:
        previous = {sig: signal.signal(sig, _raise_interrupted) for sig in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread: leave signals to whoever owns it
        yield
        return
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
