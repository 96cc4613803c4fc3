"""The reviewer desk under the Redis users of docs/deploy.md: the reviewers' user reads the
desk accounts (and may change none), so the whole desk works under it: sign-in, the
queue, a tip and its photo, a question, a verdict, an export, a share, statistics. Without
that read access no reviewer could sign in, and the desk says why."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp import CookieJar
from aiohttp.test_utils import TestClient, TestServer
from redis.exceptions import NoPermissionError

from desk import Accounts
from desk.reviewer import Keyring, ReviewerConfig, create_reviewer_app
from privacy import X25519Identity
from storage import TipQueue
from tipline.species_loader import load_catalogue

from .deskharness import PASSWORD, hidden, questionnaire
from .reviewdeskharness import DESCRIPTION, PASSPHRASE, ReviewerParts, build_reviewer_desk
from .samples.images import camera_jpeg
from .test_redis_acl import PASSWORDS, _admin, _login, acl_servers, durable

__all__ = ["acl_servers", "durable"]  # test_redis_acl's fixtures, used here

ACCOUNTS_RULE = "%R~tipline:desk:user:*"


def _reviewer_keys() -> list[str]:
    """The reviewers' key patterns from the guide, but the desk accounts."""
    line = next(
        ln
        for ln in (Path(__file__).resolve().parents[1] / "docs" / "deploy.md")
        .read_text()
        .splitlines()
        if ln.startswith("ACL SETUSER tipline-reviewer ")
    )
    assert ACCOUNTS_RULE in line
    return [w for w in line.split() if "~" in w and w != ACCOUNTS_RULE and not w.startswith("%W")]


LOCK = timedelta(minutes=10)


async def _reviewer_work(
    reviewer: aioredis.Redis, ephemeral: aioredis.Redis, parts: ReviewerParts
) -> dict[str, Any]:
    """Drive the reviewer desk over the reviewer's Redis user; each page's status."""
    app = create_reviewer_app(
        queue=TipQueue(reviewer),
        durable=reviewer,
        ephemeral=ephemeral,
        keyring=Keyring(parts.key_file.read_bytes(), "reviewer.key", lock_after=LOCK),
        questionnaire=questionnaire(),
        species=load_catalogue(),
        config=ReviewerConfig(export_dir=parts.export_dir, recipients=(parts.identity.recipient,)),
    )
    seen: dict[str, Any] = {}
    client: TestClient[Any, Any] = TestClient(TestServer(app), cookie_jar=CookieJar(unsafe=True))
    await client.start_server()
    try:
        page = await client.get("/login")
        signed = await client.post(
            "/login",
            data={
                "csrf": hidden(await page.text(), "csrf"),
                "name": "wanjiru",
                "password": PASSWORD,
            },
        )
        seen["login"] = signed.status
        if signed.status != 200:
            seen["why"] = await signed.text()
            return seen
        unlock = await client.post(
            "/unlock", data={"csrf": hidden(await signed.text(), "csrf"), "passphrase": PASSPHRASE}
        )
        seen["unlock"] = unlock.status
        queue = await unlock.text()
        taken = await client.post("/next", data={"csrf": hidden(queue, "csrf")})
        seen["next"] = taken.status
        tip = await taken.text()
        assert DESCRIPTION in tip, tip[:2000]
        case = str(taken.url).rsplit("/", 1)[-1]
        csrf = hidden(tip, "csrf")
        seen["photo"] = (await client.get(f"/tips/{case}/files/0")).status
        asked = await client.post(f"/tips/{case}/ask", data={"csrf": csrf, "question": "Where?"})
        seen["ask"] = asked.status
        judged = await client.post(
            f"/tips/{case}/verdict", data={"csrf": csrf, "verdict": "reliable", "risk": "low"}
        )
        seen["verdict"] = judged.status
        await client.post(f"/tips/{case}/export", data={"csrf": csrf, "folder": "acl"})
        for _ in range(600):
            done = await (await client.get(f"/tips/{case}/export")).text()
            if 'id="export-running"' not in done:
                break
            await asyncio.sleep(0.05)
        seen["export"] = 200 if 'id="export-done"' in done else 500
        partner = str(X25519Identity.generate().recipient)
        shared = await client.post(
            f"/tips/{case}/share", data={"csrf": csrf, "to": partner, "name": "acl-share"}
        )
        seen["share"] = shared.status
        seen["stats"] = (await client.get("/stats")).status
        seen["queue"] = (await client.get("/queue")).status
    finally:
        await client.close()
    return seen


async def test_the_reviewers_user_needs_to_read_the_desk_accounts(
    durable: int, ephemeral_client: aioredis.Redis, tmp_path: Path
) -> None:
    admin = await _admin(durable)
    reviewer = await _login(durable, "tipline-reviewer", PASSWORDS["REVIEWER_PASSWORD"])
    try:
        # Tips arrive as from the bot (here through an admin connection: the intake's
        # own rights are test_redis_acl's business), one with a photo and follow-up.
        parts = await build_reviewer_desk(admin, ephemeral_client, tmp_path)
        await parts.tipster.report(photo=camera_jpeg(tmp_path), followup=True)
        await Accounts(admin).add("wanjiru", "reviewer", PASSWORD)
        # As the guide has it, the desk works under the reviewers' user.
        seen = await _reviewer_work(reviewer, ephemeral_client, parts)
        assert seen == {
            "login": 200,
            "unlock": 200,
            "next": 200,
            "photo": 200,
            "ask": 200,
            "verdict": 200,
            "export": 200,
            "share": 200,
            "stats": 200,
            "queue": 200,
        }
        # It reads the accounts and may change none of them.
        with pytest.raises(NoPermissionError):
            await reviewer.hset("tipline:desk:user:wanjiru", "disabled", "1")
        # Without that read access (an older guide's user), nobody could sign in, and
        # the desk says why instead of failing blankly.
        raw: Any = admin
        rule = ACCOUNTS_RULE.replace("%R~", "%R~never-")  # the rule, pointed elsewhere
        await raw.execute_command(
            "ACL", "SETUSER", "tipline-reviewer", "resetkeys", *_reviewer_keys(), rule
        )
        with pytest.raises(NoPermissionError):
            await Accounts(reviewer).authenticate("wanjiru", PASSWORD)
        refused = await _reviewer_work(reviewer, ephemeral_client, parts)
        assert refused["login"] == 503 and "lacks a right" in refused["why"]
    finally:
        await admin.aclose()
        await reviewer.aclose()
