"""The sandbox's web console over plain HTTP: pages, filters, pagination, gates through SignalService, auth.

The browser tests (``test_console_browser.py``) drive the same pages in headless Chromium.
"""

from __future__ import annotations

import base64
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_flyte.remote import Config, FlyteRemote
from airflow_provider_flyte.sandbox.config import AuthSettings
from airflow_provider_flyte.sandbox.testing import SandboxThread, run_sandbox

P, D = "flytesnacks", "development"
REPO_ROOT = Path(__file__).resolve().parents[2]


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def post(url: str, form: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, data=form.encode(), method="POST", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as r:  # follows the 303 to the execution page
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxThread]:
    with run_sandbox(
        data_dir=tmp_path_factory.mktemp("console"), port=0, task_pythonpath=(str(REPO_ROOT),)
    ) as running:
        yield running


@pytest.fixture(scope="module")
def remote(sandbox: SandboxThread) -> Iterator[FlyteRemote]:
    from flyte_examples_registry import register_examples

    with FlyteRemote(Config.for_sandbox(sandbox.endpoint), P, D) as client:
        register_examples(client)
        yield client


def page_of(sandbox: SandboxThread, execution: Any) -> str:
    return f"{sandbox.config.console_url()}/projects/{P}/domains/{D}/executions/{execution.id.name}"


