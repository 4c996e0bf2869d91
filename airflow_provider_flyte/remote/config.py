"""Client configuration: where Flyte Admin is, how to reach it (TLS, proxy) and how to authenticate.

:class:`PlatformConfig` mirrors flytekit's ``PlatformConfig`` (same field names, plus ``token`` for static bearer
tokens and explicit timeouts/backoff). :meth:`Config.auto` reads the same sources with the same precedence as
flytekit: for every setting the ``FLYTE_<SECTION>_<OPTION>`` environment variable wins, then the config file (a
legacy ini file *or* a flytectl yaml file). Secrets are masked in every ``repr``.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Callable, Mapping
from dataclasses import InitVar, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from airflow_provider_flyte.remote.errors import FlyteConfigError, FlyteMissingDependencyError

#: Canonical auth modes and the flytekit / flyteidl spellings that select them (matched case-insensitively).
AUTH_MODE_ALIASES: dict[str, str] = {
    "none": "none",
    "": "none",
    "client_credentials": "client_credentials",
    "clientsecret": "client_credentials",
    "basic": "client_credentials",
    "static": "static",
    "token": "static",
    "apikey": "static",
    "api_key": "static",
    "external_command": "external_command",
    "externalcommand": "external_command",
    "external_process": "external_command",
}

#: flytekit's interactive flows (a browser login, a device code typed by a person): refused, they cannot run
#: unattended.
INTERACTIVE_AUTH_MODES = frozenset({"standard", "pkce", "deviceflow", "device_flow"})

_SECRET_FIELDS = frozenset({"client_secret", "token"})

SANDBOX_ENDPOINT = "127.0.0.1:30080"


def normalize_auth_mode(mode: str | None) -> str:
    """Map any accepted spelling of an auth mode to ``none``, ``client_credentials``, ``static`` or ``external_command``."""
    key = (mode or "none").strip().lower()
    if key in INTERACTIVE_AUTH_MODES:
        raise FlyteConfigError(
            f"auth_mode {mode!r} is an interactive flow (a browser login or a device code entered by a person) and "
            "cannot run unattended: use 'client_credentials' (client_id + client_secret), 'static' (a bearer token "
            "or API key), 'external_command' (a command that prints a token), or 'none' for a server without auth "
            "(e.g. a local sandbox whose flytectl config says authType: Pkce; set FLYTE_CREDENTIALS_AUTH_MODE=none)"
        )
    if key not in AUTH_MODE_ALIASES:
        known = ", ".join(sorted(k for k in AUTH_MODE_ALIASES if k))
        raise FlyteConfigError(f"unknown auth_mode {mode!r}; use one of: {known}")
    return AUTH_MODE_ALIASES[key]


def _mask(value: Any) -> str:
    return "None" if value is None else "'***'"


@dataclass(frozen=True, repr=False)
class PlatformConfig:
    """How to connect to one Flyte Admin.

    ``endpoint`` is ``host[:port]`` (a leading ``dns:///`` is dropped). ``insecure`` selects a plaintext channel;
    otherwise TLS is verified against the system roots, or ``ca_cert_file_path``, or (``insecure_skip_verify``)
    against the certificate the server presents. ``rpc_timeout`` is the deadline of every RPC in seconds;
    ``rpc_retries`` how often an idempotent RPC is retried on UNAVAILABLE / RESOURCE_EXHAUSTED / DEADLINE_EXCEEDED.
    """

    endpoint: str = "localhost:30080"
    insecure: bool = False
    insecure_skip_verify: bool = False
    ca_cert_file_path: str | None = None
    console_endpoint: str | None = None
    http_proxy_url: str | None = None
    #: ``None`` picks from what is given: client_secret -> client_credentials, token -> static,
    #: command -> external_command, else none
    auth_mode: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    token: str | None = None
    command: tuple[str, ...] | None = None
    #: argv of a program printing a token sent as ``proxy-authorization`` (an authenticating proxy in front of
    #: Flyte Admin), as flytekit's ``proxy_command``; works with every auth mode
    proxy_command: tuple[str, ...] | None = None
    scopes: tuple[str, ...] = ()
    audience: str | None = None
    rpc_retries: int = 3
    rpc_timeout: float | None = 60.0
    retry_initial_backoff: float = 0.05
    retry_max_backoff: float = 4.0
    #: seconds before expiry at which a cached access token is refreshed
    token_refresh_margin: float = 30.0
    #: flytekit's name for ``client_secret`` (accepted as a constructor argument for drop-in use)
    client_credentials_secret: InitVar[str | None] = None

    def __post_init__(self, client_credentials_secret: str | None) -> None:
        if client_credentials_secret is not None and self.client_secret is None:
            object.__setattr__(self, "client_secret", client_credentials_secret)
        endpoint = (self.endpoint or "").strip()
        if endpoint.startswith("dns:///"):
            endpoint = endpoint[len("dns:///") :]
        object.__setattr__(self, "endpoint", endpoint)
        for argv_field in ("command", "proxy_command"):
            value = getattr(self, argv_field)
            if isinstance(value, list | str):
                object.__setattr__(self, argv_field, _as_tuple(value))
        if not isinstance(self.scopes, tuple):
            object.__setattr__(self, "scopes", _as_tuple(self.scopes) or ())
        mode = self.auth_mode
        if mode is None:
            mode = (
                "client_credentials"
                if self.client_secret
                else "static"
                if self.token
                else "external_command"
                if self.command
                else "none"
            )
        object.__setattr__(self, "auth_mode", normalize_auth_mode(mode))
        self.validate()

    def validate(self) -> None:
        """Raise :class:`FlyteConfigError` naming the first problem and its fix."""
        ep = self.endpoint
        if not ep:
            raise FlyteConfigError(
                "endpoint is empty: set it to the Flyte Admin gRPC address, e.g. 'flyte.example.com:443'"
            )
        if "://" in ep or "/" in ep:
            raise FlyteConfigError(
                f"endpoint {ep!r} must be host[:port] without a scheme or path, e.g. 'flyte.example.com:443'"
            )
        host, _, port = ep.rpartition(":")
        if host and not port.isdigit() and not ep.endswith("]"):
            raise FlyteConfigError(
                f"endpoint {ep!r} has an invalid port {port!r}; use host[:port] with a numeric port"
            )
        if self.insecure and (self.insecure_skip_verify or self.ca_cert_file_path):
            raise FlyteConfigError(
                "insecure=True selects a plaintext channel, so insecure_skip_verify / ca_cert_file_path mean nothing: "
                "set insecure=False to use TLS, or drop the TLS settings"
            )
        if self.ca_cert_file_path and not Path(self.ca_cert_file_path).is_file():
            raise FlyteConfigError(
                f"ca_cert_file_path {self.ca_cert_file_path!r} does not exist or is not a file"
            )
        if self.rpc_retries < 0:
            raise FlyteConfigError(f"rpc_retries must be >= 0, got {self.rpc_retries}")
        if self.rpc_timeout is not None and self.rpc_timeout <= 0:
            raise FlyteConfigError(
                f"rpc_timeout must be > 0 seconds (or None for no deadline), got {self.rpc_timeout}"
            )
        mode = self.auth_mode
        if mode == "client_credentials" and not (self.client_id and self.client_secret):
            raise FlyteConfigError(
                "auth_mode 'client_credentials' needs client_id and client_secret "
                "(or FLYTE_CREDENTIALS_CLIENT_ID / FLYTE_CREDENTIALS_CLIENT_SECRET)"
            )
        if mode == "static" and not self.token:
            raise FlyteConfigError("auth_mode 'static' needs token (a bearer token or API key)")
        if mode == "external_command" and not self.command:
            raise FlyteConfigError(
                "auth_mode 'external_command' needs command (argv of a program that prints a token)"
            )

    def __repr__(self) -> str:
        parts = []
        for f in fields(self):
            value = getattr(self, f.name)
            parts.append(f"{f.name}={_mask(value) if f.name in _SECRET_FIELDS else repr(value)}")
        return f"PlatformConfig({', '.join(parts)})"

    __str__ = __repr__

    def with_overrides(self, **changes: Any) -> PlatformConfig:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    @classmethod
    def for_endpoint(cls, endpoint: str, insecure: bool = False, **kwargs: Any) -> PlatformConfig:
        """Config for ``endpoint`` (``host[:port]``); TLS unless ``insecure``."""
        return cls(endpoint=endpoint, insecure=insecure, **kwargs)

    @classmethod
    def for_sandbox(cls, endpoint: str = SANDBOX_ENDPOINT, **kwargs: Any) -> PlatformConfig:
        """Config for a local sandbox: plaintext, no auth; the console is the embedded sandbox's, on its HTTP
        endpoint at the gRPC port + 1 (``flyte-sandbox --port P`` serves HTTP on ``P + 1`` when that is free)."""
        if "console_endpoint" not in kwargs:
            host, _, port = endpoint.rpartition(":")
            if host and port.isdigit():
                kwargs["console_endpoint"] = f"http://{host}:{int(port) + 1}"
        return cls(endpoint=endpoint, insecure=True, **kwargs)

    @classmethod
    def auto(cls, config_file: str | os.PathLike[str] | None = None, **overrides: Any) -> PlatformConfig:
        """Read env vars and the config file with flytekit's precedence; ``overrides`` win over both."""
        kwargs = read_platform_settings(config_file)
        kwargs.update(overrides)
        return cls(**kwargs)


@dataclass(frozen=True)
class Config:
    """Everything the client needs: the platform plus fsspec storage options (by protocol) for downloads."""

    platform: PlatformConfig = field(default_factory=PlatformConfig)
    #: fsspec options per protocol, e.g. ``{"s3": {"key": ..., "secret": ..., "client_kwargs": {...}}}``
    storage_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, hash=False, compare=False)

    @classmethod
    def auto(cls, config_file: str | os.PathLike[str] | None = None, **platform_overrides: Any) -> Config:
        """Config from ``FLYTE_*`` env vars and the flytectl/flytekit config file (see :func:`find_config_file`)."""
        return cls(platform=PlatformConfig.auto(config_file, **platform_overrides))

    @classmethod
    def for_sandbox(cls, endpoint: str = SANDBOX_ENDPOINT, **platform_kwargs: Any) -> Config:
        """Config for a local sandbox at ``127.0.0.1:30080`` (plaintext, no auth)."""
        return cls(platform=PlatformConfig.for_sandbox(endpoint, **platform_kwargs))

    @classmethod
    def for_endpoint(
        cls,
        endpoint: str,
        insecure: bool = False,
        data_config: Any = None,
        config_file: str | os.PathLike[str] | None = None,
        **platform_kwargs: Any,
    ) -> Config:
        """Config for ``endpoint``; keyword arguments are :class:`PlatformConfig` fields. As flytekit's: with
        ``config_file`` its other settings are kept (endpoint and ``insecure`` replaced); ``data_config`` (a
        flytekit ``DataConfig`` or fsspec options by protocol) gives the storage options."""
        if config_file is not None:
            platform = PlatformConfig.auto(config_file, endpoint=endpoint, insecure=insecure, **platform_kwargs)
        else:
            platform = PlatformConfig.for_endpoint(endpoint, insecure, **platform_kwargs)
        return cls(platform=platform, storage_options=storage_options_from(data_config))

    @classmethod
    def coerce(cls, config: Any) -> Config:
        """A :class:`Config` from ours, a :class:`PlatformConfig`, or flytekit's ``Config`` / ``PlatformConfig``
        (recognised by their module, converted without importing flytekit); ``None`` is :meth:`auto`."""
        if config is None:
            return cls.auto()
        if isinstance(config, Config):
            return config
        if isinstance(config, PlatformConfig):
            return cls(platform=config)
        if _from_flytekit(config) and hasattr(config, "platform"):
            return cls(
                platform=_platform_from_flytekit(config.platform),
                storage_options=storage_options_from(getattr(config, "data_config", None)),
            )
        if _from_flytekit(config) and hasattr(config, "endpoint"):
            return cls(platform=_platform_from_flytekit(config))
        raise FlyteConfigError(
            f"config must be a Config or PlatformConfig (ours or flytekit's), got {type(config).__name__}"
        )


