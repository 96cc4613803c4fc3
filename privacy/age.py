"""The age v1 file format (https://age-encryption.org/v1), X25519 recipients only.

Files written by :func:`encrypt` open with the stock tool (``age -d -i key.txt``), and
:func:`decrypt` opens files written by ``age -r age1...`` (binary or ``-a`` armored).
Passphrase files (one ``scrypt`` stanza) are written by :func:`encrypt_with_passphrase`
and opened by :func:`decrypt_with_passphrase`, both ways with ``age -p`` / ``age -d``;
they protect identity files (:func:`write_identity_file` with a passphrase writes what
``age-keygen | age -p -a`` writes, which ``age -d -i FILE`` opens after asking for the
passphrase). SSH, plugin and post-quantum recipients are not implemented.

Errors, all subclasses of :class:`AgeError`:

- :class:`AgeFormatError`: the input is not a well-formed age v1 file (bad header,
  stanza, base64 or armor, unsupported version, invalid X25519 stanza), or a key string
  or key file is malformed. Nothing has been authenticated at that point.
- :class:`NoIdentityMatchError`: the header is well formed but none of the given
  identities unwraps any recipient stanza (the file is not for these keys).
- :class:`AgeIntegrityError`: a stanza was unwrapped but what follows does not
  authenticate: header MAC mismatch, altered or reordered payload chunks, truncation
  (including a missing payload nonce), trailing data, a wrong final-chunk flag or an
  empty final chunk in a non-empty file.
- :class:`WrongPassphraseError` (a :class:`NoIdentityMatchError`): the passphrase does
  not unwrap the scrypt stanza.
- :class:`PassphraseRequired`: an identity file is protected and no passphrase was given.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = [
    "DEFAULT_WORK_FACTOR",
    "MAX_WORK_FACTOR",
    "AgeError",
    "AgeFormatError",
    "AgeIntegrityError",
    "NoIdentityMatchError",
    "PassphraseRequired",
    "WrongPassphraseError",
    "X25519Identity",
    "X25519Recipient",
    "armor",
    "decrypt",
    "decrypt_with_passphrase",
    "encrypt",
    "encrypt_with_passphrase",
    "identity_file_protected",
    "identity_file_text",
    "parse_identities",
    "parse_identity_file",
    "parse_recipients",
    "read_identity_file",
    "write_identity_file",
]


class AgeError(Exception):
    """Base class of every error raised while parsing or decrypting age data."""


class AgeFormatError(AgeError):
    """Malformed age file, armor, header, stanza, key string or key file."""


class NoIdentityMatchError(AgeError):
    """None of the given identities unwraps any recipient stanza of the file."""


class AgeIntegrityError(AgeError):
    """The file key was unwrapped but the header MAC or the payload does not authenticate."""


class WrongPassphraseError(NoIdentityMatchError):
    """The passphrase does not unwrap the file's scrypt stanza (or the stanza was altered)."""


class PassphraseRequired(AgeError):
    """The identity file is protected by a passphrase and none was given."""


# --- constants of the format ------------------------------------------------------------

_VERSION_LINE = b"age-encryption.org/v1"
_VERSION_PREFIX = b"age-encryption.org/"
_STANZA_PREFIX = b"-> "
_MAC_PREFIX = b"---"
_X25519_TYPE = "X25519"
_SCRYPT_TYPE = "scrypt"
_X25519_LABEL = b"age-encryption.org/v1/X25519"
_SCRYPT_LABEL = b"age-encryption.org/v1/scrypt"
_SCRYPT_SALT_SIZE = 16
#: scrypt's work factor (log2 N) for new passphrase files: age's own default, about a
#: second on a laptop and 256 MiB of memory.
DEFAULT_WORK_FACTOR = 18
#: The largest work factor opened (2**20 needs 1 GiB; Python's scrypt allows < 2 GiB).
MAX_WORK_FACTOR = 20
_WORK_FACTOR = re.compile(r"[1-9][0-9]{0,1}")
_FILE_KEY_SIZE = 16
_KEY_SIZE = 32
_TAG_SIZE = 16
_WRAPPED_FILE_KEY_SIZE = _FILE_KEY_SIZE + _TAG_SIZE
_PAYLOAD_NONCE_SIZE = 16
_CHUNK_SIZE = 64 * 1024
_ENC_CHUNK_SIZE = _CHUNK_SIZE + _TAG_SIZE
_COLUMNS = 64
_ARMOR_BEGIN = b"-----BEGIN AGE ENCRYPTED FILE-----"
_ARMOR_END = b"-----END AGE ENCRYPTED FILE-----"
_WHITESPACE = b" \t\r\n"

