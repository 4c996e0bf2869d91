"""Headless Chromium (Debian's ``chromium`` + ``chromium-driver``) driven by Selenium, for the browser tests.

No browser is downloaded: the system's ``chromium`` and ``chromedriver`` are used, and a missing one fails the test
with the install command (CI installs them in ``.ci/run``). Screenshots go to ``test-artifacts/<name>/`` in the
repository (gitignored); the directory is printed.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
INSTALL_HINT = "install them with: apt-get install -y chromium chromium-driver"


def _require(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"the browser tests need Debian's {name!r} on PATH; {INSTALL_HINT}")
    return path


@contextmanager
def chromium(name: str) -> Iterator[Browser]:
    """A headless Chromium session whose screenshots are saved under ``test-artifacts/<name>/``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = _require("chromium")
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=_require("chromedriver")), options=options)
    driver.set_page_load_timeout(60)
    directory = ARTIFACTS / name
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    print(f"browser screenshots: {directory}")
    browser = Browser(driver, directory)
    try:
        yield browser
    except BaseException:
        browser.screenshot("failure")
        raise
    finally:
        driver.quit()


class Browser:
    def __init__(self, driver: Any, directory: Path) -> None:
        self.driver = driver
        self.directory = directory
        self._count = 0

    def screenshot(self, step: str) -> Path:
        self._count += 1
        path = self.directory / f"{self._count:02d}-{step}.png"
        self.driver.save_screenshot(str(path))
        return path

    def wait(self, predicate: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
        """Poll ``predicate`` (exceptions count as not yet) until it returns something truthy."""
        deadline = time.monotonic() + timeout
        last: BaseException | None = None
        while time.monotonic() < deadline:
            try:
                value = predicate()
            except Exception as exc:  # the page is reloading, the element is not there yet, ...
                last = exc
            else:
                if value:
                    return value
            time.sleep(0.25)
        self.screenshot("timeout")
        raise TimeoutError(
            f"waited {timeout} s for {what}; last error: {last!r}; url: {self.driver.current_url}"
        )

    def css(self, selector: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def text(self, selector: str) -> str:
        return str(self.css(selector).text)
