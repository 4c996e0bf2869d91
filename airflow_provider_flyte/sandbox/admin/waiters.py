"""In-memory waiters: event-driven waits for terminal executions and for signal values (no polling)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

Key = tuple[str, ...]


class Waiters:
    """Futures keyed by execution (or signal) identity, resolved when the admin records the awaited change."""

    def __init__(self) -> None:
        self._terminal: dict[Key, list[asyncio.Future[Any]]] = defaultdict(list)
        self._signals: dict[Key, list[asyncio.Future[Any]]] = defaultdict(list)

    def terminal(self, key: Key) -> asyncio.Future[None]:
        """A future resolved when the execution ``key`` reaches a terminal phase."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._terminal[key].append(fut)
        return fut

    def resolve_terminal(self, key: Key) -> None:
        for fut in self._terminal.pop(key, ()):
            if not fut.done():
                fut.set_result(None)

    def signal(self, key: Key) -> asyncio.Future[Any]:
        """A future resolved with the signal's Literal when SetSignal gives ``key`` a value."""
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._signals[key].append(fut)
        return fut

    def resolve_signal(self, key: Key, value: Any) -> None:
        for fut in self._signals.pop(key, ()):
            if not fut.done():
                fut.set_result(value)

    def discard(self, key: Key, fut: asyncio.Future[Any]) -> None:
        """Forget a future whose waiter went away (cancelled)."""
        for table in (self._terminal, self._signals):
            futures = table.get(key, [])
            if fut in futures:
                futures.remove(fut)
                if not futures:
                    table.pop(key, None)

    def cancel_all(self) -> None:
        for table in (self._terminal, self._signals):
            for futures in table.values():
                for fut in futures:
                    fut.cancel()
            table.clear()
