"""Passphrase (scrypt) age files and passphrase-protected identity files, checked against
the stock ``age`` tool both ways. The stock tool reads a passphrase only from a terminal,
so it runs here on a pseudo-terminal that the test answers."""

from __future__ import annotations

import base64
import os
import pty
import select
import shutil
import stat
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner

from privacy.age import (
    AgeFormatError,
    AgeIntegrityError,
    NoIdentityMatchError,
    PassphraseRequired,
    WrongPassphraseError,
    X25519Identity,
    armor,
    decrypt,
    decrypt_with_passphrase,
    encrypt,
    encrypt_with_passphrase,
    identity_file_protected,
    read_identity_file,
    write_identity_file,
)
from tipline.cli import main

PASSPHRASE = "Mara river crossing at dawn"
# Low for speed where the test writes; the stock tool writes with its default (18).
FAST = 10
TTY_LIMIT = 30.0  # seconds a prompt may take to appear before the test gives up


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path is not None, f"the stock `{name}` tool must be installed (Debian package age)"
    return path


def on_terminal(args: Sequence[str], answers: Sequence[tuple[str, str]]) -> tuple[int, str]:
    """Run ``args`` on a pseudo-terminal; each time the next expected prompt appears,
    type its answer. Returns the exit status and everything the program wrote there."""
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover (the child)
        try:
            os.execv(args[0], list(args))  # noqa: S606 (a fixed program, no shell)
        finally:
            os._exit(127)
    seen = b""
    pending = list(answers)
    try:
        while True:
            ready, _, _ = select.select([fd], [], [], TTY_LIMIT)
            if not ready:
                raise AssertionError(f"{args[0]} stalled; it wrote {seen!r}")
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
            if pending and pending[0][0].encode() in seen.split(b"\n")[-1]:
                os.write(fd, pending.pop(0)[1].encode() + b"\n")
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    assert not pending, f"{args[0]} never asked {pending[0][0]!r}; it wrote {seen!r}"
    return os.waitstatus_to_exitcode(status), seen.decode(errors="replace")


def age_encrypt_with_passphrase(src: Path, dst: Path, passphrase: str, *, armored: bool) -> None:
    args = [_tool("age"), "-p", *(["-a"] if armored else []), "-o", str(dst), str(src)]
    code, shown = on_terminal(
        args, [("Enter passphrase", passphrase), ("Confirm passphrase", passphrase)]
    )
    assert code == 0, shown


def age_decrypt(args: Sequence[str], passphrase: str) -> tuple[int, str]:
    return on_terminal([_tool("age"), "-d", *args], [("passphrase", passphrase)])


# --- passphrase files ---------------------------------------------------------------------


def test_we_open_files_the_stock_tool_encrypts_with_a_passphrase(tmp_path: Path) -> None:
    plain = tmp_path / "tip.txt"
    plain.write_bytes(b"Ivory in the false floor of the blue lorry\n" * 3000)
    sealed = tmp_path / "tip.age"
    age_encrypt_with_passphrase(plain, sealed, PASSPHRASE, armored=False)
    data = sealed.read_bytes()
    assert b"\n-> scrypt " in data and b" 18\n" in data  # the stock tool's work factor
    assert decrypt_with_passphrase(data, PASSPHRASE) == plain.read_bytes()
    with pytest.raises(WrongPassphraseError, match="wrong passphrase"):
        decrypt_with_passphrase(data, PASSPHRASE + "!")


def test_the_stock_tool_opens_our_passphrase_files(tmp_path: Path) -> None:
    payload = os.urandom(200_000)  # several chunks
    sealed = tmp_path / "tip.age"
    sealed.write_bytes(encrypt_with_passphrase(payload, PASSPHRASE, work_factor=FAST))
    out = tmp_path / "out"
    code, shown = age_decrypt(["-o", str(out), str(sealed)], PASSPHRASE)
    assert code == 0, shown
    assert out.read_bytes() == payload
    # A wrong passphrase: the stock tool refuses it too.
    code, shown = age_decrypt(["-o", str(tmp_path / "other"), str(sealed)], "not it at all")
    assert code != 0 and "incorrect passphrase" in shown, shown


