"""Latest wins per document: a newer request supersedes the older one.

Each request that may reach the model gets a ``Ticket``. Starting a ticket for
a document supersedes the document's previous ticket: its debounce wait ends at
once and its ``cancel`` event is set, which stops the model within one
denoising step. The superseded request still gets its reply (an empty list);
only the ticket's owner decides what to send.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field


class Superseded(Exception):
    """A newer request for the same document replaced this one."""


@dataclass(eq=False, slots=True)
class Ticket:
    uri: str
    speculative: bool = False
    cancel: threading.Event = field(default_factory=threading.Event)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    superseded: bool = False

    def supersede(self) -> None:
        self.superseded = True
        self.cancel.set()
        self.wake.set()

    def check(self) -> None:
        if self.superseded:
            raise Superseded()


class LatestWins:
    """The newest ticket per document, and how many tickets are alive in total."""

    def __init__(self) -> None:
        self._current: dict[str, Ticket] = {}
        self._alive: set[Ticket] = set()

    @property
    def idle(self) -> bool:
        """True when no request is waiting for or running the model."""
        return not self._alive

    def begin(self, uri: str, *, speculative: bool = False) -> Ticket:
        previous = self._current.get(uri)
        if previous is not None:
            previous.supersede()
        ticket = Ticket(uri, speculative)
        self._current[uri] = ticket
        self._alive.add(ticket)
        return ticket

    def supersede(self, uri: str) -> bool:
        """Supersede the document's current ticket, if any; return whether there was one."""
        ticket = self._current.pop(uri, None)
        if ticket is None:
            return False
        ticket.supersede()
        return True

    def finish(self, ticket: Ticket) -> None:
        self._alive.discard(ticket)
        if self._current.get(ticket.uri) is ticket:
            del self._current[ticket.uri]

    def supersede_all(self) -> None:
        for ticket in list(self._alive):
            ticket.supersede()
        self._current.clear()

    async def wait(self, ticket: Ticket, seconds: float) -> None:
        """Sleep for the debounce delay; raise Superseded as soon as a newer request arrives."""
        ticket.check()
        if seconds > 0:
            try:
                await asyncio.wait_for(ticket.wake.wait(), seconds)
            except TimeoutError:
                pass
        ticket.check()


__all__ = ["LatestWins", "Superseded", "Ticket"]
