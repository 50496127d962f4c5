"""Every error a user can cause, with the message they will read.

Library code raises these; each edge (CLI, service) renders them once. A message says what is
wrong, where (file, row, field) and what to do about it.
"""

from __future__ import annotations

from pathlib import Path

#: A message longer than this is shortened in its middle: a value quoted from a hostile file (a
#: 50 MB line read as a header) must not become a 50 MB message.
MAX_MESSAGE_CHARS = 2000


def shortened(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text``, or its beginning and end with how much was left out between them."""
    if len(text) <= limit:
        return text
    head, tail = text[: limit * 3 // 4], text[-(limit // 8) :]
    return f"{head} … ({len(text) - len(head) - len(tail):,} characters left out) … {tail}"


class OncoclassError(Exception):
    """Base of every error that is the user's to fix (bad input, bad model file, bad option)."""

    exit_code = 2
    #: The HTTP status the service answers with (the one place an error's kind becomes a status).
    http_status = 422

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        # One line, as the edges promise: a library's reason may carry line breaks of its own.
        self.message = shortened(" ".join(message.split("\n")).strip())
        self.hint = hint
        super().__init__(self.render())

    def render(self) -> str:
        if not self.hint:
            return self.message
        # A message quoting a library's reason may end without a full stop.
        stop = "" if self.message.rstrip().endswith((".", "!", "?", ":")) else "."
        return f"{self.message}{stop} {self.hint}"

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only constructors don't survive default pickling; errors raised in Dask
        # workers must reach the client intact.
        return (_rebuild, (type(self), dict(self.__dict__)))


def _rebuild(cls: type[OncoclassError], state: dict[str, object]) -> OncoclassError:
    error = cls.__new__(cls)
    error.__dict__.update(state)
    Exception.__init__(error, error.render())
    return error


class InputError(OncoclassError):
    """An input file that cannot be read as the corpus it claims to be."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        row: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.path = None if path is None else str(path)
        self.row = row
        where = ""
        if self.path is not None:
            where = f"{self.path}"
            if row is not None:
                where += f", row {row}"
            where += ": "
        super().__init__(where + message, hint=hint)


class ModelFileError(OncoclassError):
    """A model directory that is missing, altered, or written by an incompatible version."""


class ConfigError(OncoclassError):
    """An option or setting that cannot be honoured (unknown recipe, bad fold count…).

    ``field`` names the setting in the library's words (``folds``, ``params``); an edge says which
    of its own options that is (the CLI's ``--cv`` in ``train``, ``--folds`` in ``evaluate``)."""

    def __init__(self, message: str, *, field: str | None = None, hint: str | None = None) -> None:
        self.field = field
        super().__init__(message, hint=hint)


class TrainingError(OncoclassError):
    """Training data that no model can learn from (one class, too few rows…)."""


class OutputError(OncoclassError):
    """An output that cannot or must not be written (a folder, a link, a device, the input itself,
    a read-only or full file system).

    ``field`` names the output in the library's words (``out``, ``report``, ``rejects``); an edge
    says which of its options that is (``--report`` in ``evaluate``), so no message names one."""

    def __init__(
        self, message: str, *, path: str | Path, hint: str | None = None, field: str = "out"
    ) -> None:
        self.path = str(path)
        self.field = field
        super().__init__(f"{self.path}: {message}", hint=hint)


class StoreError(OncoclassError):
    """An evidence store that cannot be opened, read or written (wrong URL, server down, a schema
    newer than this oncoclass)."""


class AuthError(OncoclassError):
    """A request without a valid token (a missing, unknown, malformed or revoked one)."""

    http_status = 401


class PermissionDenied(OncoclassError):
    """A signed-in user asking for what their role does not allow."""

    http_status = 403


class TooLarge(OncoclassError):
    """A request past one of the service's bounds (items per request, characters of text)."""

    http_status = 413


class NotFound(OncoclassError):
    """A review item, user or other record that does not exist."""

    http_status = 404


class ConflictError(OncoclassError):
    """A change made on a stale version of a record: someone else changed it first. ``current``
    is the record as it now is, so the client can show it and decide again."""

    http_status = 409

    def __init__(self, message: str, *, current: dict[str, object], hint: str | None = None) -> None:
        self.current = current
        super().__init__(message, hint=hint)
