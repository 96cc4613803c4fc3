"""The server secret: draft pseudonyms and draft encryption (design rule P1).

A draft in progress is keyed by :meth:`ServerSecret.pseudonym` (an HMAC of the channel
and the chat id, so the id itself is never stored) and its content is sealed with
:class:`DraftCipher`. Every purpose gets its own subkey, derived from the secret with
HKDF-SHA256 under a distinct ``info`` label.

Text form (:meth:`ServerSecret.to_text`, the secret file, the environment): one line of
hexadecimal, at least 64 digits (32 bytes), for example from ``openssl rand -hex 32``.
"""

from __future__ import annotations

import contextlib
import hmac
import os
import re
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = [
    "DRAFT_ENCRYPTION_LABEL",
    "PSEUDONYM_LABEL",
    "RECEIPT_LABEL",
    "TIPLINE_SCOPE_LABEL",
    "DraftCipher",
    "DraftDecryptError",
    "ServerSecret",
    "load_or_create",
]

PSEUDONYM_LABEL = b"tipline draft pseudonym v1"
DRAFT_ENCRYPTION_LABEL = b"tipline draft encryption v1"
RECEIPT_LABEL = b"tipline receipt v1"
#: The secret of one tipline among several on a deployment: ``label + name``.
TIPLINE_SCOPE_LABEL = b"tipline scope v1:"

MIN_SECRET_BYTES = 32
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})+")


class DraftDecryptError(Exception):
    """A sealed draft could not be opened: wrong key or associated data, damaged, unknown."""


class DraftCipher:
    """ChaCha20-Poly1305 for drafts at rest.

    Blob layout: 1 version byte (1), 12-byte random nonce, ciphertext with its 16-byte
    tag. The version byte is authenticated together with ``associated_data``. Random
    nonces are safe for far more drafts than one key will ever seal.
    """

    VERSION = 1
    _NONCE_SIZE = 12
    _TAG_SIZE = 16

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes) or len(key) != 32:
            raise ValueError("a draft key is exactly 32 bytes")
        self._aead = ChaCha20Poly1305(key)

    def __repr__(self) -> str:
        return "DraftCipher(<key hidden>)"

    def encrypt(self, plaintext: bytes, associated_data: bytes) -> bytes:
        """Seal ``plaintext``; ``associated_data`` (e.g. the draft's pseudonym) must match
        on decryption."""
        version = bytes([self.VERSION])
        nonce = os.urandom(self._NONCE_SIZE)
        return version + nonce + self._aead.encrypt(nonce, plaintext, version + associated_data)

    def decrypt(self, blob: bytes, associated_data: bytes) -> bytes:
        """Open a blob from :meth:`encrypt`; any failure raises DraftDecryptError."""
        if not isinstance(blob, bytes | bytearray | memoryview):
            raise DraftDecryptError("sealed draft must be bytes")
        blob = bytes(blob)
        if len(blob) < 1 + self._NONCE_SIZE + self._TAG_SIZE:
            raise DraftDecryptError("sealed draft is truncated")
        if blob[0] != self.VERSION:
            raise DraftDecryptError(f"sealed draft has unknown format version {blob[0]}")
        nonce = blob[1 : 1 + self._NONCE_SIZE]
        try:
            return self._aead.decrypt(
                nonce, blob[1 + self._NONCE_SIZE :], blob[:1] + bytes(associated_data)
            )
        except InvalidTag:
            raise DraftDecryptError(
                "sealed draft failed authentication (wrong key or associated data, or damaged)"
            ) from None
        except (TypeError, ValueError, OverflowError) as exc:
            raise DraftDecryptError(f"sealed draft could not be opened: {exc}") from None


class ServerSecret:
    """The bot host's secret (at least 32 random bytes). ``repr()`` never shows it."""

    __slots__ = ("_draft_key", "_pseudonym_key", "_secret")

    def __init__(self, secret: bytes) -> None:
        if not isinstance(secret, bytes):
            raise TypeError("server secret must be bytes")
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"server secret must be at least {MIN_SECRET_BYTES} bytes")
        self._secret = secret
        self._pseudonym_key = self.derive(PSEUDONYM_LABEL)
        self._draft_key = self.derive(DRAFT_ENCRYPTION_LABEL)

    @classmethod
    def generate(cls) -> ServerSecret:
        """A new random 32-byte secret."""
        return cls(os.urandom(MIN_SECRET_BYTES))

    @classmethod
    def from_text(cls, text: str) -> ServerSecret:
        """Parse the hex text form; surrounding whitespace is ignored. Errors never echo it."""
        if not isinstance(text, str):
            raise TypeError("server secret text must be a str")
        stripped = text.strip()
        if not _HEX.fullmatch(stripped):
            raise ValueError("server secret must be one line of hexadecimal digits")
        return cls(bytes.fromhex(stripped))

    def to_text(self) -> str:
        """The secret as lowercase hex (no newline)."""
        return self._secret.hex()

    def __repr__(self) -> str:
        return "ServerSecret(<hidden>)"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ServerSecret):
            return NotImplemented
        return hmac.compare_digest(self._secret, other._secret)

    __hash__ = None  # type: ignore[assignment]

    def derive(self, label: bytes, length: int = 32) -> bytes:
        """HKDF-SHA256 subkey for ``label``; use one distinct label per purpose."""
        if not isinstance(label, bytes) or not label:
            raise ValueError("label must be non-empty bytes")
        return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=label).derive(
            self._secret
        )

    def scoped(self, name: str) -> ServerSecret:
        """The secret of the tipline ``name`` on a deployment that runs several: an HKDF
        subkey of this one, so its pseudonyms, draft key and receipt lookups share
        nothing with another tipline's. The same person writing to two tiplines gets
        unrelated pseudonyms, and one tipline's drafts do not open with another's key."""
        if not isinstance(name, str) or not name:
            raise ValueError("a tipline name must be a non-empty str")
        return ServerSecret(self.derive(TIPLINE_SCOPE_LABEL + name.encode("utf-8")))

    def pseudonym(self, channel: str, conversation_id: str) -> str:
        """Stable pseudonym of a conversation: 64 hex digits of HMAC-SHA256.

        Each field is length-prefixed, so ("a:b", "c") and ("a", "b:c") differ.
        """
        message = b"".join(
            len(part).to_bytes(4, "big") + part
            for part in (channel.encode("utf-8"), conversation_id.encode("utf-8"))
        )
        return hmac.new(self._pseudonym_key, message, "sha256").hexdigest()

    def draft_cipher(self) -> DraftCipher:
        """The cipher for drafts at rest, under the draft-encryption subkey."""
        return DraftCipher(self._draft_key)


def load_or_create(path: Path) -> ServerSecret:
    """Load the secret from ``path``; if missing, create it (mode 0600) atomically.

    A new secret is written to a temporary file and hard-linked into place, so readers
    never see a partial file and two processes racing here end up with the same secret.
    """
    path = Path(path)
    try:
        return _load(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    secret = ServerSecret.generate()
    data = (secret.to_text() + "\n").encode("ascii")
    tmp = path.with_name(f".{path.name}.{os.urandom(8).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        try:
            os.fchmod(fd, 0o600)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return _load(path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    _fsync_dir(path.parent)
    return secret


def _load(path: Path) -> ServerSecret:
    text = path.read_text(encoding="ascii", errors="replace")
    try:
        return ServerSecret.from_text(text)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