_RECIPIENT_HRP = "age"
_IDENTITY_HRP = "AGE-SECRET-KEY-"

_B64_RAW = re.compile(rb"[A-Za-z0-9+/]*")
_B64_PADDED = re.compile(rb"[A-Za-z0-9+/]*={0,2}")


# --- bech32 (BIP 173 checksum; no 90-character limit, as in age) --------------------------

_BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _bech32_polymod(values: Sequence[int]) -> int:
    checksum = 1
    for value in values:
        top = checksum >> 25
        checksum = ((checksum & 0x1FFFFFF) << 5) ^ value
        for i, generator in enumerate(_BECH32_GENERATOR):
            if (top >> i) & 1:
                checksum ^= generator
    return checksum


def _bech32_hrp_expand(hrp: str) -> list[int]:
    codes = [ord(c) for c in hrp.lower()]
    return [c >> 5 for c in codes] + [0] + [c & 31 for c in codes]


def _convert_bits(data: Sequence[int], from_bits: int, to_bits: int, pad: bool) -> list[int]:
    acc = 0
    bits = 0
    out: list[int] = []
    max_value = (1 << to_bits) - 1
    for value in data:
        acc = (acc << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            out.append((acc >> bits) & max_value)
    if pad:
        if bits:
            out.append((acc << (to_bits - bits)) & max_value)
    elif bits >= from_bits:
        raise AgeFormatError("bech32 data has excess padding")
    elif (acc << (to_bits - bits)) & max_value:
        raise AgeFormatError("bech32 data has non-zero padding bits")
    return out


def _bech32_encode(hrp: str, data: bytes) -> str:
    """Encode ``data`` under ``hrp``; the result has the case of ``hrp``."""
    values = _convert_bits(data, 8, 5, pad=True)
    lower_hrp = hrp.lower()
    polymod = _bech32_polymod([*_bech32_hrp_expand(lower_hrp), *values, 0, 0, 0, 0, 0, 0]) ^ 1
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    text = lower_hrp + "1" + "".join(_BECH32_CHARSET[v] for v in values + checksum)
    return text.upper() if hrp.isupper() else text


def _bech32_decode(text: str) -> tuple[str, bytes]:
    """Decode a bech32 string into (hrp as written, data). Never echoes the input."""
    if not text.isascii():
        raise AgeFormatError("bech32 string contains non-ASCII characters")
    if text.lower() != text and text.upper() != text:
        raise AgeFormatError("bech32 string mixes upper and lower case")
    separator = text.rfind("1")
    if separator < 1 or separator + 7 > len(text):
        raise AgeFormatError("bech32 separator '1' missing or misplaced")
    hrp = text[:separator]
    if any(not 33 <= ord(c) <= 126 for c in hrp):
        raise AgeFormatError("bech32 prefix contains invalid characters")
    values: list[int] = []
    for c in text[separator + 1 :].lower():
        index = _BECH32_CHARSET.find(c)
        if index < 0:
            raise AgeFormatError("bech32 data contains a character outside the bech32 alphabet")
        values.append(index)
    if _bech32_polymod([*_bech32_hrp_expand(hrp), *values]) != 1:
        raise AgeFormatError("bech32 checksum mismatch (typo or truncated key?)")
    return hrp, bytes(_convert_bits(values[:-6], 5, 8, pad=False))


# --- keys -------------------------------------------------------------------------------


def _is_low_order(public_key: bytes) -> bool:
    """True if X25519 with any clamped scalar gives the all-zero shared secret."""
    probe = X25519PrivateKey.from_private_bytes(b"\x5a" * _KEY_SIZE)
    try:
        probe.exchange(X25519PublicKey.from_public_bytes(public_key))
    except ValueError:
        return True
    return False


@dataclass(frozen=True)
class X25519Recipient:
    """An age X25519 recipient (public key), written ``age1...``."""

    public_key: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.public_key, bytes) or len(self.public_key) != _KEY_SIZE:
            raise ValueError("an X25519 public key is exactly 32 bytes")
        if _is_low_order(self.public_key):
            raise ValueError("X25519 public key is a low-order point")

    @classmethod
    def parse(cls, text: str) -> X25519Recipient:
        """Parse an ``age1...`` recipient (lowercase bech32); raise AgeFormatError."""
        if not isinstance(text, str):
            raise TypeError("recipient must be a str")
        if text.startswith(("ssh-", "sk-ssh-")):
            raise AgeFormatError("SSH recipients are not supported, only age1... X25519 keys")
        hrp, data = _bech32_decode(text)
        if hrp != _RECIPIENT_HRP:
            if hrp.startswith("age1"):
                raise AgeFormatError(
                    "plugin and post-quantum recipients are not supported, "
                    "only age1... X25519 keys"
                )
            raise AgeFormatError(
                f"not an age X25519 recipient: prefix must be {_RECIPIENT_HRP!r} (lowercase)"
            )
        if len(data) != _KEY_SIZE:
            raise AgeFormatError(f"age recipient holds {len(data)} bytes, expected 32")
        try:
            return cls(data)
        except ValueError as exc:
            raise AgeFormatError(f"invalid age recipient: {exc}") from None

    def __str__(self) -> str:
        return _bech32_encode(_RECIPIENT_HRP, self.public_key)


