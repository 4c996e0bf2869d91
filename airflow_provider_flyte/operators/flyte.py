"""The Flyte operators, importable from one module (what DAG files and the provider info name).

Importing this module costs ``airflow.sdk`` plus a few small modules of this package: grpc, flyteidl and
flytekit are only imported when a task runs.
"""

from __future__ import annotations

from airflow_provider_flyte.links.flyte import XCOM_EXECUTION_URL, FlyteExecutionLink
from airflow_provider_flyte.operators.backfill import FlyteBackfillOperator
from airflow_provider_flyte.operators.discovery import FlyteListEntitiesOperator
from airflow_provider_flyte.operators.download import FlyteDownloadOutputsOperator
from airflow_provider_flyte.operators.execute import FlyteExecuteOperator
from airflow_provider_flyte.operators.signal import FlyteSignalOperator
from airflow_provider_flyte.operators.waiting import (
    XCOM_EXECUTION_NAME,
    FlyteExecutionFailed,
    FlyteExecutionTimeout,
)

__all__ = [
    "XCOM_EXECUTION_NAME",
    "XCOM_EXECUTION_URL",
    "FlyteBackfillOperator",
    "FlyteDownloadOutputsOperator",
    "FlyteExecuteOperator",
    "FlyteExecutionFailed",
    "FlyteExecutionLink",
    "FlyteExecutionTimeout",
    "FlyteListEntitiesOperator",
    "FlyteSignalOperator",
]
