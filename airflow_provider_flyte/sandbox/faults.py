"""Fault injection for reliability tests: a fraction of RPCs fail with ``UNAVAILABLE`` before their handler runs
(so nothing happened on the server and a retry is always safe), and a fraction is delayed.

Deterministic for a given seed and RPC order. AuthMetadataService and ``FaultSettings.exempt_methods`` are never
touched.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import grpc
import grpc.aio

from airflow_provider_flyte.sandbox.config import FaultSettings
from airflow_provider_flyte.sandbox.errors import SandboxError

#: services faults never apply to (clients need them to discover how to authenticate)
EXEMPT_SERVICES = frozenset({"AuthMetadataService"})


class FaultInjector:
    """Applies :class:`FaultSettings` to RPCs (see :class:`~.server.RpcGuard`)."""

    def __init__(self, settings: FaultSettings) -> None:
        for name in ("unavailable_fraction", "delay_fraction"):
            value = getattr(settings, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"FaultSettings.{name} must be between 0 and 1, got {value}")
        if settings.max_delay_seconds < 0:
            raise ValueError(
                f"FaultSettings.max_delay_seconds must be >= 0, got {settings.max_delay_seconds}"
            )
        self.settings = settings
        self._rng = random.Random(settings.seed)
        #: how many RPCs were failed / delayed so far
        self.injected_failures = 0
        self.injected_delays = 0

    def applies(self, service: str, method: str) -> bool:
        return service not in EXEMPT_SERVICES and method not in self.settings.exempt_methods

    async def check(self, method: str, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        # Draw every number on every call, so the sequence of decisions only depends on the seed and RPC order.
        fail_draw, delay_draw, delay_len = self._rng.random(), self._rng.random(), self._rng.random()
        if fail_draw < self.settings.unavailable_fraction:
            self.injected_failures += 1
            raise SandboxError(
                grpc.StatusCode.UNAVAILABLE,
                f"injected fault: {method} rejected before it ran (sandbox fault injection, --fail-fraction)",
            )
        if delay_draw < self.settings.delay_fraction and self.settings.max_delay_seconds > 0:
            self.injected_delays += 1
            await asyncio.sleep(delay_len * self.settings.max_delay_seconds)
