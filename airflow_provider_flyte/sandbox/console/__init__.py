"""A small read-mostly web console served by the sandbox's HTTP endpoint under ``/console`` (server-rendered HTML,
Flyte console's URL layout): executions, their nodes, logs, data and gates, launch plans, workflows and tasks."""

from airflow_provider_flyte.sandbox.console.app import Console, Response, is_console_path

__all__ = ["Console", "Response", "is_console_path"]
