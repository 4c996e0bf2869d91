"""In headless Chromium against a real ``airflow standalone`` (Airflow 3.3): open a task's "Flyte Execution" extra
link from the Airflow UI, land on the sandbox console's page of that execution, see its nodes, approve its gate from
the page and see the execution (and the Airflow task) complete; then fill and save the Flyte connection form in the
Airflow UI. Screenshots of each step go to ``test-artifacts/airflow-console/`` (see tests/console/browser.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.console.browser import chromium

pytestmark = [pytest.mark.standalone, pytest.mark.timeout(900)]


def test_flyte_execution_link_lands_on_the_console_and_the_gate_is_approved_there(standalone: Any) -> None:
    from selenium.webdriver.common.by import By

    run_id = standalone.trigger("sa_console")
    standalone.wait_state("sa_console", run_id, {"deferred"}, 180)
    name = standalone.xcom("sa_console", run_id, "flyte_execution_name")
    with chromium("airflow-console") as browser:
        driver = browser.driver
        driver.get(f"{standalone.base}/dags/sa_console/runs/{run_id}/tasks/run/details")
        flyte_link = browser.wait(
            lambda: driver.find_element(By.XPATH, "//a[normalize-space()='Flyte Execution']"),
            "the extra link",
            90,
        )
        browser.screenshot("airflow-task-with-flyte-link")
        airflow_window = driver.current_window_handle
        flyte_link.click()
        browser.wait(lambda: len(driver.window_handles) > 1, "the console tab")
        driver.switch_to.window(next(h for h in driver.window_handles if h != airflow_window))
        browser.wait(lambda: name in browser.text("h1"), "the console page of the execution")
        assert driver.current_url.endswith(
            f"/console/projects/flytesnacks/domains/development/executions/{name}"
        )
        console_url = driver.current_url.split("/console/")[0] + "/console"
        assert browser.css('tr.node[data-node="n0"]').get_attribute("data-phase") == "SUCCEEDED"
        approve = browser.wait(lambda: browser.css("form.gate button.approve"), "the gate's Approve button")
        browser.screenshot("console-landed-from-airflow")
        approve.click()
        browser.wait(
            lambda: browser.text("#phase") == "SUCCEEDED", "the execution to succeed (auto-refresh)", 90
        )
        assert "26" in browser.text("#outputs")
        browser.screenshot("console-execution-succeeded")
        ti = standalone.wait_state("sa_console", run_id, {"success", "failed"}, 180)
        assert ti["state"] == "success", standalone.log_tail()
        driver.switch_to.window(airflow_window)
        fill_flyte_connection_form(browser, standalone, console_url)
    saved = standalone.api("GET", "/api/v2/connections/flyte_ui")
    assert (saved["conn_type"], saved["host"], saved["port"]) == ("flyte", "127.0.0.1", 30080)
    extra = json.loads(saved["extra"])
    assert (
        extra["project"] == "flytesnacks" and extra["domain"] == "development" and extra["insecure"] is True
    )
    assert extra["console_url"].endswith("/console")


def fill_flyte_connection_form(browser: Any, standalone: Any, console_url: str) -> None:
    """Admin > Connections > Add Connection, type "flyte", the standard and the Flyte-specific fields, Save."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver = browser.driver

    def field(name: str) -> Any:
        element = driver.find_element(By.NAME, name)
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        return element

    def button(text: str) -> Any:
        return driver.find_element(By.XPATH, f"//button[contains(normalize-space(), '{text}')]")

    driver.get(f"{standalone.base}/connections")
    browser.wait(lambda: button("Add Connection"), "the Add Connection button").click()
    browser.wait(lambda: field("connection_id"), "the connection form").send_keys("flyte_ui")
    kind = driver.find_element(By.CSS_SELECTOR, "input[role='combobox']")
    kind.send_keys("flyte")
    browser.wait(
        lambda: driver.find_element(By.XPATH, "//*[@role='option' and contains(., 'Flyte')]"),
        "the flyte type",
    )
    kind.send_keys(Keys.ENTER)
    browser.wait(lambda: field("host"), "the flyte connection's fields").send_keys("127.0.0.1")
    field("port").send_keys("30080")
    extra_fields = driver.find_element(By.CSS_SELECTOR, "button[id$=':trigger:Extra Fields']")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", extra_fields)
    extra_fields.click()
    browser.wait(lambda: field("element_project").is_displayed(), "the Flyte extra fields")
    field("element_project").send_keys("flytesnacks")
    field("element_domain").send_keys("development")
    field("element_insecure")
    driver.find_element(By.ID, "switch:element_insecure").click()
    field("element_console_url").send_keys(console_url)
    browser.screenshot("airflow-flyte-connection-form")
    save = button("Save")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", save)
    browser.wait(lambda: save.is_enabled(), "the Save button to be enabled")
    save.click()
    browser.wait(
        lambda: "flyte_ui" in driver.find_element(By.TAG_NAME, "body").text, "the saved connection listed"
    )
    browser.screenshot("airflow-connection-saved")
