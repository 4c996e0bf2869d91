"""The sandbox's flytepropeller: interprets compiled workflows and reports progress as flyteidl events.

``Engine(config, blobs, sink, signals, launcher)`` implements ``EngineProtocol`` of
:mod:`airflow_provider_flyte.sandbox.interfaces`.
"""

from __future__ import annotations

from airflow_provider_flyte.sandbox.engine.engine import Engine

__all__ = ["Engine"]