def test_header_of_a_passphrase_file() -> None:
    sealed = encrypt_with_passphrase(b"x", PASSPHRASE, work_factor=FAST)
    lines = sealed.split(b"\n")
    assert lines[0] == b"age-encryption.org/v1"
    kind, salt, factor = lines[1].split(b" ")[1:]
    assert kind == b"scrypt" and len(salt) == 22 and factor == str(FAST).encode()
    assert lines[3].startswith(b"--- ")
    # Fresh salt, fresh file key: the same passphrase never gives the same file.
    assert encrypt_with_passphrase(b"x", PASSPHRASE, work_factor=FAST) != sealed


def test_passphrase_and_key_files_do_not_mix(tmp_path: Path) -> None:
    identity = X25519Identity.generate()
    by_key = encrypt(b"for the key", [identity.recipient])
    with pytest.raises(NoIdentityMatchError, match="not encrypted with a passphrase"):
        decrypt_with_passphrase(by_key, PASSPHRASE)
    by_passphrase = encrypt_with_passphrase(b"for the passphrase", PASSPHRASE, work_factor=FAST)
    with pytest.raises(NoIdentityMatchError, match="passphrase"):
        decrypt(by_passphrase, [identity])


def _stanza_line(sealed: bytes, new: bytes) -> bytes:
    lines = sealed.split(b"\n")
    lines[1] = new
    return b"\n".join(lines)


def test_malformed_scrypt_stanzas_are_format_errors() -> None:
    sealed = encrypt_with_passphrase(b"x", PASSPHRASE, work_factor=FAST)
    line = sealed.split(b"\n")[1]
    prefix, salt, _factor = line.rsplit(b" ", 2)
    bad = {
        "leading zero": prefix + b" " + salt + b" 010",
        "not a number": prefix + b" " + salt + b" ten",
        "short salt": prefix + b" " + salt[:10] + b" 10",
        "no work factor": prefix + b" " + salt,
    }
    for why, stanza in bad.items():
        with pytest.raises(AgeFormatError):
            decrypt_with_passphrase(_stanza_line(sealed, stanza), PASSPHRASE)
        assert why
    too_costly = prefix + b" " + salt + b" 30"
    with pytest.raises(AgeFormatError, match="above the limit"):
        decrypt_with_passphrase(_stanza_line(sealed, too_costly), PASSPHRASE)
    # An scrypt stanza beside another one is refused before any work is done.
    other = encrypt(b"x", [X25519Identity.generate().recipient]).split(b"\n")[1:3]
    lines = sealed.split(b"\n")
    mixed = b"\n".join([lines[0], *other, *lines[1:]])
    with pytest.raises(AgeFormatError, match="only stanza"):
        decrypt_with_passphrase(mixed, PASSPHRASE)


def test_an_altered_passphrase_file_does_not_open() -> None:
    sealed = bytearray(encrypt_with_passphrase(b"the tip" * 100, PASSPHRASE, work_factor=FAST))
    sealed[-5] ^= 1
    with pytest.raises(AgeIntegrityError):
        decrypt_with_passphrase(bytes(sealed), PASSPHRASE)


# --- protected identity files ---------------------------------------------------------------


def test_a_protected_identity_file_opens_with_the_stock_tool_and_with_tipline(
    tmp_path: Path,
) -> None:
    identity = X25519Identity.generate()
    key = tmp_path / "reviewer.key"
    write_identity_file(key, identity, passphrase=PASSPHRASE, work_factor=FAST)
    raw = key.read_bytes()
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert raw.startswith(b"-----BEGIN AGE ENCRYPTED FILE-----") and identity_file_protected(raw)
    assert str(identity).encode() not in raw and b"AGE-SECRET-KEY" not in raw
    tip = tmp_path / "tip.age"
    tip.write_bytes(encrypt(b"a sealed tip", [identity.recipient]))
    out = tmp_path / "tip.out"
    code, shown = age_decrypt(["-i", str(key), "-o", str(out), str(tip)], PASSPHRASE)
    assert code == 0, shown
    assert "Enter passphrase for identity file" in shown
    assert out.read_bytes() == b"a sealed tip"
    assert read_identity_file(key, PASSPHRASE) == [identity]
    assert read_identity_file(key, lambda: PASSPHRASE) == [identity]


