"""A link in a tip is never fetched: not by the bot, the intake, the console, the operator
desk or any review command. A server on loopback counts every connection; tips whose
answers link to it (with a scheme, and as a bare ``host:port``) go through the console
intake, through both Telegram frameworks against the fake Bot API and through a hotline
call on the operator desk, then through ``tipline review next``, ``show``, ``export`` and
``share``. The server must see no connection at all, no name in the links may be looked
up, every view shows the links defanged, and every message to Telegram has link previews
disabled."""

from __future__ import annotations

import html
import json
import os
import re
import socket
import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from privacy import X25519Identity, write_identity_file

from .deskharness import Client, DeskParts, sealed_tips, step_of
from .fakebotapi import Call, FakeBotApi, walk
from .test_cli import Env, cli
from .test_desk_http import ANSWERS, client, new_call, parts, post, signed_in
from .test_review_cli import Reviewers
from .test_telegram_parity import Bot, begin, bot, framework, script, tipster

__all__ = ["bot", "cli", "client", "framework", "parts"]  # fixtures, imported for pytest

# A name that exists nowhere: looking it up at all is the failure, not its answer.
LOOKUP_NAME = "ivory-listing-3f9k.example"


class CountingServer(socketserver.ThreadingTCPServer):
    """Accepts on loopback and counts every connection (before any byte is read), and
    answers like a web server, so that a fetch would have succeeded."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Answer)
        self.lock = threading.Lock()
        self.connections = 0
        self.lines: list[bytes] = []

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def verify_request(self, request: Any, client_address: Any) -> bool:
        with self.lock:
            self.connections += 1
        return True


class _Answer(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        server = self.server
        assert isinstance(server, CountingServer)
        line = self.rfile.readline(8192)
        with server.lock:
            server.lines.append(line)
        body = b"<html><head><title>Ivory for sale</title></head></html>"
        self.wfile.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\nConnection: close\r\n\r\n"
            + body
        )


@pytest.fixture
def listing_server() -> Iterator[CountingServer]:
    server = CountingServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every host name this process asks to resolve (the bot's own calls to the fake
    Telegram server included), so a test can check the links' names are not among them."""
    asked: list[str] = []
    real_getaddrinfo = socket.getaddrinfo
    real_gethostbyname = socket.gethostbyname

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        asked.append(str(host))
        return real_getaddrinfo(host, *args, **kwargs)

    def gethostbyname(host: str) -> str:
        asked.append(host)
        return real_gethostbyname(host)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket, "gethostbyname", gethostbyname)
    return asked


def _links(port: int) -> list[str]:
    return [
        f"http://127.0.0.1:{port}/listing/ivory?id=7731&ref=chat",
        f"127.0.0.1:{port}/bare/pangolin-scales",
        f"https://{LOOKUP_NAME}/shop/rhino-horn",
    ]


def _raw_forms(port: int) -> list[str]:
    """What a view must never show: the links as typed, clickable."""
    return [f"127.0.0.1:{port}", LOOKUP_NAME, "http://127", "https://ivory"]


def _case_id(text: str) -> str:
    found = re.search(r"Case ([a-z0-9]{24})", text)
    assert found is not None, text
    return found.group(1)


def _assert_defanged(text: str, port: int, where: str) -> None:
    for raw in _raw_forms(port):
        assert raw not in text, (where, raw)
    assert f"hxxp://127[.]0[.]0[.]1:{port}/listing/ivory?id=7731&ref=chat" in text, where
    assert f"127[.]0[.]0[.]1:{port}/bare/pangolin-scales" in text, where


def _assert_untouched(server: CountingServer, lookups: list[str] | None = None) -> None:
    assert server.connections == 0, server.lines
    assert server.lines == []
    if lookups is not None:
        assert not [name for name in lookups if LOOKUP_NAME in name], lookups


# --------------------------------------------------------------------------- the console
def test_console_intake_and_review_commands_fetch_nothing(
    cli: Env, listing_server: CountingServer, tmp_path: Path
) -> None:
    port = listing_server.port
    links = _links(port)
    conversation = [
        "1",  # safety: continue
        "3",  # sale in a market, shop or online
        f"Ivory carvings advertised at {links[0]} and on a page",
        "skip",  # species
        "kenya",
        "skip",  # place
        "skip",  # location
        "this week",
        "skip",
        " ".join(links),  # the listing's links, several in one message
        "A darknet market",
        "done",
        "2",  # follow-up: no
        "1",  # send
        "2",  # keep the chat
    ]
    console = cli.run("console", "--lang", "en", stdin="\n".join(conversation) + "\n")
    assert console.returncode == 0, console.stdout + console.stderr
    assert "Thank you. Your report was received safely." in console.stdout
    summary = console.stdout[
        console.stdout.index("  What happened:") : console.stdout.index("Send the report?")
    ]
    _assert_defanged(summary, port, "the console summary")

    key = str(cli.key)
    shown = cli.run("review", "next", "--identity", key, "--reviewer", "alice")
    assert shown.returncode == 0, shown.stderr
    _assert_defanged(shown.stdout, port, "review next")
    case = _case_id(shown.stdout)
    again = cli.run("review", "show", case, "--identity", key)
    assert again.returncode == 0, again.stderr
    _assert_defanged(again.stdout, port, "review show")
    assert "Opening one contacts that site" in again.stdout
    out = tmp_path / "export"
    exported = cli.run("review", "export", case, "--out", str(out), "--identity", key)
    assert exported.returncode == 0, exported.stderr
    _assert_defanged((out / "transcript.txt").read_text(), port, "the export's text")
    partner = X25519Identity.generate()
    shared = cli.run(
        "review",
        "share",
        case,
        "--to",
        str(partner.recipient),
        "--out",
        str(tmp_path / "bundle.age"),
        "--identity",
        key,
        "--reviewer",
        "alice",
    )
    assert shared.returncode == 0, shared.stdout + shared.stderr
    _assert_untouched(listing_server)


