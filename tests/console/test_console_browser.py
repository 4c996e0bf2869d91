"""The console in headless Chromium: the executions list, an execution page with its nodes, approving a gate with
the page's button and watching the execution complete (the page refreshes itself). Screenshots of each step are
saved under ``test-artifacts/console/``."""

from __future__ import annotations

from airflow_provider_flyte.remote import FlyteRemote
from airflow_provider_flyte.sandbox.testing import SandboxThread
from tests.console.browser import chromium
from tests.console.test_console_pages import D, P, page_of, remote, sandbox, wait_phase  # noqa: F401 (fixtures)


def test_approve_a_gate_in_the_browser(sandbox: SandboxThread, remote: FlyteRemote) -> None:  # noqa: F811
    execution = remote.execute(remote.fetch_launch_plan(name="examples.approval"), inputs={"x": 4})
    with chromium("console") as browser:
        driver = browser.driver
        driver.get(f"{sandbox.config.console_url()}/projects/{P}/domains/{D}/executions")
        row = browser.wait(
            lambda: browser.css(f'tr[data-name="{execution.id.name}"]'), "the execution in the list"
        )
        browser.screenshot("executions-list")
        row.find_element("css selector", "a").click()
        browser.wait(lambda: driver.current_url == page_of(sandbox, execution), "the execution page")
        assert execution.id.name in browser.text("h1")
        approve = browser.wait(lambda: browser.css("form.gate button.approve"), "the gate's Approve button")
        assert browser.css('tr.node[data-node="n0"]').get_attribute("data-phase") == "SUCCEEDED"
        browser.screenshot("execution-waiting-at-gate")
        approve.click()
        browser.wait(lambda: "review approved" in browser.text("#notice"), "the approval notice")
        browser.wait(
            lambda: browser.text("#phase") == "SUCCEEDED", "the execution to succeed (auto-refresh)", 90
        )
        assert "17" in browser.text("#outputs")
        browser.screenshot("execution-succeeded")
    assert wait_phase(remote, execution, {"SUCCEEDED"}).outputs.to_dict()["result"] == 17
