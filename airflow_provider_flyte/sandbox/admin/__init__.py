"""The sandbox's flyteadmin: AdminService and SignalService on SQLite, event ingestion, child launches."""

from airflow_provider_flyte.sandbox.admin.core import AdminCore, EngineFactory

__all__ = ["AdminCore", "EngineFactory"]