@dataclass(frozen=True, repr=False, eq=False)
class X25519Identity:
    """An age X25519 identity (secret key), written ``AGE-SECRET-KEY-1...``.

    ``repr()`` shows only the public recipient; ``str()`` gives the secret string.
    """

    secret_key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.secret_key, bytes) or len(self.secret_key) != _KEY_SIZE:
            raise ValueError("an X25519 secret key is exactly 32 bytes")

    @classmethod
    def generate(cls) -> X25519Identity:
        """A new random identity."""
        return cls(X25519PrivateKey.generate().private_bytes_raw())

    @classmethod
    def parse(cls, text: str) -> X25519Identity:
        """Parse ``AGE-SECRET-KEY-1...`` (uppercase bech32); errors never echo the key."""
        if not isinstance(text, str):
            raise TypeError("identity must be a str")
        if text.startswith(("AGE-PLUGIN-", "AGE-SECRET-KEY-PQ-")):
            raise AgeFormatError(
                "plugin and post-quantum identities are not supported, "
                "only AGE-SECRET-KEY-1... X25519 keys"
            )
        hrp, data = _bech32_decode(text)
        if hrp != _IDENTITY_HRP:
            raise AgeFormatError(
                f"not an age X25519 identity: prefix must be {_IDENTITY_HRP!r} (uppercase)"
            )
        if len(data) != _KEY_SIZE:
            raise AgeFormatError(f"age identity holds {len(data)} bytes, expected 32")
        return cls(data)

    @cached_property
    def _private_key(self) -> X25519PrivateKey:
        return X25519PrivateKey.from_private_bytes(self.secret_key)

    @cached_property
    def recipient(self) -> X25519Recipient:
        """The public key that files for this identity are encrypted to."""
        return X25519Recipient(self._private_key.public_key().public_bytes_raw())

    def __str__(self) -> str:
        return _bech32_encode(_IDENTITY_HRP, self.secret_key)

    def __repr__(self) -> str:
        return f"X25519Identity(recipient={self.recipient!s})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, X25519Identity):
            return NotImplemented
        return hmac.compare_digest(self.secret_key, other.secret_key)

    def __hash__(self) -> int:
        return hash(self.recipient)


# --- key files --------------------------------------------------------------------------


def _key_lines(text: str) -> list[tuple[int, str]]:
    """(line number, content) of the lines that are neither blank nor ``#`` comments."""
    if not isinstance(text, str):
        raise TypeError("key file text must be a str")
    result = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line and not line.startswith("#"):
            result.append((number, line))
    return result


def parse_identities(text: str) -> list[X25519Identity]:
    """Parse an identity file (age-keygen layout; ``#`` comments and blank lines skipped).

    Errors name the line number but never repeat the line.
    """
    identities = []
    for number, line in _key_lines(text):
        try:
            identities.append(X25519Identity.parse(line))
        except AgeFormatError as exc:
            raise AgeFormatError(f"identity file line {number}: {exc}") from None
    if not identities:
        raise AgeFormatError("identity file contains no identities")
    return identities


def parse_recipients(text: str) -> list[X25519Recipient]:
    """Parse a recipients file: one ``age1...`` per line, ``#`` comments and blanks skipped."""
    recipients = []
    for number, line in _key_lines(text):
        try:
            recipients.append(X25519Recipient.parse(line))
        except AgeFormatError as exc:
            raise AgeFormatError(f"recipients file line {number}: {exc}") from None
    if not recipients:
        raise AgeFormatError("recipients file contains no recipients")
    return recipients


