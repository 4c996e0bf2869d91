"""Retry policy for RPCs: exponential backoff with full jitter, transient codes, idempotent calls only.

The decision logic is written once here and used by both the blocking and the asyncio transport.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import Enum

from airflow_provider_flyte.remote.errors import RETRYABLE_CODES


class Decision(Enum):
    """What a transport does after an RPC failed."""

    RAISE = "raise"
    RETRY = "retry"
    REFRESH_AUTH = "refresh_auth"


@dataclass(frozen=True)
class RetryPolicy:
    """``max_retries`` extra attempts; sleep ``uniform(0, min(max_backoff, initial_backoff * 2**attempt))``."""

    max_retries: int = 3
    initial_backoff: float = 0.05
    max_backoff: float = 4.0

    def backoff(self, attempt: int) -> float:
        """Seconds to sleep before retry number ``attempt`` (0-based), with full jitter."""
        ceiling = min(self.max_backoff, self.initial_backoff * (2**attempt))
        return random.uniform(0.0, ceiling)

    def decide(
        self, code: str, *, idempotent: bool, attempt: int, auth_refreshed: bool, can_refresh: bool
    ) -> Decision:
        """Decide after attempt ``attempt`` (0-based) failed with gRPC status ``code`` (name, e.g. ``"UNAVAILABLE"``).

        UNAUTHENTICATED refreshes credentials once per call. Transient codes are retried only for idempotent
        calls and only ``max_retries`` times.
        """
        if code == "UNAUTHENTICATED" and can_refresh and not auth_refreshed:
            return Decision.REFRESH_AUTH
        if idempotent and code in RETRYABLE_CODES and attempt < self.max_retries:
            return Decision.RETRY
        return Decision.RAISE
