"""Key rotation: several recipients at once, old identities still open old tips, and a
recipients file that a running intake reloads without a restart."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from bots.intake import Intake
from conversations import Choose, Engine
from privacy import NoIdentityMatchError, X25519Identity, X25519Recipient, decrypt
from privacy.secrets import ServerSecret
from storage import DraftStore, Spool, TipQueue
from tipline.settings import ConfigError, RecipientsProvider, Settings

from .dialogue import default_questionnaire
from .test_intake import Harness, _to_review


def _replace(path: Path, recipients: list[X25519Recipient]) -> None:
    """Rewrite the recipients file as an admin should: a new file renamed over the old."""
    fresh = path.with_suffix(".new")
    fresh.write_text("# Tipline reviewers\n" + "".join(f"{r}\n" for r in recipients))
    os.replace(fresh, path)


async def _submit(h: Harness, chat: str) -> str:
    await _to_review(h, chat)
    await h.send(Choose("review", "send"), chat)
    tip = await h.queue.claim_next("alice")
    assert tip is not None
    await h.queue.ack(tip.case_id)
    return tip.sealed.hex()


def _opens(sealed_hex: str, identity: X25519Identity) -> bool:
    try:
        json.loads(decrypt(bytes.fromhex(sealed_hex), [identity]))
    except NoIdentityMatchError:
        return False
    return True


async def test_the_recipients_file_is_reloaded_without_restarting_the_intake(
    redis_client: aioredis.Redis, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    old, new = X25519Identity.generate(), X25519Identity.generate()
    path = tmp_path / "recipients.txt"
    _replace(path, [old.recipient])
    provider = RecipientsProvider("", path)
    queue = TipQueue(redis_client)
    intake = Intake(
        engine=Engine(default_questionnaire()),
        drafts=DraftStore(redis_client),
        queue=queue,
        spool=Spool(tmp_path / "spool"),
        secret=ServerSecret(b"s" * 32),
        recipients=provider,
        channel="telegram",
    )
    h = Harness(intake, redis_client, queue, old, tmp_path / "spool")
    before = await _submit(h, "chat-1")
    _replace(path, [old.recipient, new.recipient])  # the rotation starts: both keys
    during = await _submit(h, "chat-2")
    _replace(path, [new.recipient])  # the old key is retired
    after = await _submit(h, "chat-3")
    assert (_opens(before, old), _opens(before, new)) == (True, False)
    assert (_opens(during, old), _opens(during, new)) == (True, True)
    assert (_opens(after, old), _opens(after, new)) == (False, True)
    # A botched edit is not applied: the recipients in use stay, and it is logged.
    caplog.set_level(logging.WARNING)
    path.write_text("age1thisisnotakey\n")
    assert provider() == (new.recipient,)
    assert "keeping the recipients in use" in caplog.text
    path.unlink()
    assert provider() == (new.recipient,)
    _replace(path, [old.recipient])
    assert provider() == (old.recipient,)


def test_settings_give_a_provider_with_the_fixed_recipients_and_the_file(
    tmp_path: Path,
) -> None:
    fixed, listed, later = (X25519Identity.generate().recipient for _ in range(3))
    path = tmp_path / "recipients.txt"
    _replace(path, [listed])
    env = {
        "TIPLINE_DATA_DIR": str(tmp_path),
        "TIPLINE_RECIPIENTS": str(fixed),
        "TIPLINE_RECIPIENTS_FILE": str(path),
    }
    settings = Settings.from_env(env)
    assert settings.recipients() == [fixed, listed]
    provider = settings.recipients_provider()
    assert provider() == (fixed, listed)
    _replace(path, [later])
    assert provider() == (fixed, later)
    static = Settings.from_env({"TIPLINE_RECIPIENTS": f"{fixed}, {later}"}).recipients_provider()
    assert static() == (fixed, later) and static.path is None
    with pytest.raises(ConfigError, match="TIPLINE_RECIPIENTS_FILE"):
        RecipientsProvider("", tmp_path / "missing.txt")
    with pytest.raises(ConfigError, match="no reviewer recipients"):
        RecipientsProvider("")


async def test_an_intake_still_takes_a_plain_list_and_refuses_none(
    redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    def intake(recipients: list[X25519Recipient] | RecipientsProvider) -> Intake:
        return Intake(
            engine=Engine(default_questionnaire()),
            drafts=DraftStore(redis_client),
            queue=TipQueue(redis_client),
            spool=Spool(tmp_path / "spool"),
            secret=ServerSecret(b"s" * 32),
            recipients=recipients,
            channel="console",
        )

    intake([X25519Identity.generate().recipient])
    with pytest.raises(ValueError, match="at least one reviewer recipient"):
        intake([])