def identity_file_text(identity: X25519Identity, created: datetime | None = None) -> str:
    """The identity file as age-keygen writes it; a naive ``created`` is taken as UTC."""
    when = datetime.now(UTC) if created is None else created
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    stamp = when.replace(microsecond=0).isoformat()
    if stamp.endswith("+00:00"):
        stamp = stamp[: -len("+00:00")] + "Z"
    return f"# created: {stamp}\n# public key: {identity.recipient}\n{identity}\n"


def identity_file_protected(raw: bytes) -> bool:
    """Whether an identity file is itself an age file (protected by a passphrase): it
    starts as a binary or an armored age file does, as the stock tool checks."""
    return raw.startswith((b"age-encryption", b"-----BEGIN AGE"))


def write_identity_file(
    path: Path,
    identity: X25519Identity,
    *,
    passphrase: str | None = None,
    work_factor: int = DEFAULT_WORK_FACTOR,
) -> None:
    """Create ``path`` with mode 0600 holding ``identity``; FileExistsError if it exists.

    With a ``passphrase``, the file is the identity file encrypted with it (an armored
    age file with one scrypt stanza, as ``age-keygen | age -p -a`` writes), which
    ``age -d -i FILE`` opens after asking for the passphrase.
    """
    data = identity_file_text(identity).encode("ascii")
    if passphrase is not None:
        data = armor(encrypt_with_passphrase(data, passphrase, work_factor=work_factor))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(path)
        raise
    os.close(fd)


Passphrase = str | Callable[[], str] | None


def parse_identity_file(
    raw: bytes, *, passphrase: Passphrase = None, name: str = "identity file"
) -> list[X25519Identity]:
    """The identities of an identity file's bytes, plain or protected by a passphrase.

    ``passphrase`` is the passphrase, or a function asked for it only when the file is
    protected. A protected file without one: PassphraseRequired; a wrong one:
    WrongPassphraseError. Errors start with ``name`` and never repeat a key.
    """
    if identity_file_protected(raw):
        if passphrase is None:
            raise PassphraseRequired(f"{name}: the identity file is protected by a passphrase")
        secret = passphrase() if callable(passphrase) else passphrase
        try:
            raw = decrypt_with_passphrase(raw, secret)
        except WrongPassphraseError:
            raise WrongPassphraseError(f"{name}: wrong passphrase for the identity file") from None
        except AgeError as exc:
            raise type(exc)(f"{name}: protected identity file: {exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise AgeFormatError(f"{name}: identity file is not UTF-8 text") from None
    try:
        return parse_identities(text)
    except AgeFormatError as exc:
        raise AgeFormatError(f"{name}: {exc}") from None


def read_identity_file(path: Path, passphrase: Passphrase = None) -> list[X25519Identity]:
    """Read and parse an identity file (see :func:`parse_identity_file`)."""
    return parse_identity_file(Path(path).read_bytes(), passphrase=passphrase, name=str(path))


# --- primitives -------------------------------------------------------------------------


def _hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=_KEY_SIZE, salt=salt, info=info).derive(ikm)


def _b64encode_raw(data: bytes) -> bytes:
    return base64.b64encode(data).rstrip(b"=")


def _b64decode_raw(text: bytes, what: str) -> bytes:
    """Strict, canonical, unpadded standard base64, as the age header requires."""
    if not _B64_RAW.fullmatch(text) or len(text) % 4 == 1:
        raise AgeFormatError(f"{what} is not valid unpadded base64")
    data = base64.b64decode(text + b"=" * (-len(text) % 4), validate=True)
    if _b64encode_raw(data) != text:
        raise AgeFormatError(f"{what} is not canonical base64")
    return data


def _wrap_body(body: bytes) -> bytes:
    """Stanza body lines: 64 columns each, ending with a shorter (maybe empty) line."""
    encoded = _b64encode_raw(body)
    lines = [encoded[i : i + _COLUMNS] for i in range(0, len(encoded), _COLUMNS)]
    if not lines or len(lines[-1]) == _COLUMNS:
        lines.append(b"")
    return b"".join(line + b"\n" for line in lines)


def _header_mac(file_key: bytes, header_up_to_dashes: bytes) -> bytes:
    mac = crypto_hmac.HMAC(_hkdf(file_key, b"", b"header"), hashes.SHA256())
    mac.update(header_up_to_dashes)
    return mac.finalize()


