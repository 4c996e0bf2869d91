"""The "Flyte Execution" extra link: the console page of the task's execution, read from XCom.

The operators push the URL (XCom key ``flyte_execution_url``) before waiting or deferring, so the link works
while the task is deferred, and for every map index of a mapped task.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_flyte._compat import BaseOperatorLink, XCom

XCOM_EXECUTION_URL = "flyte_execution_url"
#: set on the operator object by the try that runs it (``ExecutionWaiter.begin_try``, then the pushed URL): the
#: worker builds the links from that object after the try, and reads nothing that this try did not push
PUSHED_URL_ATTR = "_flyte_execution_url_pushed"


class FlyteExecutionLink(BaseOperatorLink):  # type: ignore[misc]
    """Link to the Flyte console page of the execution started (or watched) by the task."""

    name = "Flyte Execution"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        """The console URL pushed by the task, or an empty string when there is none (yet)."""
        pushed = getattr(operator, "__dict__", {}).get(PUSHED_URL_ATTR)
        if isinstance(pushed, str):  # on the worker, after this try: no XCom read (nothing pushed: no link)
            return pushed
        url = XCom.get_value(key=XCOM_EXECUTION_URL, ti_key=ti_key)
        return url if isinstance(url, str) else ""