# ------------------------------------------------------------------------------------ flytekit's config objects


def _from_flytekit(obj: Any) -> bool:
    return type(obj).__module__.split(".", 1)[0] == "flytekit"


def flytekit_auth_mode(mode: Any, has_secret: bool) -> str:
    """Our auth mode for flytekit's ``auth_mode`` (an ``AuthType`` enum or its string value).

    flytekit's interactive flows (``STANDARD`` is its default, ``PKCE``, ``DEVICEFLOW``) only start when the
    server answers UNAUTHENTICATED; unattended they cannot, so they become ``none`` (a server requiring auth then
    raises :class:`FlyteAuthenticationError`) unless a client secret is configured.
    """
    value = str(getattr(mode, "value", mode) or "none")
    if value.strip().lower() in INTERACTIVE_AUTH_MODES | {"standard"}:
        return "client_credentials" if has_secret else "none"
    return normalize_auth_mode(value)


def _platform_from_flytekit(platform: Any) -> PlatformConfig:
    secret = getattr(platform, "client_credentials_secret", None)
    kwargs: dict[str, Any] = {
        "auth_mode": flytekit_auth_mode(getattr(platform, "auth_mode", None), bool(secret)),
        "client_secret": secret,
    }
    for name in (
        "endpoint",
        "insecure",
        "insecure_skip_verify",
        "ca_cert_file_path",
        "console_endpoint",
        "command",
        "proxy_command",
        "client_id",
        "scopes",
        "audience",
        "rpc_retries",
        "http_proxy_url",
    ):
        value = getattr(platform, name, None)
        if value is not None:
            kwargs[name] = tuple(value) if isinstance(value, list) else value
    return PlatformConfig(**kwargs)