# --------------------------------------------------------------------------- Telegram
async def test_telegram_intake_and_review_commands_fetch_nothing(
    bot: Bot,
    listing_server: CountingServer,
    lookups: list[str],
    redis_url: str,
    tmp_path: Path,
) -> None:
    port = listing_server.port
    links = _links(port)
    await bot.start()
    user = tipster(bot.fake)
    await begin(user)
    answers = script(
        user,
        category=lambda: user.tap("sale"),
        description=lambda: user.send(f"Ivory carvings advertised at {links[0]}"),
        listing_links=lambda: user.send("\n".join(links)),
        platform=lambda: user.tap("darknet"),
    )
    await walk(user, answers, until="review")
    summary = next(s for s in user.from_bot() if s.text.startswith("Please check your report"))
    _assert_defanged(summary.text, port, "the Telegram summary")
    await user.tap("send")
    await bot.fake.settled()
    await user.tap("no")
    await bot.fake.settled()
    for said in user.texts():
        for raw in _raw_forms(port):
            assert raw not in said, said
    sent = bot.fake.calls_of("sendMessage")
    assert sent and _previews_off(bot.fake)

    key = tmp_path / "reviewer.key"
    write_identity_file(key, bot.reviewer)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path / "home"),
        "LANG": "C.UTF-8",
        "REDIS_URL": redis_url,
        "TIPLINE_DATA_DIR": str(tmp_path / "review-data"),
        "TIPLINE_RECIPIENTS": str(bot.reviewer.recipient),
        "TIPLINE_IDENTITY": str(key),
    }
    reviewers = Reviewers(tmp_path, env, key, bot.reviewer)
    shown = await reviewers.run("next", "--reviewer", "alice")
    _assert_defanged(shown.stdout, port, "review next")
    case = _case_id(shown.stdout)
    _assert_defanged((await reviewers.run("show", case)).stdout, port, "review show")
    out = tmp_path / "export"
    await reviewers.run("export", case, "--out", str(out))
    _assert_defanged((out / "transcript.txt").read_text(), port, "the export's text")
    partner = X25519Identity.generate()
    bundle = tmp_path / "bundle.age"
    await reviewers.run(
        "share", case, "--to", str(partner.recipient), "--out", str(bundle), "--reviewer", "bob"
    )
    assert bundle.stat().st_size > 0
    _assert_untouched(listing_server, lookups)


# --------------------------------------------------------------------------- the desk
async def test_a_hotline_call_on_the_operator_desk_fetches_nothing(
    client: Client, parts: DeskParts, listing_server: CountingServer, lookups: list[str]
) -> None:
    port = listing_server.port
    links = _links(port)
    csrf = await signed_in(client)
    url = await new_call(client, csrf)
    answers = {
        **ANSWERS,
        "category": {"choice": "sale"},
        "description": {"text": f"Ivory carvings advertised at {links[0]}", "identity": "keep"},
        "listing_links": {"text": "\n".join(links)},
        "platform": {"choice": "darknet"},
    }
    summary = await (await client.get(url)).text()
    seen: list[str] = []
    while (step := step_of(summary)) != "review":
        assert step is not None and step in answers and len(seen) < 40, (step, seen)
        seen.append(step)
        summary = await post(client, url, summary, **answers[step])
    assert seen[-4:-2] == ["listing_links", "platform"]
    _assert_defanged(html.unescape(summary), port, "the desk's summary")
    done = await post(client, url, summary, choice="send")
    for raw in _raw_forms(port):
        assert raw not in html.unescape(done)
    (tip,) = await sealed_tips(parts)
    sealed = json.loads(json.dumps(tip))  # as a reviewer's JSON reader sees it
    assert [link["port"] for link in sealed["answers"]["listing_links"]["links"][:2]] == [
        port,
        port,
    ]
    _assert_untouched(listing_server, lookups)


def _previews_off(fake: FakeBotApi) -> bool:
    left_on: list[Call] = fake.previews_left_on()
    return left_on == []


def test_the_preview_check_itself_sees_a_message_without_it() -> None:
    """The fake server's check is real: a call without disabled previews is reported."""
    fake = FakeBotApi()
    fake.calls.append(Call("sendMessage", {"chat_id": 1, "text": "x"}, 0.0))
    fake.calls.append(
        Call(
            "sendMessage",
            {"chat_id": 1, "text": "y", "link_preview_options": '{"is_disabled": true}'},
            0.0,
        )
    )
    fake.calls.append(Call("sendMessage", {"link_preview_options": {"is_disabled": False}}, 0.0))
    assert [c.params.get("text") for c in fake.previews_left_on()] == ["x", None]


def test_the_counting_server_counts(listing_server: CountingServer) -> None:
    """The server is real too: one connection is one count."""
    with socket.create_connection(("127.0.0.1", listing_server.port), timeout=5) as conn:
        conn.sendall(b"GET /listing HTTP/1.0\r\n\r\n")
        assert conn.recv(100).startswith(b"HTTP/1.1 200")
    assert listing_server.connections == 1


def test_the_lookup_spy_sees_a_lookup(lookups: list[str]) -> None:
    socket.getaddrinfo("localhost", 80)
    assert lookups == ["localhost"]