def _chunk_nonce(index: int, last: bool) -> bytes:
    return index.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


# --- encryption -------------------------------------------------------------------------


def _x25519_stanza(recipient: X25519Recipient, file_key: bytes) -> bytes:
    ephemeral = X25519PrivateKey.generate()
    share = ephemeral.public_key().public_bytes_raw()
    shared_secret = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient.public_key))
    wrap_key = _hkdf(shared_secret, share + recipient.public_key, _X25519_LABEL)
    body = ChaCha20Poly1305(wrap_key).encrypt(bytes(12), file_key, None)
    return _STANZA_PREFIX + b"X25519 " + _b64encode_raw(share) + b"\n" + _wrap_body(body)


def _check_work_factor(work_factor: int) -> None:
    if isinstance(work_factor, bool) or not 1 <= work_factor <= MAX_WORK_FACTOR:
        raise ValueError(f"the scrypt work factor is from 1 to {MAX_WORK_FACTOR}")


def _scrypt_key(passphrase: str, salt: bytes, work_factor: int) -> bytes:
    n = 1 << work_factor
    return hashlib.scrypt(
        passphrase.encode("utf-8"),
        salt=_SCRYPT_LABEL + salt,
        n=n,
        r=8,
        p=1,
        maxmem=128 * 8 * n + 2 * 1024 * 1024,
        dklen=_KEY_SIZE,
    )


def _scrypt_stanza(passphrase: str, work_factor: int, file_key: bytes) -> bytes:
    salt = os.urandom(_SCRYPT_SALT_SIZE)
    wrap_key = _scrypt_key(passphrase, salt, work_factor)
    body = ChaCha20Poly1305(wrap_key).encrypt(bytes(12), file_key, None)
    args = b"scrypt " + _b64encode_raw(salt) + b" " + str(work_factor).encode("ascii")
    return _STANZA_PREFIX + args + b"\n" + _wrap_body(body)


