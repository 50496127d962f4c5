"""Team members and tokens, on SQLite and PostgreSQL (``kb_url``)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from oncoclass.errors import AuthError, ConfigError, NotFound, PermissionDenied
from oncoclass.kb.store import open_store
from oncoclass.review.users import add_user, authenticate, list_users, revoke_user


def test_a_token_signs_in_its_user_and_only_its_hash_is_kept(kb_url: str) -> None:
    with open_store(kb_url) as store:
        ada, token = add_user(store, "ada", "curator")
        admin, _ = add_user(store, "grace", "admin")
        assert authenticate(store, token) == ada
        assert not ada.is_admin and admin.is_admin
        with store.engine.connect() as connection:
            stored = [str(v) for row in connection.execute(sa.text("select * from users")) for v in row]
        assert token not in stored and not any(token[10:] in v for v in stored)
        assert [u["name"] for u in list_users(store)] == ["ada", "grace"]


MANGLED = [
    lambda t: "",
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
    lambda t: "Bearer " + t,
    lambda t: "oc_000000000000_" + "x" * 43,
]


@pytest.mark.parametrize("mangle", MANGLED)
def test_a_wrong_token_is_refused_with_one_message(kb_url: str, mangle) -> None:
    with open_store(kb_url) as store:
        _, token = add_user(store, "ada", "curator")
        with pytest.raises(AuthError, match="missing, unknown or revoked token"):
            authenticate(store, mangle(token))


def test_a_revoked_user_cannot_sign_in_but_names_stay_unique(kb_url: str) -> None:
    with open_store(kb_url) as store:
        _, token = add_user(store, "ada", "curator")
        revoke_user(store, "ada")
        with pytest.raises(AuthError):
            authenticate(store, token)
        with pytest.raises(ConfigError, match="already a user named 'ada'"):
            add_user(store, "ada", "admin")
        with pytest.raises(NotFound):
            revoke_user(store, "nobody")


def test_roles_and_names_are_checked(tmp_path) -> None:
    with open_store(tmp_path / "kb.sqlite") as store:
        with pytest.raises(ConfigError, match="role must be curator or admin"):
            add_user(store, "ada", "owner")
        with pytest.raises(ConfigError, match="user name"):
            add_user(store, "ada lovelace\n", "curator")
        curator, _ = add_user(store, "ada", "curator")
        with pytest.raises(PermissionDenied, match="needs an admin"):
            curator.require_admin()


def test_names_that_would_look_alike_are_refused_and_one_script_names_work(tmp_path) -> None:
    with open_store(tmp_path / "kb.sqlite") as store:
        alice, _ = add_user(store, "alice", "curator")
        # A fullwidth ａ is an a once NFKC-normalised; a different case looks the same in a list.
        for lookalike in ("ａlice", "Alice", "ＡＬＩＣＥ"):
            with pytest.raises(ConfigError, match="already a user named 'alice'"):
                add_user(store, lookalike, "curator")
        # A Cyrillic а (or a Greek ο) among Latin letters.
        for mixed in ("\u0430lice", "b\u03bfb"):
            with pytest.raises(ConfigError, match=r"mixes the (cyrillic|greek), latin scripts"):
                add_user(store, mixed, "curator")
        for name in ("José", "Zoë", "张伟", "Ирина", "山田たろう", "佐藤ユーコ", "Hawaiʻi"):
            assert add_user(store, name, "curator")[0].name == name
        assert add_user(store, "ｂｏｂ", "curator")[0].name == "bob"  # kept as NFKC writes it
        revoke_user(store, "ｂｏｂ")
        assert [u["name"] for u in list_users(store) if not u["active"]] == ["bob"]
        assert alice.name == "alice"