def storage_options_from(data_config: Any) -> dict[str, dict[str, Any]]:
    """fsspec storage options by protocol from a flytekit ``DataConfig`` (S3 endpoint and keys, Azure account),
    or a mapping of them given as they are; ``None`` gives none."""
    if data_config is None:
        return {}
    if isinstance(data_config, Mapping):
        return {str(k): dict(v) for k, v in data_config.items()}
    options: dict[str, dict[str, Any]] = {}
    s3 = getattr(data_config, "s3", None)
    if s3 is not None:
        s3_opts: dict[str, Any] = {}
        if getattr(s3, "access_key_id", None):
            s3_opts["key"] = s3.access_key_id
        if getattr(s3, "secret_access_key", None):
            s3_opts["secret"] = s3.secret_access_key
        if getattr(s3, "endpoint", None):
            s3_opts["client_kwargs"] = {"endpoint_url": s3.endpoint}
        if s3_opts:
            options["s3"] = s3_opts
    azure = getattr(data_config, "azure", None)
    if azure is not None:
        az = {
            key: getattr(azure, attr)
            for key, attr in (
                ("account_name", "account_name"),
                ("account_key", "account_key"),
                ("tenant_id", "tenant_id"),
                ("client_id", "client_id"),
                ("client_secret", "client_secret"),
            )
            if getattr(azure, attr, None)
        }
        if az:
            options["abfs"] = az
    return options


