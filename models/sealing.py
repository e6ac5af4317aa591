"""ID numbers sealed at rest: AES-256-GCM in the database, found again by a keyed hash (個資法 §18; 001 §8).

The deployment hands the key over once at start-up (``configure``), as ``workflows.settings`` does for the
core; models never read configuration themselves. Everything else sees plain values: the column types below
seal on write and unseal on read, and a value that does not unseal (wrong key, altered, or never sealed)
raises ``SealError`` instead of coming back as garbage.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import JSON, LargeBinary, String, TypeDecorator
from sqlalchemy.sql import operators

PREFIX = "enc1:"  # format version; followed by the key id, a colon, and base64(nonce + ciphertext + tag)
_NONCE_BYTES = 12
_HASH_INFO = b"webir-bpm national-id search v1"


class SealError(RuntimeError):
    """A value cannot be sealed or unsealed: no key configured, the wrong key, or an altered value."""


@dataclass(frozen=True)
class _Keys:
    aead: AESGCM
    key_id: str  # names the key a value was sealed with, so a wrong key is reported as such
    hash_key: bytes


_KEYS: _Keys | None = None


def new_key() -> str:
    """A fresh random 256-bit key in the form ``configure`` takes."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def parse_key(text: str, name: str = "DATA_ENCRYPTION_KEY") -> bytes:
    """A 32-byte key written as URL-safe base64 (what ``new_key`` returns)."""
    try:
        raw = base64.urlsafe_b64decode(text.strip().encode())
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise SealError(f"{name} must be 32 random bytes in URL-safe base64 "
                        "(make one with: python -c 'from models.sealing import new_key; print(new_key())')")
    return raw


def configure(data_key: str, hash_key: str | None = None) -> None:
    """Set the keys once at start-up; the hash key is derived from the data key unless given."""
    global _KEYS
    raw = parse_key(data_key)
    if hash_key:
        search = parse_key(hash_key, "DATA_HASH_KEY")
    else:
        search = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HASH_INFO).derive(raw)
    _KEYS = _Keys(AESGCM(raw), hashlib.sha256(raw).hexdigest()[:8], search)


def _keys() -> _Keys:
    if _KEYS is None:
        raise SealError("no data encryption key configured (DATA_ENCRYPTION_KEY)")
    return _KEYS


def seal(text: str) -> str:
    """Encrypt with a fresh nonce: the same number sealed twice gives two different values."""
    keys = _keys()
    nonce = os.urandom(_NONCE_BYTES)
    body = base64.urlsafe_b64encode(nonce + keys.aead.encrypt(nonce, text.encode(), None)).decode()
    return f"{PREFIX}{keys.key_id}:{body}"


def is_sealed(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def unseal(token: str) -> str:
    keys = _keys()
    if not is_sealed(token):
        raise SealError("a plain value where a sealed one belongs: run `flask db upgrade` to seal old rows")
    key_id, _, body = token[len(PREFIX):].partition(":")
    if key_id != keys.key_id:
        raise SealError(f"value sealed with data key {key_id}, but the configured key is {keys.key_id}")
    try:
        raw = base64.urlsafe_b64decode(body.encode())
        return keys.aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], None).decode()
    except (InvalidTag, binascii.Error, ValueError):
        raise SealError(f"sealed value does not verify under data key {keys.key_id}: altered") from None


def normalise_id(value: str) -> str:
    return value.strip().upper()


def digest(national_id: str) -> str:
    """Keyed hash (HMAC-SHA256) of a normalised ID number: equal numbers, equal digests; no key, no guessing."""
    return hmac.new(_keys().hash_key, normalise_id(national_id).encode(), hashlib.sha256).hexdigest()


class _NoComparison(TypeDecorator.Comparator):
    """Sealing is randomised, so ``column == value`` would silently match nothing: refuse it."""

    def operate(self, op, *other, **kwargs):
        if op in (operators.is_, operators.is_not):
            return super().operate(op, *other, **kwargs)
        raise TypeError("a sealed column cannot be compared in SQL; compare its keyed hash (digest) instead")


class SealedString(TypeDecorator):
    """Plain text in Python, sealed text in the database."""

    impl = String
    cache_ok = True
    comparator_factory = _NoComparison

    def process_bind_param(self, value, dialect):
        return None if value is None else seal(value)

    def process_result_value(self, value, dialect):
        return None if value is None else unseal(value)


class SealedJSON(TypeDecorator):
    """A JSON object whose ``fields`` (top-level keys) are sealed; the other keys stay as they are."""

    impl = JSON
    cache_ok = True

    def __init__(self, fields: tuple[str, ...]):
        super().__init__()
        self.fields = fields

    def process_bind_param(self, value, dialect):
        if not isinstance(value, dict):
            return value
        return each_named(value, self.fields, seal)

    def process_result_value(self, value, dialect):
        if not isinstance(value, dict):
            return value
        return each_named(value, self.fields, unseal)


def each_named(value: dict, fields: Collection[str], change: Callable[[str], str]) -> dict:
    """A copy of the object with the text of its ``fields`` changed, at the top and in the rows of a list of objects
    (a sheet's rows): what is sealed at rest, and what a page shows masked (``workflows.forms.masked``)."""
    out = {}
    for k, v in value.items():
        if k in fields and isinstance(v, str):
            v = change(v)
        elif isinstance(v, list) and v and all(isinstance(r, dict) for r in v):
            v = [each_named(r, fields, change) for r in v]
        out[k] = v
    return out


def seal_bytes(data: bytes) -> bytes:
    """A file sealed as a whole: the prefix and key id in ASCII, then the nonce and the ciphertext with its tag."""
    keys = _keys()
    nonce = os.urandom(_NONCE_BYTES)
    return f"{PREFIX}{keys.key_id}:".encode() + nonce + keys.aead.encrypt(nonce, data, None)


def unseal_bytes(token: bytes) -> bytes:
    keys = _keys()
    head = f"{PREFIX}{keys.key_id}:".encode()
    if not token.startswith(PREFIX.encode()):
        raise SealError("a plain file where a sealed one belongs")
    if not token.startswith(head):
        key_id = token[len(PREFIX):].split(b":", 1)[0].decode("ascii", "replace")
        raise SealError(f"file sealed with data key {key_id}, but the configured key is {keys.key_id}")
    raw = token[len(head):]
    try:
        return keys.aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], None)
    except InvalidTag:
        raise SealError(f"sealed file does not verify under data key {keys.key_id}: altered") from None


class SealedBytes(TypeDecorator):
    """Bytes in Python, sealed bytes in the database (an attachment: a signed consent names its citizen)."""

    impl = LargeBinary
    cache_ok = True
    comparator_factory = _NoComparison

    def process_bind_param(self, value, dialect):
        return None if value is None else seal_bytes(bytes(value))

    def process_result_value(self, value, dialect):
        return None if value is None else unseal_bytes(bytes(value))
