"""Airflow hooks for Flyte: :class:`FlyteHook` (workers) and :class:`FlyteAsyncHook` (triggers).

Importing this module does not import grpc or flyteidl; the client is built on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_flyte._compat import (
    AirflowNotFoundException,
    BaseHook,
    get_async_connection,
    get_async_extra,
)
from airflow_provider_flyte.get_provider_info import CONN_FIELDS, CONN_TYPE, UI_FIELD_BEHAVIOUR
from airflow_provider_flyte.hooks.connection import (
    FlyteConnectionError,
    FlyteConnectionSettings,
    parse_connection,
)

if TYPE_CHECKING:
    from airflow_provider_flyte.remote.aio import AsyncFlyteRemote
    from airflow_provider_flyte.remote.client import FlyteRemote
    from airflow_provider_flyte.remote.config import Config

DEFAULT_CONN_ID = "flyte_default"


def settings_from_connection(conn: Any, extra: dict[str, Any] | None = None) -> FlyteConnectionSettings:
    """Validate an Airflow ``Connection`` (``extra`` given when already read asynchronously). The raw Extra text
    is parsed when the connection has it, so that invalid JSON or a non-object is reported, not dropped."""
    raw = getattr(conn, "extra", None)
    return parse_connection(
        conn.conn_id,
        conn_type=conn.conn_type,
        host=conn.host,
        port=conn.port,
        schema=conn.schema,
        login=conn.login,
        password=conn.password,
        extra=raw if isinstance(raw, str) else (conn.extra_dejson if extra is None else extra),
    )


def _missing(conn_id: str) -> FlyteConnectionError:
    return FlyteConnectionError(
        f"Flyte connection {conn_id!r} does not exist: create it (Admin > Connections, or the environment variable "
        f"AIRFLOW_CONN_{conn_id.upper()}) or pass the right flyte_conn_id"
    )


def _get_connection(conn_id: str) -> Any:
    """The Airflow connection; a missing one is a :class:`FlyteConnectionError` (a mistake retries cannot fix)."""
    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        raise _missing(conn_id) from None


def client_config(settings: FlyteConnectionSettings) -> Config:
    """The client :class:`~airflow_provider_flyte.remote.config.Config` for validated connection settings."""
    from airflow_provider_flyte.remote.config import Config, PlatformConfig
    from airflow_provider_flyte.remote.errors import FlyteConfigError

    try:
        return Config(platform=PlatformConfig(**settings.platform_kwargs()))
    except FlyteConfigError as exc:
        raise FlyteConnectionError(f"Flyte connection {settings.conn_id!r}: {exc}") from None


def resolve_scope(settings: FlyteConnectionSettings, project: str | None, domain: str | None) -> tuple[str, str]:
    """Project and domain: the given ones, else the connection's defaults; a clear error when neither is set."""
    project = project or settings.project
    domain = domain or settings.domain
    if not project:
        raise FlyteConnectionError(
            f"no Flyte project: pass project=... or set extra 'project' on connection {settings.conn_id!r}"
        )
    if not domain:
        raise FlyteConnectionError(
            f"no Flyte domain: pass domain=... or set extra 'domain' on connection {settings.conn_id!r}"
        )
    return project, domain


def _remote_kwargs(settings: FlyteConnectionSettings) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"default_project": settings.project, "default_domain": settings.domain}
    if settings.data_upload_location:
        kwargs["data_upload_location"] = settings.data_upload_location
    return kwargs


