"""The console channel: the intake as a terminal chat.

For hotline operators typing a caller's answers, and for trying Tipline out. On a
terminal it prompts; when standard input is not a terminal it reads one answer per line,
so a whole conversation can be piped in. An answer is:

* the number of an option (``0`` is "I don't know / prefer not to say" where offered),
  or the option's text as shown;
* a command word: ``back``, ``skip``, ``help``, ``language``, ``safety``, ``cancel``
  (also with a leading slash, and in the conversation's language);
* otherwise, free text.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
from collections.abc import Sequence
from typing import TextIO

from conversations import (
    Action,
    Ask,
    AttachmentFailed,
    End,
    FetchAttachment,
    FollowUp,
    Questionnaire,
    Say,
    ShowSummary,
    Start,
    Wipe,
)
from conversations import messages as m

from .intake import Intake, WipeChat
from .render import Renderer, interpret

__all__ = ["EXIT_ENDED", "EXIT_INPUT_ENDED", "ConsoleChannel"]

EXIT_ENDED = 0
#: Standard input ended before the conversation did; the draft waits until it expires.
EXIT_INPUT_ENDED = 3
_CLEAR = "\033[2J\033[3J\033[H"


class ConsoleChannel:
    def __init__(
        self,
        intake: Intake,
        questionnaire: Questionnaire,
        *,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        interactive: bool | None = None,
    ) -> None:
        self.intake = intake
        self.questionnaire = questionnaire
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.interactive = self.stdin.isatty() if interactive is None else interactive
        # The console's conversation id lives only in this process: each run is a new report.
        self.conversation_id = secrets.token_hex(16)
        self.last_ask: Ask | None = None
        self.lang = questionnaire.default_language

    async def run(self, language: str | None = None, *, followup: bool = False) -> int:
        first: Start | FollowUp = (
            FollowUp(language=language) if followup else Start(language=language)
        )
        actions = await self.intake.handle(self.conversation_id, first)
        while True:
            if await self._perform(actions):
                return EXIT_ENDED
            line = await self._read()
            if line is None:
                self._print("")
                return EXIT_INPUT_ENDED
            event = interpret(self.last_ask, line, Renderer(self.lang, self.questionnaire))
            actions = await self.intake.handle(self.conversation_id, event)

    async def _read(self) -> str | None:
        if self.interactive:
            try:
                return await asyncio.to_thread(input, "> ")
            except EOFError:
                return None
        line: str = await asyncio.to_thread(self.stdin.readline)
        if not line:
            return None
        line = line.rstrip("\r\n")
        self._print(f"> {line}")
        return line

    async def _perform(self, actions: Sequence[Action | WipeChat]) -> bool:
        """Render the actions; True when the conversation ended."""
        ended = False
        for action in actions:
            match action:
                case Say(msg, lang):
                    self.lang = lang
                    self._print(Renderer(lang, self.questionnaire).text(msg) + "\n")
                case Ask():
                    self.lang = action.lang
                    self.last_ask = action
                    self._print(self._render_ask(action))
                case ShowSummary(_, lang):
                    renderer = Renderer(lang, self.questionnaire)
                    lines = [f"  {label}: {value}" for label, value in renderer.summary(action)]
                    self._print("\n".join(lines) + "\n")
                case FetchAttachment(ref):
                    # Nothing on a console sends files; should one arrive, it is refused.
                    more = await self.intake.handle(self.conversation_id, AttachmentFailed(ref))
                    ended = await self._perform(more) or ended
                case WipeChat() | Wipe():
                    if self.interactive:  # a terminal's "chat" is its screen
                        lang = (action.lang if isinstance(action, WipeChat) else None) or self.lang
                        self.stdout.write(_CLEAR)
                        self._print(Renderer(lang, self.questionnaire).msgid(m.WIPED))
                case End():
                    ended = True
                case _:
                    pass
        self.stdout.flush()
        return ended

    def _render_ask(self, ask: Ask) -> str:
        renderer = Renderer(ask.lang, self.questionnaire)
        lines = [renderer.text(ask.prompt)]
        for number, option in enumerate(ask.options, start=1):
            lines.append(f"  {number}. {renderer.label(option.label)}")
        if ask.skippable:
            lines.append(f"  0. {renderer.msgid(m.SKIP)}")
        return "\n".join(lines)

    def _print(self, text: str) -> None:
        print(text, file=self.stdout)
