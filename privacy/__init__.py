"""Privacy: sealing tips to reviewers (age, X25519) and the server secret for drafts."""

from privacy.age import (
    AgeError,
    AgeFormatError,
    AgeIntegrityError,
    NoIdentityMatchError,
    X25519Identity,
    X25519Recipient,
    decrypt,
    encrypt,
    identity_file_text,
    parse_identities,
    parse_recipients,
    read_identity_file,
    write_identity_file,
)
from privacy.secrets import DraftCipher, DraftDecryptError, ServerSecret, load_or_create

__all__ = [
    "AgeError",
    "AgeFormatError",
    "AgeIntegrityError",
    "DraftCipher",
    "DraftDecryptError",
    "NoIdentityMatchError",
    "ServerSecret",
    "X25519Identity",
    "X25519Recipient",
    "decrypt",
    "encrypt",
    "identity_file_text",
    "load_or_create",
    "parse_identities",
    "parse_recipients",
    "read_identity_file",
    "write_identity_file",
]