class FlyteHook(BaseHook):  # type: ignore[misc]
    """Connect to Flyte Admin through an Airflow connection of type ``flyte``.

    :param flyte_conn_id: the connection id (default ``flyte_default``); the connection can also come from
        ``AIRFLOW_CONN_FLYTE_DEFAULT``, e.g. ``flyte://127.0.0.1:30080?insecure=true&project=flytesnacks&domain=development``.
    """

    conn_name_attr = "flyte_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = CONN_TYPE
    hook_name = "Flyte"

    def __init__(self, flyte_conn_id: str = DEFAULT_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.flyte_conn_id = flyte_conn_id
        self._settings: FlyteConnectionSettings | None = None
        self._remote: FlyteRemote | None = None

    # ------------------------------------------------------------------ connection form (Airflow 2.x / 3.0-3.1)
    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """wtforms widgets for the extras (Airflow 2.x); built from the provider info's ``conn-fields``."""
        from flask_appbuilder.fieldwidgets import (  # type: ignore[import-not-found,unused-ignore]
            BS3PasswordFieldWidget,
            BS3TextFieldWidget,
        )
        from flask_babel import lazy_gettext  # type: ignore[import-not-found,unused-ignore]
        from wtforms import (  # type: ignore[import-not-found,import-untyped,unused-ignore]
            BooleanField,
            PasswordField,
            StringField,
        )

        widgets: dict[str, Any] = {}
        for name, spec in CONN_FIELDS.items():
            label = lazy_gettext(spec["label"])
            schema = spec["schema"]
            if schema.get("type") == "boolean":
                widgets[name] = BooleanField(label, default=schema.get("default", False))
            elif schema.get("format") == "password":
                widgets[name] = PasswordField(label, widget=BS3PasswordFieldWidget())
            else:
                widgets[name] = StringField(label, widget=BS3TextFieldWidget())
        return widgets

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Relabeling and placeholders for the connection form (Airflow 2.x); same as the provider info."""
        return {
            "hidden_fields": list(UI_FIELD_BEHAVIOUR["hidden-fields"]),
            "relabeling": dict(UI_FIELD_BEHAVIOUR["relabeling"]),
            "placeholders": dict(UI_FIELD_BEHAVIOUR["placeholders"]),
        }

    # ------------------------------------------------------------------ client
    def get_settings(self) -> FlyteConnectionSettings:
        """The validated connection (read once per hook)."""
        if self._settings is None:
            self._settings = settings_from_connection(_get_connection(self.flyte_conn_id))
        return self._settings

    def get_client_config(self) -> Config:
        """The client configuration built from the connection."""
        return client_config(self.get_settings())

    def get_remote(self) -> FlyteRemote:
        """A synchronous :class:`~airflow_provider_flyte.remote.client.FlyteRemote` (created once per hook)."""
        if self._remote is None:
            from airflow_provider_flyte.remote.client import FlyteRemote

            settings = self.get_settings()
            self._remote = FlyteRemote(client_config(settings), **_remote_kwargs(settings))
        return self._remote

    def resolve_scope(self, project: str | None = None, domain: str | None = None) -> tuple[str, str]:
        """``(project, domain)``: the arguments, else the connection's defaults."""
        return resolve_scope(self.get_settings(), project, domain)

    def list_entities(
        self,
        kinds: tuple[str, ...] | list[str] = ("launch_plan", "task"),
        project: str | None = None,
        domain: str | None = None,
        name_prefix: str = "",
    ) -> list[dict[str, Any]]:
        """The registered entities of ``kinds`` (``"launch_plan"``, ``"task"``, ``"workflow"``) at their latest
        versions, JSON-safe: ``{"kind", "project", "domain", "name", "version", "inputs": {name: {"type",
        "required"}}, "outputs": {name: type}}``, by kind then name (like dbt Cloud's ``list_jobs``)."""
        from airflow_provider_flyte.remote.ops.discovery import entity_summary

        project, domain = self.resolve_scope(project, domain)
        remote = self.get_remote()
        return [
            entity_summary(entity)
            for kind in kinds
            for entity in remote.list_latest(kind, project, domain, name_prefix=name_prefix)
        ]

    def copy_outputs(
        self,
        execution_name: str,
        destination: str,
        outputs: list[str] | tuple[str, ...] | None = None,
        project: str | None = None,
        domain: str | None = None,
    ) -> dict[str, Any]:
        """Copy the files, directories and datasets of a SUCCEEDED execution's outputs to the fsspec
        ``destination`` (``<destination>/<output name>/``); returns output name -> destination URI(s)."""
        from airflow_provider_flyte.remote.artifacts import copy_outputs
        from airflow_provider_flyte.remote.errors import FlyteFailedPreconditionError

        project, domain = self.resolve_scope(project, domain)
        remote = self.get_remote()
        execution = remote.fetch_execution(project, domain, execution_name)
        if not execution.is_successful:
            raise FlyteFailedPreconditionError(
                f"Flyte execution {project}/{domain}/{execution_name} is {execution.phase_name}: only the outputs "
                "of a SUCCEEDED execution can be copied"
            )
        return copy_outputs(execution.outputs.literals, destination, remote.config.storage_options, outputs)

    def close(self) -> None:
        """Close the client's channel."""
        remote, self._remote = self._remote, None
        if remote is not None:
            remote.close()

    def test_connection(self) -> tuple[bool, str]:
        """Prove the endpoint and the credentials: one authenticated RPC, plus the default project if set."""
        try:
            settings = self.get_settings()
            remote = self.get_remote()
            version = remote.get_version()
            detail = f"Connected to Flyte Admin {version or ''} at {settings.endpoint}".replace("  ", " ")
            if settings.auth_mode != "none":
                detail += f" (auth: {settings.auth_mode})"
            if settings.project:
                remote.get_project(settings.project)
                detail += f"; project {settings.project!r} exists"
            return True, detail
        except Exception as exc:
            return False, f"{type(exc).__name__}: {exc}"
        finally:
            self.close()


class FlyteAsyncHook:
    """The asyncio counterpart of :class:`FlyteHook`, for triggers: the connection is read without blocking the
    triggerer's event loop and the client is an :class:`~airflow_provider_flyte.remote.aio.AsyncFlyteRemote`."""

    def __init__(self, flyte_conn_id: str = DEFAULT_CONN_ID) -> None:
        self.flyte_conn_id = flyte_conn_id

    async def get_settings(self) -> FlyteConnectionSettings:
        """The validated connection, read asynchronously."""
        try:
            conn = await get_async_connection(self.flyte_conn_id)
        except AirflowNotFoundException:
            raise _missing(self.flyte_conn_id) from None
        if isinstance(getattr(conn, "extra", None), str):
            return settings_from_connection(conn)
        return settings_from_connection(conn, await get_async_extra(conn))

    async def get_remote(self) -> AsyncFlyteRemote:
        """A new asyncio client (the caller closes it with ``await remote.close()``)."""
        from airflow_provider_flyte.remote.aio import AsyncFlyteRemote

        settings = await self.get_settings()
        return AsyncFlyteRemote(client_config(settings), **_remote_kwargs(settings))

