"""Team members and their tokens.

A token is ``oc_<key id>_<secret>``. Only an argon2 hash of it is stored; the key id (public, unique)
finds the one row whose hash a request's token is checked against. Tokens are long random secrets,
not passwords a person chooses, so the hash's cost is set low (the RFC 9106 "second recommended"
memory, one pass): it protects a leaked database, not a guessable secret, and a request stays fast.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from oncoclass.errors import AuthError, ConfigError, NotFound, PermissionDenied
from oncoclass.kb.schema import User
from oncoclass.kb.store import Store, store_errors

ROLES: tuple[str, ...] = ("curator", "admin")
_HASHER = PasswordHasher(time_cost=1, memory_cost=19_456, parallelism=1)
_TOKEN = re.compile(r"oc_([0-9a-f]{12})_([A-Za-z0-9_-]{20,100})")
_NAME = re.compile(r"[\w.@+-]{1,64}")


@dataclass(frozen=True)
class Curator:
    """A signed-in member of the team."""

    id: int
    name: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def require_admin(self) -> None:
        if not self.is_admin:
            raise PermissionDenied(f"{self.name} is a curator; this needs an admin.")


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ConfigError(f"role must be {' or '.join(ROLES)}, not {role!r}.")
    return role


#: Scripts that one person's name may mix: Japanese writes Han with kana, Korean Han with Hangul.
_SCRIPTS_TOGETHER = ({"HAN", "HIRAGANA", "KATAKANA"}, {"HAN", "HANGUL"})


def _script(char: str) -> str:
    """A letter's script, as the first word of its Unicode name (LATIN, CYRILLIC, GREEK…); ""
    for a modifier letter (ʻ in Hawaiʻi, the length mark ー in ユーコ), which belongs to no script
    of its own and writes beside any."""
    if unicodedata.category(char) == "Lm":
        return ""
    name = unicodedata.name(char, "")
    return "HAN" if name.startswith("CJK") else name.split(" ", 1)[0]


def user_name(name: str) -> str:
    """``name`` as the store keeps it (NFKC: a fullwidth ａ is a), or ConfigError when it is not a
    name: history and the dashboard show names, so two people must never look alike. A name
    mixing scripts (a Cyrillic а among Latin letters) is refused; José, Zoë and 张伟 are names."""
    name = unicodedata.normalize("NFKC", name)
    if not _NAME.fullmatch(name):
        raise ConfigError(f"a user name is 1 to 64 letters, digits or . @ + - _, not {name!r}.")
    scripts = {_script(c) for c in name if c.isalpha()} - {""}
    if len(scripts) > 1 and not any(scripts <= together for together in _SCRIPTS_TOGETHER):
        raise ConfigError(
            f"the user name {name!r} mixes the {', '.join(sorted(scripts)).lower()} scripts, so it "
            "could look like another's.",
            hint="Write the name in one script.",
        )
    return name


def _same_as(connection: Any, name: str) -> str | None:
    """A user's name that ``name`` would be confused with (equal once NFKC-normalised and
    case-folded: Alice and alice), or None."""
    key = unicodedata.normalize("NFKC", name).casefold()
    for (taken,) in connection.execute(select(User.name)):
        if unicodedata.normalize("NFKC", taken).casefold() == key:
            return str(taken)
    return None


def add_user(store: Store, name: str, role: str) -> tuple[Curator, str]:
    """Add ``name`` with ``role`` and return them with their token, which is never stored or
    shown again (only its hash is kept)."""
    check_role(role)
    name = user_name(name)
    key_id = secrets.token_hex(6)
    token = f"oc_{key_id}_{secrets.token_urlsafe(32)}"
    row = {"name": name, "role": role, "key_id": key_id, "token_hash": _HASHER.hash(token),
           "active": True, "created_at": datetime.now(UTC)}  # fmt: skip
    with store_errors(store, "adding a user"):
        try:
            with store.engine.begin() as connection:
                taken = _same_as(connection, name)
                if taken is not None and taken != name:
                    raise ConfigError(
                        f"there is already a user named {taken!r}, which {name!r} would look like.",
                        hint="Choose a name that differs by more than case or width.",
                    )
                user_id = connection.execute(User.__table__.insert().values(**row)).inserted_primary_key[0]
        except IntegrityError:
            raise ConfigError(f"there is already a user named {name!r}.") from None
    return Curator(id=int(user_id), name=name, role=role), token


def list_users(store: Store) -> list[dict[str, object]]:
    with store_errors(store, "listing users"), store.engine.connect() as connection:
        rows = connection.execute(
            select(User.name, User.role, User.active, User.created_at).order_by(User.name)
        ).all()
    return [{"name": r.name, "role": r.role, "active": r.active, "created_at": r.created_at} for r in rows]


def revoke_user(store: Store, name: str) -> None:
    """Revoke ``name``'s token; their decisions stay in every item's history."""
    name = unicodedata.normalize("NFKC", name)  # as add_user stored it
    with store_errors(store, "revoking a user"), store.engine.begin() as connection:
        done = connection.execute(update(User).where(User.name == name).values(active=False)).rowcount
    if not done:
        raise NotFound(f"no user named {name!r}.")


def authenticate(store: Store, token: str) -> Curator:
    """The active user holding ``token``; AuthError for anything else, with one message for every
    kind of bad token so a caller learns nothing about which users exist."""
    refused = AuthError("missing, unknown or revoked token.", hint="Send `Authorization: Bearer TOKEN`.")
    match = _TOKEN.fullmatch(token.strip())
    if match is None:
        raise refused
    with store_errors(store, "checking a token"), store.engine.connect() as connection:
        row = connection.execute(
            select(User.id, User.name, User.role, User.token_hash, User.active).where(
                User.key_id == match.group(1)
            )
        ).first()
    if row is None or not row.active:
        raise refused
    try:
        _HASHER.verify(row.token_hash, token.strip())
    except (VerificationError, InvalidHashError):
        raise refused from None
    return Curator(id=row.id, name=row.name, role=row.role)
