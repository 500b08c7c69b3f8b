"""Step 2: fire and forget with ``Task.start``: the caller moves on, the work still happens."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from taskvisor import Process, Task

from ._narrate import Narrator
from ._step import Step

__all__ = ["STEP"]


@dataclass(frozen=True)
class User:
    name: str
    email: str


@dataclass
class Mailer:
    """A pretend mail service: what it sent, and an event set when a mail goes out."""

    outbox: list[str] = field(default_factory=list)
    sent: asyncio.Event = field(default_factory=asyncio.Event)

    async def send_email_to_user(self, user: User) -> None:
        await asyncio.sleep(0.05)  # talking to the mail server
        self.outbox.append(f"Welcome, {user.name}! <{user.email}>")
        self.sent.set()


async def run(say: Narrator) -> None:
    mailer = Mailer()
    user = User("Ada", "ada@example.com")
    pid = Task.start(mailer.send_email_to_user, user)
    say.say(f"Task.start returned {pid} at once (no link, no monitor, no reply)")
    say.say(f"the caller {Process.self()} moves on; outbox so far: {mailer.outbox}")
    await asyncio.wait_for(mailer.sent.wait(), timeout=5.0)
    say.say(f"the email went out in the background: outbox = {mailer.outbox}")
    say.note("taskvisor holds the process until it ends, so it is never garbage-collected")


STEP = Step(
    title="Fire and forget (Task.start)",
    elixir="""
        Task.start(fn -> send_email_to_user(user) end)
    """,
    python="""
        pid = Task.start(send_email_to_user, user)
    """,
    run=run,
)