def test_a_wrong_or_missing_passphrase_is_refused_clearly(tmp_path: Path) -> None:
    key = tmp_path / "reviewer.key"
    write_identity_file(key, X25519Identity.generate(), passphrase=PASSPHRASE, work_factor=FAST)
    with pytest.raises(WrongPassphraseError) as wrong:
        read_identity_file(key, "Mara river crossing at dusk")
    assert str(wrong.value) == f"{key}: wrong passphrase for the identity file"
    with pytest.raises(PassphraseRequired, match="protected by a passphrase"):
        read_identity_file(key)
    asked: list[bool] = []
    plain = tmp_path / "plain.key"
    write_identity_file(plain, X25519Identity.generate())

    def ask() -> str:
        asked.append(True)
        return PASSPHRASE

    read_identity_file(plain, ask)
    assert asked == []  # a plain file never asks


def test_we_open_an_identity_file_protected_by_the_stock_tool(tmp_path: Path) -> None:
    plain = tmp_path / "plain.key"
    subprocess.run([_tool("age-keygen"), "-o", str(plain)], check=True, capture_output=True)
    protected = tmp_path / "reviewer.key"
    age_encrypt_with_passphrase(plain, protected, PASSPHRASE, armored=True)
    assert read_identity_file(protected, PASSPHRASE) == read_identity_file(plain)


def test_armor_is_what_the_stock_tool_writes(tmp_path: Path) -> None:
    identity = X25519Identity.generate()
    sealed = encrypt(os.urandom(5000), [identity.recipient])
    armored = armor(sealed)
    lines = armored.decode().splitlines()
    assert all(len(line) <= 64 for line in lines) and armored.endswith(b"\n")
    assert decrypt(armored, [identity]) == decrypt(sealed, [identity])
    key = tmp_path / "k"
    write_identity_file(key, identity)
    path = tmp_path / "a.age"
    path.write_bytes(armored)
    result = subprocess.run(
        [_tool("age"), "-d", "-i", str(key), str(path)], capture_output=True, check=False
    )
    assert result.returncode == 0 and result.stdout == decrypt(sealed, [identity])


# --- the command line ---------------------------------------------------------------------


def test_keys_generate_with_a_passphrase(tmp_path: Path) -> None:
    key = tmp_path / "reviewer.key"
    result = CliRunner().invoke(
        main,
        ["keys", "generate", "--out", str(key), "--passphrase", "--work-factor", str(FAST)],
        input=PASSPHRASE + "\n",
    )
    assert result.exit_code == 0, result.output
    recipient = result.stdout.strip()
    assert recipient.startswith("age1")
    assert "protected by your passphrase" in result.stderr
    assert identity_file_protected(key.read_bytes())
    (identity,) = read_identity_file(key, PASSPHRASE)
    assert str(identity.recipient) == recipient
    # `keys recipient` asks for it (one line of standard input here) and says when wrong.
    shown = CliRunner().invoke(main, ["keys", "recipient", str(key)], input=PASSPHRASE + "\n")
    assert shown.exit_code == 0 and shown.stdout.strip() == recipient
    wrong = CliRunner().invoke(main, ["keys", "recipient", str(key)], input="not it\n")
    assert wrong.exit_code == 1
    assert f"{key}: wrong passphrase for the identity file" in wrong.output


def test_keys_generate_refuses_a_short_passphrase(tmp_path: Path) -> None:
    key = tmp_path / "reviewer.key"
    result = CliRunner().invoke(
        main, ["keys", "generate", "--out", str(key), "--passphrase"], input="short\n"
    )
    assert result.exit_code == 1 and "at least 12 characters" in result.output
    assert not key.exists()


def test_keys_generate_on_a_terminal_asks_twice(tmp_path: Path) -> None:
    key = tmp_path / "reviewer.key"
    args = [sys.executable, "-m", "tipline", "keys", "generate", "--out", str(key)]
    args += ["--passphrase", "--work-factor", str(FAST)]
    code, shown = on_terminal(
        args, [("Passphrase for the identity file", PASSPHRASE), ("Repeat", PASSPHRASE)]
    )
    assert code == 0, shown
    assert PASSPHRASE not in shown  # never echoed
    assert len(read_identity_file(key, PASSPHRASE)) == 1
    assert f" {FAST}\n" in decrypt_armor_header(key.read_bytes())


def decrypt_armor_header(raw: bytes) -> str:
    """The header lines of an armored age file."""
    body = b"".join(raw.splitlines()[1:-1])
    binary = base64.b64decode(body)
    return binary[: binary.index(b"\n---")].decode()
