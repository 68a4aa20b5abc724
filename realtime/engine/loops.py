"""One object per running event loop: the hub and the housekeeper are per server
process, and a process serves from one loop (tests may start several)."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def per_event_loop(factory: Callable[[], T]) -> Callable[[], T]:
    instances: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, T] = weakref.WeakKeyDictionary()

    def current() -> T:
        loop = asyncio.get_running_loop()
        if loop not in instances:
            instances[loop] = factory()
        return instances[loop]

    return current