def _seal(plaintext: bytes, stanzas: Callable[[bytes], list[bytes]]) -> bytes:
    file_key = os.urandom(_FILE_KEY_SIZE)
    header = bytearray(_VERSION_LINE + b"\n")
    for stanza in stanzas(file_key):
        header += stanza
    header += _MAC_PREFIX
    header += b" " + _b64encode_raw(_header_mac(file_key, bytes(header))) + b"\n"

    nonce = os.urandom(_PAYLOAD_NONCE_SIZE)
    aead = ChaCha20Poly1305(_hkdf(file_key, nonce, b"payload"))
    out = [bytes(header), nonce]
    view = memoryview(plaintext)
    chunk_count = max(1, -(-len(view) // _CHUNK_SIZE))
    for index in range(chunk_count):
        chunk = view[index * _CHUNK_SIZE : (index + 1) * _CHUNK_SIZE]
        out.append(aead.encrypt(_chunk_nonce(index, index == chunk_count - 1), chunk, None))
    return b"".join(out)


def encrypt(plaintext: bytes, recipients: Sequence[X25519Recipient]) -> bytes:
    """Encrypt ``plaintext`` to every recipient; returns a binary (not armored) age file."""
    if not recipients:
        raise ValueError("at least one recipient is required")
    for recipient in recipients:
        if not isinstance(recipient, X25519Recipient):
            raise TypeError(f"expected X25519Recipient, got {type(recipient).__name__}")
    return _seal(plaintext, lambda key: [_x25519_stanza(r, key) for r in recipients])


def encrypt_with_passphrase(
    plaintext: bytes, passphrase: str, *, work_factor: int = DEFAULT_WORK_FACTOR
) -> bytes:
    """Encrypt ``plaintext`` with a passphrase (one scrypt stanza, as ``age -p``); a
    binary age file. ``work_factor`` is scrypt's log2 N."""
    if not isinstance(passphrase, str) or not passphrase:
        raise ValueError("the passphrase is empty")
    _check_work_factor(work_factor)
    return _seal(plaintext, lambda key: [_scrypt_stanza(passphrase, work_factor, key)])


def armor(data: bytes) -> bytes:
    """An age file in the ASCII armor (as ``age -a`` writes it)."""
    encoded = base64.b64encode(data)
    lines = [encoded[i : i + _COLUMNS] for i in range(0, len(encoded), _COLUMNS)]
    return b"\n".join([_ARMOR_BEGIN, *lines, _ARMOR_END]) + b"\n"


# --- decryption -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Stanza:
    type: str
    args: tuple[str, ...]
    body: bytes


@dataclass(frozen=True)
class _Header:
    stanzas: tuple[_Stanza, ...]
    mac: bytes
    mac_input_end: int  # offset just after "---": the MAC covers data[:mac_input_end]
    payload_start: int


def _dearmor(data: bytes) -> bytes:
    """Decode the strict PEM-like armor; whitespace around it is allowed."""
    text = data.strip(_WHITESPACE)
    lines = [line.removesuffix(b"\r") for line in text.split(b"\n")]
    if lines[0] != _ARMOR_BEGIN:
        raise AgeFormatError("armor: first line is not the BEGIN AGE ENCRYPTED FILE marker")
    if len(lines) < 2 or lines[-1] != _ARMOR_END:
        raise AgeFormatError("armor: missing END AGE ENCRYPTED FILE line, or data after it")
    body = lines[1:-1]
    for number, line in enumerate(body, start=2):
        if line == _ARMOR_END:
            raise AgeFormatError(f"armor line {number}: data after the END marker")
        if not _B64_PADDED.fullmatch(line):
            raise AgeFormatError(
                f"armor line {number}: characters outside base64 (whitespace or headers?)"
            )
        if not line:
            raise AgeFormatError(f"armor line {number}: empty line")
        if len(line) > _COLUMNS:
            raise AgeFormatError(f"armor line {number}: longer than 64 columns")
        if number - 1 < len(body) and len(line) != _COLUMNS:
            raise AgeFormatError(f"armor line {number}: only the last line may be short")
    encoded = b"".join(body)
    if b"=" in encoded.rstrip(b"="):
        raise AgeFormatError("armor: base64 padding in the middle of the data")
    try:
        decoded = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise AgeFormatError("armor: invalid base64 (missing or wrong padding)") from None
    if base64.b64encode(decoded) != encoded:
        raise AgeFormatError("armor: base64 is not canonical")
    return decoded


def _read_line(data: bytes, start: int) -> tuple[bytes, int]:
    end = data.find(b"\n", start)
    if end < 0:
        raise AgeFormatError("header ends before the closing '---' MAC line (truncated?)")
    return data[start:end], end + 1


def _parse_stanza(data: bytes, pos: int) -> tuple[_Stanza, int]:
    line, pos = _read_line(data, pos)
    if not line.startswith(_STANZA_PREFIX):
        raise AgeFormatError("header line is neither a '-> ' stanza nor the '---' MAC line")
    raw_args = line[len(_STANZA_PREFIX) :].split(b" ")
    for arg in raw_args:
        if not arg or any(not 33 <= byte <= 126 for byte in arg):
            raise AgeFormatError(
                "stanza line has an empty argument or a character outside printable ASCII"
            )
    args = [arg.decode("ascii") for arg in raw_args]
    body = bytearray()
    while True:
        body_line, pos = _read_line(data, pos)
        if len(body_line) > _COLUMNS:
            raise AgeFormatError("stanza body line is longer than 64 columns")
        if body_line.startswith((_STANZA_PREFIX, _MAC_PREFIX)):
            raise AgeFormatError("stanza body must end with a line shorter than 64 columns")
        body += _b64decode_raw(body_line, "stanza body")
        if len(body_line) < _COLUMNS:
            break
    return _Stanza(args[0], tuple(args[1:]), bytes(body)), pos


def _check_x25519_stanza(stanza: _Stanza) -> None:
    if len(stanza.args) != 1:
        raise AgeFormatError(
            f"X25519 stanza has {len(stanza.args)} arguments, expected exactly one"
        )
    share = _b64decode_raw(stanza.args[0].encode("ascii"), "X25519 ephemeral share")
    if len(share) != _KEY_SIZE:
        raise AgeFormatError(f"X25519 ephemeral share is {len(share)} bytes, expected 32")
    if len(stanza.body) != _WRAPPED_FILE_KEY_SIZE:
        raise AgeFormatError(
            f"X25519 stanza body is {len(stanza.body)} bytes, expected 32 (a wrapped file key)"
        )


def _check_scrypt_stanza(stanza: _Stanza) -> None:
    if len(stanza.args) != 2:
        raise AgeFormatError(
            f"scrypt stanza has {len(stanza.args)} arguments, expected a salt and a work factor"
        )
    salt = _b64decode_raw(stanza.args[0].encode("ascii"), "scrypt salt")
    if len(salt) != _SCRYPT_SALT_SIZE:
        raise AgeFormatError(f"scrypt salt is {len(salt)} bytes, expected 16")
    if not _WORK_FACTOR.fullmatch(stanza.args[1]):
        raise AgeFormatError("scrypt work factor is not a decimal number without leading zeros")
    if len(stanza.body) != _WRAPPED_FILE_KEY_SIZE:
        raise AgeFormatError(
            f"scrypt stanza body is {len(stanza.body)} bytes, expected 32 (a wrapped file key)"
        )


def _parse_header(data: bytes) -> _Header:
    if not data:
        raise AgeFormatError("input is empty, not an age file")
    newline = data.find(b"\n")
    first = data if newline < 0 else data[:newline]
    if first != _VERSION_LINE:
        if first.rstrip(b"\r") == _VERSION_LINE:
            raise AgeFormatError("header lines end with CRLF; age headers use LF only")
        if first.startswith(_VERSION_PREFIX):
            raise AgeFormatError("unsupported age format version (only v1 is supported)")
        raise AgeFormatError("not an age file: missing the 'age-encryption.org/v1' line")
    if newline < 0:
        raise AgeFormatError("header ends after the version line (truncated?)")
    pos = newline + 1
    stanzas: list[_Stanza] = []
    while not data.startswith(_MAC_PREFIX, pos):
        stanza, pos = _parse_stanza(data, pos)
        if stanza.type == _X25519_TYPE:
            _check_x25519_stanza(stanza)
        elif stanza.type == _SCRYPT_TYPE:
            _check_scrypt_stanza(stanza)
        stanzas.append(stanza)
    mac_input_end = pos + len(_MAC_PREFIX)
    line, payload_start = _read_line(data, pos)
    if not line.startswith(_MAC_PREFIX + b" ") or line.count(b" ") != 1:
        raise AgeFormatError("malformed MAC line: expected '--- ' and one base64 value")
    mac = _b64decode_raw(line[len(_MAC_PREFIX) + 1 :], "header MAC")
    if len(mac) != 32:
        raise AgeFormatError(f"header MAC is {len(mac)} bytes, expected 32")
    if not stanzas:
        raise AgeFormatError("header has no recipient stanzas")
    if len(stanzas) > 1 and any(s.type == _SCRYPT_TYPE for s in stanzas):
        raise AgeFormatError("an scrypt (passphrase) stanza must be the only stanza")
    return _Header(tuple(stanzas), mac, mac_input_end, payload_start)


def _unwrap_x25519(identity: X25519Identity, stanza: _Stanza) -> bytes | None:
    share = _b64decode_raw(stanza.args[0].encode("ascii"), "X25519 ephemeral share")
    try:
        shared_secret = identity._private_key.exchange(X25519PublicKey.from_public_bytes(share))
    except ValueError:
        raise AgeFormatError(
            "X25519 stanza share is a low-order point (all-zero shared secret)"
        ) from None
    ours = identity.recipient.public_key
    wrap_key = _hkdf(shared_secret, share + ours, _X25519_LABEL)
    try:
        return ChaCha20Poly1305(wrap_key).decrypt(bytes(12), stanza.body, None)
    except InvalidTag:
        return None


def _unwrap_file_key(header: _Header, identities: Sequence[X25519Identity]) -> bytes:
    x25519 = [s for s in header.stanzas if s.type == _X25519_TYPE]
    for identity in identities:
        for stanza in x25519:
            file_key = _unwrap_x25519(identity, stanza)
            if file_key is not None:
                return file_key
    if header.stanzas[0].type == _SCRYPT_TYPE:
        raise NoIdentityMatchError(
            "the file is encrypted with a passphrase (scrypt), not to these keys"
        )
    types = ", ".join(sorted({s.type for s in header.stanzas}))
    raise NoIdentityMatchError(
        f"no identity matched any of the {len(header.stanzas)} recipient stanza(s) "
        f"(types: {types}); the file was not encrypted to these keys"
    )


def _decrypt_payload(file_key: bytes, rest: bytes) -> bytes:
    if len(rest) < _PAYLOAD_NONCE_SIZE:
        raise AgeIntegrityError(f"file truncated: payload nonce is {len(rest)} bytes, expected 16")
    nonce, payload = rest[:_PAYLOAD_NONCE_SIZE], memoryview(rest)[_PAYLOAD_NONCE_SIZE:]
    if not payload:
        raise AgeIntegrityError("file truncated: no payload chunks after the header")
    aead = ChaCha20Poly1305(_hkdf(file_key, nonce, b"payload"))
    out: list[bytes] = []
    index = 0
    pos = 0
    while True:
        chunk = payload[pos : pos + _ENC_CHUNK_SIZE]
        pos += len(chunk)
        last = pos == len(payload)
        if len(chunk) < _TAG_SIZE:
            raise AgeIntegrityError(f"payload chunk {index} is shorter than its tag (truncated)")
        if last and index > 0 and len(chunk) == _TAG_SIZE:
            raise AgeIntegrityError(
                "final payload chunk is empty; only an empty file may end with an empty chunk"
            )
        try:
            out.append(aead.decrypt(_chunk_nonce(index, last), chunk, None))
        except InvalidTag:
            raise _diagnose_chunk(aead, index, chunk, last) from None
        if last:
            return b"".join(out)
        index += 1


def _diagnose_chunk(aead: ChaCha20Poly1305, index: int, chunk: memoryview, last: bool) -> AgeError:
    """Explain why a chunk failed: wrong final flag (truncation, trailing data) or damage."""
    try:
        aead.decrypt(_chunk_nonce(index, not last), chunk, None)
    except InvalidTag:
        return AgeIntegrityError(
            f"payload chunk {index} failed authentication: the file was altered or corrupted"
        )
    if not last:
        return AgeIntegrityError(f"trailing data after the final payload chunk ({index})")
    if len(chunk) == _ENC_CHUNK_SIZE:
        return AgeIntegrityError(
            f"file truncated: the last chunk present ({index}) is not marked final"
        )
    return AgeIntegrityError(f"payload chunk {index} is short but not marked final")


def decrypt(data: bytes, identities: Sequence[X25519Identity]) -> bytes:
    """Decrypt a binary or ASCII-armored age file with any of ``identities``.

    Order of checks, as the spec requires: parse the whole header strictly, unwrap a
    stanza, verify the header MAC, then authenticate every payload chunk. Nothing is
    returned unless the whole file authenticates.
    """
    if not identities:
        raise ValueError("at least one identity is required")
    for identity in identities:
        if not isinstance(identity, X25519Identity):
            raise TypeError(f"expected X25519Identity, got {type(identity).__name__}")
    data = _binary(data)
    header = _parse_header(data)
    return _open(data, header, _unwrap_file_key(header, identities))


def _binary(data: bytes) -> bytes:
    data = bytes(data)
    if data.lstrip(_WHITESPACE).startswith(_ARMOR_BEGIN):
        data = _dearmor(data)
    return data


def _open(data: bytes, header: _Header, file_key: bytes) -> bytes:
    expected = _header_mac(file_key, data[: header.mac_input_end])
    if not hmac.compare_digest(expected, header.mac):
        raise AgeIntegrityError("header MAC mismatch: the header was altered or corrupted")
    return _decrypt_payload(file_key, data[header.payload_start :])


def decrypt_with_passphrase(
    data: bytes, passphrase: str, *, max_work_factor: int = MAX_WORK_FACTOR
) -> bytes:
    """Decrypt a binary or armored passphrase (scrypt) age file, as ``age -d`` does.

    NoIdentityMatchError if the file is not passphrase-encrypted; WrongPassphraseError
    if the passphrase does not unwrap it; AgeFormatError if its work factor is above
    ``max_work_factor`` (a file that would take too long or too much memory to open).
    """
    if not isinstance(passphrase, str):
        raise TypeError("the passphrase must be a str")
    data = _binary(data)
    header = _parse_header(data)
    stanza = header.stanzas[0]
    if stanza.type != _SCRYPT_TYPE:
        raise NoIdentityMatchError("the file is not encrypted with a passphrase")
    work_factor = int(stanza.args[1])
    if work_factor > min(max_work_factor, MAX_WORK_FACTOR):
        raise AgeFormatError(
            f"scrypt work factor {work_factor} is above the limit of {max_work_factor}"
        )
    salt = _b64decode_raw(stanza.args[0].encode("ascii"), "scrypt salt")
    wrap_key = _scrypt_key(passphrase, salt, work_factor)
    try:
        file_key = ChaCha20Poly1305(wrap_key).decrypt(bytes(12), stanza.body, None)
    except InvalidTag:
        raise WrongPassphraseError(
            "wrong passphrase (or the file's passphrase stanza was altered)"
        ) from None
    return _open(data, header, file_key)
