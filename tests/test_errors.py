"""How an error reads: the edges render it once, as it renders itself."""

from __future__ import annotations

from oncoclass.errors import MAX_MESSAGE_CHARS, InputError, StoreError


def test_a_message_quoting_a_huge_value_is_shortened() -> None:
    error = InputError("unknown header " + "x" * 50_000_000, path="big.tsv", hint="Give a header.")
    assert len(error.render()) < MAX_MESSAGE_CHARS + 200 and "characters left out" in error.render()
    assert error.render().startswith("big.tsv: unknown header") and error.render().endswith("Give a header.")


def test_a_hint_follows_a_full_stop() -> None:
    joined = StoreError("cannot open the store: unable to open database file", hint="Check the path.")
    assert joined.render() == "cannot open the store: unable to open database file. Check the path."
    assert StoreError("done.", hint="Next.").render() == "done. Next."


def test_a_message_is_one_line() -> None:
    said = InputError("cannot be parsed (C error: Expected 2 fields in line 3, saw 9\n).", path="f.csv")
    assert "\n" not in said.render() and said.render().endswith("saw 9 ).")
