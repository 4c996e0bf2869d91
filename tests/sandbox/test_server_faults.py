"""Fault injection: the configured fraction of RPCs fails with UNAVAILABLE before running, deterministically."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import grpc
import pytest
from flyteidl.service import auth_pb2, auth_pb2_grpc, identity_pb2, identity_pb2_grpc

from airflow_provider_flyte.sandbox.config import FaultSettings
from airflow_provider_flyte.sandbox.testing import SandboxThread


def _outcomes(endpoint: str, calls: int) -> list[bool]:
    """UserInfo ``calls`` times, sequentially; True where the call failed with UNAVAILABLE."""
    failed = []
    with grpc.insecure_channel(endpoint) as channel:
        stub = identity_pb2_grpc.IdentityServiceStub(channel)
        for _ in range(calls):
            try:
                stub.UserInfo(identity_pb2.UserInfoRequest(), timeout=10)
                failed.append(False)
            except grpc.RpcError as err:
                assert err.code() == grpc.StatusCode.UNAVAILABLE, err
                assert "injected fault" in (err.details() or "")
                failed.append(True)
    return failed


def test_fraction_observed_and_deterministic(fresh_sandbox: Callable[..., SandboxThread]) -> None:
    faults = FaultSettings(unavailable_fraction=0.3, seed=1234)
    first = _outcomes(fresh_sandbox(faults=faults).endpoint, 400)
    assert 0.22 <= sum(first) / len(first) <= 0.38
    second = _outcomes(fresh_sandbox(faults=faults).endpoint, 400)
    assert second == first  # same seed, same RPC order: same faults
    # the same decisions as the documented draw order (fail, delay, delay length per RPC)
    rng = random.Random(1234)
    expected = []
    for _ in range(400):
        fail, _delay, _length = rng.random(), rng.random(), rng.random()
        expected.append(fail < 0.3)
    assert first == expected


def test_auth_metadata_and_exempt_methods_are_never_faulted(
    fresh_sandbox: Callable[..., SandboxThread],
) -> None:
    running = fresh_sandbox(
        faults=FaultSettings(unavailable_fraction=1.0, exempt_methods=frozenset({"UserInfo"}))
    )
    with grpc.insecure_channel(running.endpoint) as channel:
        stub = auth_pb2_grpc.AuthMetadataServiceStub(channel)
        for _ in range(50):
            stub.GetOAuth2Metadata(auth_pb2.OAuth2MetadataRequest(), timeout=10)
            stub.GetPublicClientConfig(auth_pb2.PublicClientAuthConfigRequest(), timeout=10)
    assert _outcomes(running.endpoint, 50) == [False] * 50
    everything = fresh_sandbox(faults=FaultSettings(unavailable_fraction=1.0))
    assert _outcomes(everything.endpoint, 20) == [True] * 20


def test_delays(fresh_sandbox: Callable[..., SandboxThread]) -> None:
    faults = FaultSettings(delay_fraction=0.5, max_delay_seconds=0.1, seed=7)
    rng = random.Random(7)
    expected = 0.0
    for _ in range(20):
        _fail, delay, length = rng.random(), rng.random(), rng.random()
        expected += length * 0.1 if delay < 0.5 else 0.0
    running = fresh_sandbox(faults=faults)
    begin = time.monotonic()
    assert _outcomes(running.endpoint, 20) == [False] * 20
    elapsed = time.monotonic() - begin
    assert expected > 0.2
    assert expected * 0.95 <= elapsed <= expected + 5.0


def test_invalid_settings_are_refused(fresh_sandbox: Callable[..., SandboxThread]) -> None:
    with pytest.raises(ValueError, match="unavailable_fraction must be between 0 and 1"):
        fresh_sandbox(faults=FaultSettings(unavailable_fraction=1.5))