# --------------------------------------------------------------------------------------------- config sources


def _as_tuple(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return tuple(s.strip() for s in value.split(",") if s.strip())
    return tuple(str(v) for v in value)


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("", "false", "0", "off", "no")
    return bool(value)


def _as_str(value: Any) -> str:
    return str(value)


def _endpoint(value: Any) -> str:
    return str(value).replace("dns:///", "")


@dataclass(frozen=True)
class _Entry:
    """One setting: its ``PlatformConfig`` field, ini section/option (=> env var) and flytectl yaml path."""

    field: str
    section: str
    option: str
    yaml: str | None
    convert: Callable[[Any], Any] = _as_str

    @property
    def env(self) -> str:
        return f"FLYTE_{self.section.upper()}_{self.option.upper()}"


_ENTRIES: tuple[_Entry, ...] = (
    _Entry("endpoint", "platform", "url", "admin.endpoint", _endpoint),
    _Entry("insecure", "platform", "insecure", "admin.insecure", _as_bool),
    _Entry("insecure_skip_verify", "platform", "insecure_skip_verify", "admin.insecureSkipVerify", _as_bool),
    _Entry("ca_cert_file_path", "platform", "ca_cert_file_path", "admin.caCertFilePath"),
    _Entry("console_endpoint", "platform", "console_endpoint", "console.endpoint"),
    _Entry("http_proxy_url", "platform", "http_proxy_url", "admin.httpProxyURL"),
    _Entry("command", "credentials", "command", "admin.command", _as_tuple),
    _Entry("proxy_command", "credentials", "proxy_command", "admin.proxyCommand", _as_tuple),
    _Entry("client_id", "credentials", "client_id", "admin.clientId"),
    _Entry("client_secret", "credentials", "client_secret", None),
    _Entry("token", "credentials", "token", None),
    _Entry("scopes", "credentials", "scopes", "admin.scopes", _as_tuple),
    _Entry("auth_mode", "credentials", "auth_mode", "admin.authType"),
    _Entry("audience", "credentials", "audience", "admin.audience"),
)
_SECRET_LOCATION = _Entry("", "credentials", "client_secret_location", "admin.clientSecretLocation")
_SECRET_ENV_VAR = _Entry("", "credentials", "client_secret_env_var", "admin.clientSecretEnvVar")


def find_config_file(config_file: str | os.PathLike[str] | None = None) -> Path | None:
    """The config file flytekit would use: the argument, ``$_FLYTECTL_CONFIG_PYFLYTE_OVERRIDE`` or
    ``$FLYTECTL_CONFIG``, ``./flytekit.config``, ``~/.flyte/config``, ``~/.flyte/config.yaml`` (first that exists)."""
    if config_file is not None:
        path = Path(config_file)
        if not path.is_file():
            raise FlyteConfigError(f"config file {str(path)!r} does not exist")
        return path
    from_env = os.environ.get("_FLYTECTL_CONFIG_PYFLYTE_OVERRIDE") or os.environ.get("FLYTECTL_CONFIG")
    candidates = [Path(from_env)] if from_env else []
    candidates += [
        Path("flytekit.config"),
        Path.home() / ".flyte" / "config",
        Path.home() / ".flyte" / "config.yaml",
    ]
    for path in candidates:
        if path.is_file():
            return path
    return None


class _FileSource:
    """A parsed config file: ini (legacy flytekit) or yaml (flytectl), never both."""

    def __init__(self, path: Path | None) -> None:
        self.ini: configparser.ConfigParser | None = None
        self.yaml: Mapping[str, Any] | None = None
        if path is None:
            return
        if path.suffix in (".yaml", ".yml"):
            try:
                import yaml  # type: ignore[import-untyped]
            except ImportError as exc:  # pragma: no cover - PyYAML ships with Airflow
                raise FlyteMissingDependencyError(
                    "reading a flytectl yaml config needs PyYAML: pip install pyyaml"
                ) from exc
            try:
                loaded = yaml.safe_load(path.read_text())
            except yaml.YAMLError as exc:
                raise FlyteConfigError(f"config file {str(path)!r} is not valid yaml: {exc}") from exc
            if loaded is not None and not isinstance(loaded, Mapping):
                raise FlyteConfigError(
                    f"config file {str(path)!r} must hold a yaml mapping (admin: {{endpoint: ...}}), "
                    f"got a {type(loaded).__name__}"
                )
            admin = (loaded or {}).get("admin")
            if admin is not None and not isinstance(admin, Mapping):
                raise FlyteConfigError(
                    f"config file {str(path)!r}: 'admin' must be a mapping of settings such as "
                    f"'endpoint: dns:///flyte.example.com', got a {type(admin).__name__}: {admin!r}"
                )
            self.yaml = loaded or {}
        else:
            parser = configparser.ConfigParser()
            try:
                parser.read(path)
            except configparser.Error as exc:
                raise FlyteConfigError(f"config file {str(path)!r} is not a valid ini file: {exc}") from exc
            self.ini = parser

    def read(self, entry: _Entry) -> Any:
        """The entry's value: env var, else ini (if an ini file was given), else yaml; None when unset."""
        value: Any = os.environ.get(entry.env)
        if value is None:
            if self.ini is not None:
                value = self.ini.get(entry.section, entry.option, fallback=None)
            elif self.yaml is not None and entry.yaml:
                node: Any = self.yaml
                for key in entry.yaml.split("."):
                    node = node.get(key) if isinstance(node, Mapping) else None
                value = node
        if value is None or (not isinstance(value, bool) and value in ("", [], ())):
            return None
        return entry.convert(value)


def read_platform_settings(config_file: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """``PlatformConfig`` keyword arguments from env vars and the config file (flytekit's precedence)."""
    source = _FileSource(find_config_file(config_file))
    kwargs: dict[str, Any] = {}
    for entry in _ENTRIES:
        value = source.read(entry)
        if value is not None:
            kwargs[entry.field] = value
    secret: str | None = None
    location = source.read(_SECRET_LOCATION)
    if location:
        try:
            secret = Path(location).read_text().strip()
        except OSError as exc:
            raise FlyteConfigError(
                f"client secret location {location!r} cannot be read: {exc.strerror}"
            ) from exc
    env_var = source.read(_SECRET_ENV_VAR)
    if env_var and os.environ.get(env_var):
        secret = os.environ[env_var]
    if secret:
        kwargs["client_secret"] = secret
        kwargs["auth_mode"] = "client_credentials"
    return kwargs
