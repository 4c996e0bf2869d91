"""Flyte console URLs for executions and entities (same layout as flytekit's ``generate_console_url``)."""

from __future__ import annotations

from typing import Any

from airflow_provider_flyte.remote.config import PlatformConfig

_RESOURCE_PATH = {1: "task", 2: "workflow", 3: "launch_plan"}


def console_base_url(platform: PlatformConfig) -> str:
    """``console_endpoint`` if set, else ``http(s)://<endpoint>`` (http when the channel is insecure)."""
    if platform.console_endpoint:
        base = platform.console_endpoint.rstrip("/")
        if "://" not in base:
            base = ("http://" if platform.insecure else "https://") + base
        return base.removesuffix("/console")
    return ("http://" if platform.insecure else "https://") + platform.endpoint


def execution_url(base: str, execution_id: Any) -> str:
    """URL of a workflow execution (``WorkflowExecutionIdentifier``)."""
    return f"{base}/console/projects/{execution_id.project}/domains/{execution_id.domain}/executions/{execution_id.name}"


def entity_url(base: str, identifier: Any) -> str:
    """URL of a task, workflow or launch plan version (``core.Identifier``)."""
    kind = _RESOURCE_PATH.get(int(identifier.resource_type))
    if kind is None:
        raise ValueError(f"no console page for resource type {identifier.resource_type} of {identifier}")
    return (
        f"{base}/console/projects/{identifier.project}/domains/{identifier.domain}/{kind}/{identifier.name}"
        f"/version/{identifier.version}"
    )
