"""Benchmark: the intake path against floors measured in the same run.

    .venv/bin/python bench/intake.py [--rounds N]

Prints, for each measured step, its mean time and its ratio to a floor that bounds it
from below on this machine right now (machines here are noisy, so ratios, not seconds,
are what to compare between runs):

* sealing a transcript with age (1 and 3 recipients) vs raw ChaCha20-Poly1305 of the
  same bytes;
* one engine step vs a bare Python function call through a dict (the engine's dispatch);
* one whole intake step (load the draft, decrypt, engine, encrypt, save, TTL) vs a bare
  Redis PING round trip on the same embedded server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bots.intake import Intake
from conversations import Choose, Engine, Start, Text, parse_questionnaire
from privacy import X25519Identity, encrypt
from privacy.secrets import ServerSecret
from storage import DraftStore, EmbeddedRedis, Spool, TipQueue, connect

ROOT = Path(__file__).resolve().parents[1]


def timed(fn: Callable[[], object], rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


async def atimed(fn: Callable[[], Awaitable[object]], rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def row(name: str, seconds: float, floor: float, floor_name: str) -> None:
    print(f"{name:<44} {seconds * 1e6:10.1f} µs  {seconds / floor:8.1f} x {floor_name}")


async def main(rounds: int) -> None:
    questionnaire = parse_questionnaire(
        (ROOT / "conversations" / "default_questionnaire.yaml").read_text()
    )
    transcript = json.dumps({"answers": {"description": "x" * 3000}}).encode()
    key = ChaCha20Poly1305.generate_key()
    aead = ChaCha20Poly1305(key)
    nonce = os.urandom(12)
    recipients = [X25519Identity.generate().recipient for _ in range(3)]

    floor = timed(lambda: aead.encrypt(nonce, transcript, None), rounds)
    print(f"{'raw ChaCha20-Poly1305, 3 KB (floor)':<44} {floor * 1e6:10.1f} µs")
    row(
        "age seal, 1 recipient",
        timed(lambda: encrypt(transcript, recipients[:1]), rounds),
        floor,
        "ChaCha20",
    )
    row(
        "age seal, 3 recipients",
        timed(lambda: encrypt(transcript, recipients), rounds),
        floor,
        "ChaCha20",
    )

    engine = Engine(questionnaire)
    state, _ = engine.handle(engine.initial(), Start(language="en"))
    table = {Text: lambda: None}
    call_floor = timed(lambda: table[Text](), rounds * 10)
    print(f"{'dict dispatch + call (floor)':<44} {call_floor * 1e6:10.3f} µs")
    row(
        "engine step (choose at the safety notice)",
        timed(lambda: engine.handle(state, Choose("safety", "continue")), rounds),
        call_floor,
        "call",
    )

    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis(Path(tmp)) as server:
        client = await connect(server.url)
        ping = await atimed(client.ping, rounds)
        print(f"{'Redis PING round trip (floor)':<44} {ping * 1e6:10.1f} µs")
        intake = Intake(
            engine=engine,
            drafts=DraftStore(client),
            queue=TipQueue(client),
            spool=Spool(Path(tmp) / "spool"),
            secret=ServerSecret.generate(),
            recipients=recipients[:1],
            channel="bench",
        )
        await intake.handle("1", Start(language="en"))
        row(
            "intake step (help: re-ask, draft saved)",
            await atimed(lambda: intake.handle("1", Text("help")), rounds),
            ping,
            "PING",
        )
        await client.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    asyncio.run(main(parser.parse_args().rounds))