def wait_phase(remote: FlyteRemote, execution: Any, phases: set[str], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        execution = remote.sync(execution)
        if execution.phase_name in phases:
            return execution
        assert time.monotonic() < deadline, f"{execution.id.name} stayed {execution.phase_name}"
        time.sleep(0.2)


def wait_for_signal(sandbox: SandboxThread, execution: Any, signal_id: str) -> str:
    deadline = time.monotonic() + 60
    while True:
        status, html = get(page_of(sandbox, execution))
        assert status == 200
        if f'data-signal="{signal_id}"' in html and "<form" in html:
            return html
        assert time.monotonic() < deadline, "the gate's signal never appeared on the page"
        time.sleep(0.2)


def test_default_console_url_is_served_by_the_http_endpoint(sandbox: SandboxThread) -> None:
    assert sandbox.config.console_url() == f"{sandbox.http_endpoint}/console"
    status, html = get(sandbox.config.console_url())
    assert status == 200 and "<h1>Projects</h1>" in html
    assert f"/console/projects/{P}/domains/{D}/executions" in html


def test_execution_page_shows_phase_nodes_inputs_and_outputs(
    sandbox: SandboxThread, remote: FlyteRemote
) -> None:
    execution = remote.execute(remote.fetch_launch_plan(name="examples.arith"), inputs={"a": 2, "b": 5})
    wait_phase(remote, execution, {"SUCCEEDED"})
    status, html = get(page_of(sandbox, execution))
    assert status == 200
    assert '<span id="phase"><span class="phase phase-succeeded">SUCCEEDED' in html
    assert re.search(r'<tr class="node" data-node="n0" data-phase="SUCCEEDED">', html)
    inputs = html.split("id='inputs'>")[1].split("</div>")[0]
    outputs = html.split("id='outputs'>")[1].split("</div>")[0]
    assert '<tr data-name="a"><th>a</th><td>2</td>' in inputs
    assert '<tr data-name="total"><th>total</th><td>7</td>' in outputs
    assert '<tr data-name="squared"><th>squared</th><td>49</td>' in outputs


def test_failed_execution_shows_error_kind_code_and_message(
    sandbox: SandboxThread, remote: FlyteRemote
) -> None:
    execution = remote.execute(
        remote.fetch_launch_plan(name="examples.fail"), inputs={"message": "no <good>"}
    )
    wait_phase(remote, execution, {"FAILED"})
    _, html = get(page_of(sandbox, execution))
    error = html.split('id="error">')[1].split("</div>")[0]
    assert "<b>USER</b>" in error and "no &lt;good&gt;" in error  # escaped, never raw HTML


def test_executions_list_filters_and_pages(sandbox: SandboxThread, remote: FlyteRemote) -> None:
    greet = remote.fetch_launch_plan(name="examples.greet")
    names = {remote.execute(greet, inputs={"name": f"n{i}"}).id.name for i in range(3)}
    base = f"{sandbox.config.console_url()}/projects/{P}/domains/{D}/executions"
    _, html = get(f"{base}?launch_plan=examples.greet&limit=2")
    listed = set(re.findall(r'<tr class="execution" data-name="([^"]+)"', html))
    assert len(listed) == 2 and listed <= names
    next_href = re.search(r'<a href="([^"]+)" id="next-page">', html)
    assert next_href is not None
    _, second = get(base + next_href.group(1).replace("&amp;", "&"))
    listed |= set(re.findall(r'<tr class="execution" data-name="([^"]+)"', second))
    assert names <= listed
    _, failed = get(f"{base}?phase=FAILED&launch_plan=examples.greet")
    assert 'class="execution"' not in failed
    # Flyte console's own list URL redirects to the same page
    status, html = get(
        f"{sandbox.config.console_url()}/projects/{P}/executions?domain={D}&launch_plan=examples.greet"
    )
    assert status == 200 and "examples.greet" in html


def test_approve_gate_from_the_page_completes_the_execution(
    sandbox: SandboxThread, remote: FlyteRemote
) -> None:
    execution = remote.execute(remote.fetch_launch_plan(name="examples.approval"), inputs={"x": 3})
    html = wait_for_signal(sandbox, execution, "review")
    assert 'class="approve"' in html and 'class="reject"' in html
    status, html = post(f"{page_of(sandbox, execution)}/signals/review", "action=approve")
    assert status == 200 and 'id="notice">review approved<' in html
    done = wait_phase(remote, execution, {"SUCCEEDED", "FAILED"})
    assert done.phase_name == "SUCCEEDED" and done.outputs.to_dict()["result"] == 10


def test_reject_gate_fails_the_execution(sandbox: SandboxThread, remote: FlyteRemote) -> None:
    execution = remote.execute(remote.fetch_launch_plan(name="examples.approval"), inputs={"x": 2})
    wait_for_signal(sandbox, execution, "review")
    post(f"{page_of(sandbox, execution)}/signals/review", "action=reject")
    assert wait_phase(remote, execution, {"SUCCEEDED", "FAILED", "ABORTED"}).phase_name != "SUCCEEDED"


def test_set_input_gate_takes_a_typed_value(sandbox: SandboxThread, remote: FlyteRemote) -> None:
    execution = remote.execute(remote.fetch_launch_plan(name="examples.input_gate"), inputs={})
    html = wait_for_signal(sandbox, execution, "threshold")
    assert 'class="set-input"' in html
    _, html = post(f"{page_of(sandbox, execution)}/signals/threshold", "action=set&value=not-a-number")
    assert "cannot use &#x27;not-a-number&#x27; for threshold" in html
    _, html = post(f"{page_of(sandbox, execution)}/signals/threshold", "action=set&value=41")
    assert "threshold set to 41" in html
    done = wait_phase(remote, execution, {"SUCCEEDED", "FAILED"})
    assert done.outputs.to_dict()["result"] == 42


def test_cross_origin_form_posts_are_refused(sandbox: SandboxThread, remote: FlyteRemote) -> None:
    execution = remote.execute(remote.fetch_launch_plan(name="examples.input_gate"), inputs={})
    wait_for_signal(sandbox, execution, "threshold")
    status, _ = post(
        f"{page_of(sandbox, execution)}/signals/threshold",
        "action=set&value=1",
        {"Origin": "http://evil.example"},
    )
    assert status == 403
    execution.terminate("test done")


def test_launch_plan_task_and_workflow_pages_show_versions_and_interface(
    sandbox: SandboxThread, remote: FlyteRemote
) -> None:
    base = f"{sandbox.config.console_url()}/projects/{P}/domains/{D}"
    _, listing = get(f"{base}/launch_plan")
    assert "examples.approval" in listing and "examples.greet" in listing
    lp = remote.fetch_launch_plan(name="examples.greet")
    status, html = get(f"{base}/launch_plan/examples.greet/version/{lp.id.version}")
    assert status == 200 and f"<code id='version'>{lp.id.version}</code>" in html
    assert "<th>name</th><td><code>str</code></td>" in html and "default <q>world</q>" in html
    _, tasks = get(f"{base}/task")
    task_name = re.findall(r'/task/([^"]+)"', tasks)[0]
    status, html = get(f"{base}/task/{task_name}")
    assert status == 200 and "<h2>Inputs</h2>" in html and "id='versions'" in html
    status, _ = get(f"{base}/workflow/examples.arith")
    assert status == 200
    status, html = get(f"{base}/task/no.such.task")
    assert status == 404 and "no task named" in html


def test_flytekit_task_logs_files_and_dynamic_children(sandbox: SandboxThread) -> None:
    pytest.importorskip("flytekit")
    import uuid

    from flytekit.configuration import Config as FkConfig
    from flytekit.configuration import ImageConfig, SerializationSettings
    from flytekit.remote import FlyteRemote as FkRemote

    from tests.console import flyte_code

    fk = FkRemote(FkConfig.for_endpoint(sandbox.endpoint, insecure=True), default_project=P, default_domain=D)
    version = "c" + uuid.uuid4().hex[:10]
    settings = SerializationSettings(
        image_config=ImageConfig.auto_default_image(), project=P, domain=D, version=version
    )
    wf = fk.register_workflow(flyte_code.console_wf, serialization_settings=settings, version=version)
    execution = fk.execute(wf, inputs={"n": 2})
    fk.wait(execution, timeout=__import__("datetime").timedelta(seconds=180))
    _, html = get(page_of(sandbox, execution))
    assert "SUCCEEDED" in html
    assert flyte_code.LOG_LINE in html  # stdout of the task process, inline
    link = re.search(r'<a href="([^"]+)" class="download">report.txt</a>', html)
    assert link is not None, "the FlyteFile output is a download link"
    status, body = get(link.group(1).replace("&amp;", "&"))
    assert status == 200 and body == "report 2\n"
    # the dynamic node's children are listed under it
    assert html.count("↳ ") >= 2
    # a map task's items are listed under its attempt
    from tests.sandbox.flyte_code import mapping

    mapped = fk.execute(
        fk.register_workflow(mapping.map_wf, serialization_settings=settings, version=version),
        inputs={"xs": [1, 2, 3], "y": 1},
    )
    fk.wait(mapped, timeout=__import__("datetime").timedelta(seconds=180))
    _, html = get(page_of(sandbox, mapped))
    items = html.split("<summary>map task items</summary>")[1].split("</ul>")[0]
    assert items.count("<li>") == 3 and items.count("SUCCEEDED") == 3


def test_auth_on_needs_credentials(fresh_sandbox: Any) -> None:
    secured = fresh_sandbox(auth=AuthSettings(enabled=True, client_secret="s3cret"))
    url = secured.config.console_url()
    status, _ = get(url)
    assert status == 401
    good = base64.b64encode(b"flyte-sandbox-client:s3cret").decode()
    bad = base64.b64encode(b"flyte-sandbox-client:wrong").decode()
    assert get(url, {"Authorization": f"Basic {bad}"})[0] == 401
    assert get(url, {"Authorization": f"Basic {good}"})[0] == 200
    token, _ = secured.sandbox.tokens.issue("someone")
    assert get(url, {"Authorization": f"Bearer {token}"})[0] == 200
