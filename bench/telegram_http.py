"""Benchmark: the Telegram bot over real HTTP, beside the same framework's bare echo bot
(the floor) and a tip bot written the usual way, all on the same fake Bot API server in
the same run.

    .venv/bin/python bench/telegram_http.py [--tipsters 300] [--think 0.2] [--rate 30]
        [--paced-seconds 20] [--frameworks aiogram,ptb] [--quick]

Each bot runs as its own process, as it would in production, against the tests' fake Bot
API server (tests/fakebotapi.py, on loopback) and two real Redis servers started here
(persistent and ephemeral, as ``tipline`` uses them):

* ``tipline-<fw>``: ``tipline run telegram --framework <fw>``, the real bot;
* ``echo-<fw>``: the framework's bare echo bot with its own polling (ptb with concurrent
  updates), the floor;
* ``fsm-aiogram``: the usual way to write a tip bot: aiogram's FSM with aiogram's
  RedisStorage, one state per question, buttons or typed answers, the answers in the FSM
  data, the finished tip pushed to a Redis list; as many steps as the real conversation.

Simulated tipsters (``--tipsters``) act over the fake server: each sends an update,
waits for the bot's reply, thinks a while (``--think`` seconds on average, uniform between
half and one and a half times that) and answers the newest question. Two phases per bot:

* **saturated**: every tipster runs one whole conversation at once, from the same start;
  this gives the updates per second a bot sustains, and what replies then take;
* **paced**: the same number of tipsters, thinking long enough that together they offer
  ``--rate`` updates per second, for ``--paced-seconds``: the reply times a tipster sees
  at that load (Telegram lets a bot send about 30 messages a second).

Printed per bot and phase: updates per second, p50 and p99 of the time from a tipster's
action to the bot's first reply, Bot API calls per update (getUpdates apart), deliveries
per distinct update (1.0: no update fetched twice), Redis commands per update (INFO
commandstats deltas on both servers; a pipeline counts each command), and the bot
process's CPU milliseconds per update. Then ratios against the floor and the FSM bot. The
bench process (fake server and tipsters) shares the machine: its own CPU per update is
printed too, so a server-bound floor shows. ``--quick`` is a smoke run: 10 tipsters,
short thinking, a short paced phase, ptb only (and the FSM bot).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

THIS = Path(__file__).resolve()
ROOT = THIS.parents[1]
sys.path.insert(0, str(ROOT))

SECRET_HEX = "5e" * 32
#: The real conversation's steps (the default questionnaire, an English-speaking
#: tipster): what a tipster does at each, by step id. Unknown steps get the first button.
TAPS = {
    "_language_confirm": "keep",
    "language": "en",
    "safety": "continue",
    "category": "trafficking",
    "_species_pick": "unsure",
    "_species_more": "done",
    "_precision": "exact",
    "when": "ongoing",
    "evidence": "done",
    "followup": "no",
    "review": "send",
    "_wipe": "no",
}
TEXTS = {
    "description": "Nine sacks of pangolin scales loaded at night behind the depot",
    "species": "pangolin scales",
    "country": "Kenya",
    "place": "Warehouse behind the fuel depot",
    "location": "-4.0435, 39.6682",
    "when_details": "Every Tuesday after the ferry",
}
#: The usual-way bot's conversation: as long as the real one, typed answers and button
#: presses in the same places (after /start).
FSM_KINDS = (
    "tap",  # language
    "tap",  # safety
    "tap",  # category
    "text",  # description
    "text",  # species
    "tap",  # species pick
    "text",  # country
    "text",  # place
    "text",  # location
    "tap",  # precision
    "tap",  # when
    "text",  # when, details
    "tap",  # evidence
    "tap",  # follow-up
    "tap",  # review: send
    "tap",  # wipe: no
)
STEPS = len(FSM_KINDS) + 1  # with /start
REPLY_TIMEOUT = 60.0


# --------------------------------------------------------------------------- the bots
def serve(kind: str) -> None:
    """Run one of the comparison bots (in its own process, until SIGTERM)."""
    token = os.environ["TELEGRAM_BOT_TOKEN"]
    base = os.environ["TELEGRAM_API_BASE"]
    if kind == "echo-ptb":
        _echo_ptb(token, base)
    elif kind == "echo-aiogram":
        asyncio.run(_echo_aiogram(token, base))
    elif kind == "fsm-aiogram":
        asyncio.run(_fsm_aiogram(token, base, os.environ["REDIS_URL"]))
    else:
        raise SystemExit(f"no such bot: {kind}")


def _echo_ptb(token: str, base: str) -> None:
    from telegram import Update
    from telegram.ext import Application, ContextTypes, MessageHandler, filters

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.message is not None and update.message.text:
            await update.message.reply_text(update.message.text)

    app = (
        Application.builder()
        .token(token)
        .base_url(f"{base}/bot")
        .base_file_url(f"{base}/file/bot")
        .concurrent_updates(True)
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.run_polling(poll_interval=0.0, timeout=10)


async def _echo_aiogram(token: str, base: str) -> None:
    from aiogram import Bot, Dispatcher
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.types import Message

    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(base)))
    dispatcher = Dispatcher()

    @dispatcher.message()
    async def echo(message: Message) -> None:
        if message.text:
            await message.answer(message.text)

    await dispatcher.start_polling(bot, polling_timeout=10)


async def _fsm_aiogram(token: str, base: str, redis_url: str) -> None:
    from aiogram import Bot, Dispatcher, Router
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.filters import CommandStart
    from aiogram.fsm.context import FSMContext
    from aiogram.fsm.state import State, StatesGroup
    from aiogram.fsm.storage.redis import RedisStorage
    from aiogram.types import (
        CallbackQuery,
        InlineKeyboardButton,
        InlineKeyboardMarkup,
        Message,
    )

    # redis-py's default pool refuses a connection past 100 at once (MaxConnectionsError),
    # which a few hundred tipsters at once reach: give it room, as one would.
    storage = RedisStorage.from_url(redis_url, connection_kwargs={"max_connections": 1024})
    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(base)))
    dispatcher = Dispatcher(storage=storage)
    router = Router()
    report: Any = type("Report", (StatesGroup,), {f"q{i}": State() for i in range(len(FSM_KINDS))})
    states: list[State] = [getattr(report, f"q{i}") for i in range(len(FSM_KINDS))]

    def keyboard(i: int) -> InlineKeyboardMarkup:
        options = ["a", "b", "c"] if FSM_KINDS[i] == "tap" else ["skip"]
        return InlineKeyboardMarkup(
            inline_keyboard=[
                [InlineKeyboardButton(text=f"Option {o}", callback_data=f"q{i}:{o}")]
                for o in options
            ]
        )

    async def ask(chat_id: int, i: int, state: FSMContext) -> None:
        await state.set_state(states[i])
        await bot.send_message(chat_id, f"Question {i + 1}", reply_markup=keyboard(i))

    async def answered(chat_id: int, i: int, answer: str, state: FSMContext) -> None:
        await state.update_data({f"q{i}": answer})
        if i + 1 < len(states):
            await ask(chat_id, i + 1, state)
            return
        data = await state.get_data()
        await storage.redis.rpush("bench:tips", json.dumps(data))
        await state.clear()
        await bot.send_message(chat_id, "Received, thank you.")

    @router.message(CommandStart())
    async def start(message: Message, state: FSMContext) -> None:
        await state.clear()
        await ask(message.chat.id, 0, state)

    def on_text(i: int) -> Callable[[Message, FSMContext], Any]:
        async def handler(message: Message, state: FSMContext) -> None:
            await answered(message.chat.id, i, message.text or "", state)

        return handler

    def on_tap(i: int) -> Callable[[CallbackQuery, FSMContext], Any]:
        async def handler(query: CallbackQuery, state: FSMContext) -> None:
            await query.answer()
            if query.message is not None:
                await answered(query.message.chat.id, i, query.data or "", state)

        return handler

    for i, kind in enumerate(FSM_KINDS):
        if kind == "text":
            router.message(states[i])(on_text(i))
        else:
            router.callback_query(states[i])(on_tap(i))
    dispatcher.include_router(router)
    await dispatcher.start_polling(bot, polling_timeout=10)


# --------------------------------------------------------------------------- tipsters
@dataclass
class Sample:
    updates: int = 0
    latencies: list[float] = field(default_factory=list)
    lost: int = 0
    update_ids: set[int] = field(default_factory=set)
    first: float = 0.0
    last: float = 0.0


class Tipster:
    """One simulated tipster: acts, waits for the reply, thinks, acts again."""

    def __init__(self, fake: Any, user: Any, kind: str, sample: Sample) -> None:
        self.fake = fake
        self.user = user
        self.kind = kind  # "tipline", "fsm" or "echo"
        self.sample = sample
        self.inbox: list[tuple[float, Any]] = []
        self.changed = asyncio.Event()

    def receive(self, shown: Any) -> None:
        self.inbox.append((time.perf_counter(), shown))
        self.changed.set()

    async def conversation(self, think: Callable[[], float], deadline: float) -> bool:
        """One whole conversation (False if the deadline came first)."""
        update = self.user.text_update("/start")
        for done in range(1, 4 * STEPS):
            if time.perf_counter() >= deadline:
                return False
            if self.kind == "tipline":
                final = update.get("callback_query", {}).get("data", "").startswith("_wipe:")
            else:
                final = done == STEPS
            if not await self._act(update, final=final or self.kind == "echo"):
                return False
            if final:
                return True
            await asyncio.sleep(think())
            update = self._next(done)
        raise AssertionError("the conversation never ended")

    def _next(self, done: int) -> dict[str, Any]:
        """The tipster's next update, after ``done`` of them."""
        if self.kind == "echo":
            return dict(self.user.text_update(f"message {done}"))
        question = self.user.question()
        assert question is not None, "no question to answer"
        buttons = [data for _label, data in question.buttons()]
        if self.kind == "fsm":
            if FSM_KINDS[done - 1] == "text":
                return dict(self.user.text_update(f"answer {done}"))
            return dict(self.user.tap_update(question, buttons[0]))
        step = buttons[0].split(":", 1)[0]
        if step in TEXTS:
            return dict(self.user.text_update(TEXTS[step]))
        wanted = [data for data in buttons if data.split(":", 1)[1] == TAPS.get(step)]
        return dict(self.user.tap_update(question, (wanted or buttons)[0]))

    async def _act(self, update: dict[str, Any], *, final: bool) -> bool:
        """Send the update and wait for the bot's answer: the next question (a message
        with buttons), or any message after the last step."""
        mark = len(self.inbox)
        start = time.perf_counter()
        self.sample.first = self.sample.first or start
        self.sample.updates += 1
        self.sample.update_ids.add(update["update_id"])
        await self.fake.inject(update)
        deadline = start + REPLY_TIMEOUT
        first: float | None = None
        while True:
            fresh = self.inbox[mark:]
            if fresh and first is None:
                first = fresh[0][0]
            if fresh and (final or any(s.keyboard for _t, s in fresh)):
                break
            left = deadline - time.perf_counter()
            if left <= 0:
                self.sample.lost += 1
                return False
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except TimeoutError:
                continue
        assert first is not None
        self.sample.latencies.append(first - start)
        self.sample.last = max(self.sample.last, self.inbox[-1][0])
        return True


