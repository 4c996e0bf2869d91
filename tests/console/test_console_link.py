"""The link a user gets without configuring anything leads to a page: ``flyte-sandbox --port P`` serves its HTTP
endpoint (console included) on ``P + 1``, and ``Config.for_sandbox("host:P")`` builds console links there."""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Callable
from typing import Any

from airflow_provider_flyte.remote import Config, FlyteRemote


def _two_free_ports() -> int:
    """A port P with P + 1 free too."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue
    raise RuntimeError("no two consecutive free ports")


def test_for_sandbox_console_links_open_the_execution_page(fresh_sandbox: Callable[..., Any]) -> None:
    port = _two_free_ports()
    sb = fresh_sandbox(port=port)
    assert sb.config.http_port == port + 1
    from flyte_examples_registry import register_examples

    with FlyteRemote(Config.for_sandbox(f"127.0.0.1:{port}"), "flytesnacks", "development") as remote:
        register_examples(remote)
        execution = remote.execute(remote.fetch_launch_plan(name="examples.arith"), inputs={"a": 2, "b": 5})
        url = remote.generate_console_url(execution)
    assert url.startswith(f"http://127.0.0.1:{port + 1}/console/projects/flytesnacks/domains/development/executions/")
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.status == 200
        assert execution.id.name in response.read().decode()