# --------------------------------------------------------------------------- measuring
@dataclass
class Result:
    bot: str
    phase: str
    updates: int
    seconds: float
    p50: float
    p99: float
    calls: float
    polls: float
    deliveries: float
    redis: float
    cpu_ms: float
    bench_cpu_ms: float
    lost: int

    @property
    def rate(self) -> float:
        return self.updates / self.seconds if self.seconds else 0.0


def _cpu_seconds(pid: int) -> float:
    """User and system CPU of a process so far (and of its children it waited for)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


async def _redis_commands(clients: Sequence[Any]) -> int:
    total = 0
    for client in clients:
        stats = await client.info("commandstats")
        total += sum(int(v["calls"]) for k, v in stats.items() if k not in ("cmdstat_info",))
    return total


def _percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Bench:
    def __init__(self, args: argparse.Namespace, fake: Any, redis_clients: Sequence[Any]) -> None:
        self.args = args
        self.fake = fake
        self.redis = redis_clients
        self.tipsters: dict[int, Tipster] = {}
        self.next_user = 5_000_000_000
        self.rng = random.Random(args.seed)  # noqa: S311 (a reproducible load, not a secret)
        fake.on_message.append(self._route)

    def _route(self, chat_id: int, shown: Any) -> None:
        tipster = self.tipsters.get(chat_id)
        if tipster is not None:
            tipster.receive(shown)

    def _crowd(self, kind: str, sample: Sample) -> list[Tipster]:
        crowd = []
        for _ in range(self.args.tipsters):
            self.next_user += 1
            user = self.fake.user(self.next_user, "Tipster", language_code="en")
            tipster = self.tipsters[user.id] = Tipster(self.fake, user, kind, sample)
            crowd.append(tipster)
        return crowd

    async def phase(self, bot: str, pid: int, phase: str) -> Result:
        kind = bot.split("-")[0]
        sample = Sample()
        crowd = self._crowd(kind, sample)
        calls_before = len(self.fake.calls)
        redis_before = await _redis_commands(self.redis)
        cpu_before = _cpu_seconds(pid)
        bench_before = time.process_time()
        rng = self.rng
        if phase == "saturated":
            mean = self.args.think
            deadline = time.perf_counter() + 600

            async def run(t: Tipster) -> None:
                await asyncio.sleep(rng.uniform(0, mean))
                await t.conversation(lambda: rng.uniform(0.5 * mean, 1.5 * mean), deadline)

        else:
            mean = self.args.tipsters / self.args.rate
            deadline = time.perf_counter() + self.args.paced_seconds

            async def run(t: Tipster) -> None:
                await asyncio.sleep(rng.uniform(0, mean))
                while await t.conversation(lambda: rng.uniform(0.5 * mean, 1.5 * mean), deadline):
                    pass

        await asyncio.gather(*(run(t) for t in crowd))
        await self.fake.settled(30)
        cpu = _cpu_seconds(pid) - cpu_before
        bench_cpu = time.process_time() - bench_before
        redis = await _redis_commands(self.redis) - redis_before
        calls = self.fake.calls[calls_before:]
        polls = sum(c.method == "getUpdates" for c in calls)
        delivered = [
            self.fake.deliveries[i] for i in sample.update_ids if i in self.fake.deliveries
        ]
        n = max(1, sample.updates)
        for t in crowd:
            del self.tipsters[t.user.id]
        return Result(
            bot=bot,
            phase=phase,
            updates=sample.updates,
            seconds=sample.last - sample.first,
            p50=_percentile(sample.latencies, 0.50),
            p99=_percentile(sample.latencies, 0.99),
            calls=(len(calls) - polls) / n,
            polls=polls / n,
            deliveries=sum(delivered) / len(delivered) if delivered else float("nan"),
            redis=redis / n,
            cpu_ms=cpu * 1000 / n,
            bench_cpu_ms=bench_cpu * 1000 / n,
            lost=sample.lost,
        )


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:]


async def _start_bot(
    bot: str, env: dict[str, str], fake: Any, log: Path, profile: Path | None
) -> asyncio.subprocess.Process:
    if bot.startswith("tipline-"):
        tipline = ["-m", "tipline", "run", "telegram", "--framework", bot[8:]]
        command = [sys.executable, *tipline]
        if profile is not None:  # the framework imported first, outside the profile
            command = [sys.executable, str(THIS), "--profile-tipline", str(profile), *tipline]
    else:
        command = [sys.executable, str(THIS), "--serve", bot]
        if profile is not None:
            command = [sys.executable, "-m", "cProfile", "-o", str(profile), *command[1:]]
    polls = len(fake.calls_of("getUpdates"))
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            *command, env=env, cwd=ROOT, stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out
        )
    await fake.wait_for(
        lambda: len(fake.calls_of("getUpdates")) > polls or process.returncode is not None,
        seconds=60,
        what=f"{bot} to poll",
    )
    if process.returncode is not None:
        raise SystemExit(f"{bot} did not start:\n{_tail(log)}")
    return process


async def _stop_bot(process: asyncio.subprocess.Process) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), 30)
    except TimeoutError:
        process.kill()
        await process.wait()


def _bots(frameworks: Sequence[str]) -> list[str]:
    bots = []
    for fw in frameworks:
        bots += [f"echo-{fw}", f"tipline-{fw}"]
        if fw == "aiogram":
            bots.insert(len(bots) - 1, "fsm-aiogram")
    if "aiogram" not in frameworks:
        bots.append("fsm-aiogram")
    return bots


def _report(results: list[Result], args: argparse.Namespace) -> None:
    print(
        f"\n{args.tipsters} tipsters; saturated: think {args.think:g} s on average; "
        f"paced: {args.rate:g} updates/s offered for {args.paced_seconds:g} s"
    )
    header = (
        f"{'bot':<16} {'phase':<10} {'updates':>7} {'upd/s':>7} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'calls/u':>7} {'polls/u':>7} {'deliv/u':>7} {'redis/u':>7} {'cpu ms/u':>8} "
        f"{'bench ms/u':>10} {'lost':>4}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.bot:<16} {r.phase:<10} {r.updates:>7} {r.rate:>7.1f} {r.p50 * 1000:>7.0f} "
            f"{r.p99 * 1000:>7.0f} {r.calls:>7.2f} {r.polls:>7.2f} {r.deliveries:>7.2f} "
            f"{r.redis:>7.1f} {r.cpu_ms:>8.2f} {r.bench_cpu_ms:>10.2f} {r.lost:>4}"
        )
    by = {(r.bot, r.phase): r for r in results}
    fsm = by.get(("fsm-aiogram", "saturated"))
    print("\nratios (saturated phase; goals: >= 0.6 x echo, >= 2 x fsm; p99 < 1 s paced)")
    for fw in args.frameworks:
        ours, echo = by.get((f"tipline-{fw}", "saturated")), by.get((f"echo-{fw}", "saturated"))
        paced = by.get((f"tipline-{fw}", "paced"))
        if ours is None or echo is None:
            continue
        line = (
            f"tipline-{fw}: {ours.rate / echo.rate:.2f} x echo-{fw} upd/s, "
            f"{ours.cpu_ms / echo.cpu_ms:.1f} x its CPU per update"
        )
        if fsm is not None:
            line += (
                f"; {ours.rate / fsm.rate:.2f} x fsm-aiogram upd/s, "
                f"{ours.cpu_ms / fsm.cpu_ms:.2f} x its CPU per update"
            )
        if paced is not None:
            line += f"; p99 at {paced.rate:.0f} upd/s: {paced.p99 * 1000:.0f} ms"
        print(line)
    if fsm is not None:
        for fw in args.frameworks:
            echo = by.get((f"echo-{fw}", "saturated"))
            if echo is not None:
                print(f"fsm-aiogram: {fsm.rate / echo.rate:.2f} x echo-{fw} upd/s")


async def main(args: argparse.Namespace) -> None:
    from privacy import X25519Identity
    from storage import EmbeddedRedis, connect
    from tests.fakebotapi import FakeBotApi

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        persistent = EmbeddedRedis(work / "redis", persistent=True)
        ephemeral = EmbeddedRedis(work / "redis-ephemeral", persistent=False)
        persistent.start()
        ephemeral.start()
        fake = FakeBotApi()
        await fake.start()
        clients = [await connect(persistent.url), await connect(ephemeral.url)]
        try:
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "HOME": str(work / "home"),
                "LANG": "C.UTF-8",
                "PYTHONPATH": str(ROOT),
                "TELEGRAM_BOT_TOKEN": fake.token,
                "TELEGRAM_API_BASE": fake.base_url,
                "REDIS_URL": persistent.url,
                "REDIS_EPHEMERAL_URL": ephemeral.url,
                "TIPLINE_DATA_DIR": str(work / "data"),
                "TIPLINE_SECRET": SECRET_HEX,
                "TIPLINE_RECIPIENTS": str(X25519Identity.generate().recipient),
            }
            if args.max_in_flight:
                env["TELEGRAM_MAX_IN_FLIGHT"] = str(args.max_in_flight)
            bench = Bench(args, fake, clients)
            results: list[Result] = []
            for bot in args.bots or _bots(args.frameworks):
                bot_env = dict(env)
                if bot == "fsm-aiogram":
                    bot_env["REDIS_URL"] = ephemeral.url  # its states, like our drafts
                profile = args.profile / f"{bot}.prof" if args.profile else None
                logs = args.logs or work
                process = await _start_bot(bot, bot_env, fake, logs / f"{bot}.log", profile)
                try:
                    for phase in ("saturated", "paced"):
                        result = await bench.phase(bot, process.pid, phase)
                        results.append(result)
                        print(
                            f"{bot:<16} {phase:<10} {result.rate:7.1f} upd/s  "
                            f"p99 {result.p99 * 1000:6.0f} ms",
                            flush=True,
                        )
                finally:
                    await _stop_bot(process)
            _report(results, args)
            if any(r.lost for r in results):
                raise SystemExit("some replies never came (see the lost column)")
        finally:
            for client in clients:
                await client.aclose()
            await fake.stop()
            ephemeral.stop()
            persistent.stop()


def _arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tipsters", type=int, default=300)
    parser.add_argument("--think", type=float, default=0.2, help="saturated phase, seconds")
    parser.add_argument("--rate", type=float, default=30.0, help="paced phase, updates/s")
    parser.add_argument("--paced-seconds", type=float, default=20.0)
    parser.add_argument("--frameworks", default="aiogram,ptb")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--max-in-flight", type=int, help="tipline's (default: its own)")
    parser.add_argument("--bots", help="only these bots (comma-separated names)")
    parser.add_argument("--logs", type=Path, help="keep the bots' logs in this directory")
    parser.add_argument(
        "--profile", type=Path, help="write each bot's cProfile statistics to this directory"
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run (about 30 s)")
    parser.add_argument("--serve", help=argparse.SUPPRESS)  # run a comparison bot
    args = parser.parse_args(argv)
    if args.quick:
        # ptb starts in a fraction of a second, aiogram takes seconds (its models):
        # one aiogram process (the FSM bot) is enough for a smoke run.
        args.tipsters, args.think, args.paced_seconds = 10, 0.05, 1.0
        args.frameworks = "ptb"
    args.frameworks = [f for f in args.frameworks.split(",") if f]
    args.bots = [b for b in (args.bots or "").split(",") if b]
    return args


def _profile_tipline(out: str, argv: list[str]) -> None:
    """Run ``tipline`` (``-m tipline ...``) under cProfile, its imports done first."""
    import cProfile

    import aiogram.types  # noqa: F401
    import telegram  # noqa: F401

    from tipline.cli import main as tipline_main

    sys.argv = ["tipline", *argv[2:]]
    profiler = cProfile.Profile()
    try:
        profiler.runcall(tipline_main)
    except SystemExit:
        pass
    finally:
        profiler.dump_stats(out)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--profile-tipline"]:
        _profile_tipline(sys.argv[2], sys.argv[3:])
        raise SystemExit(0)
    arguments = _arguments()
    if arguments.serve:
        serve(arguments.serve)
    else:
        started = time.perf_counter()
        asyncio.run(main(arguments))
        print(f"\n(the bench took {time.perf_counter() - started:.0f} s)")
