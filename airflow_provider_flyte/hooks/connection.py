"""Read an Airflow ``flyte`` connection into validated client settings (pure: no Airflow, grpc or flyteidl).

Fields: Host (``host``, ``grpc://host``, ``grpcs://host``, ``dns:///host``, with optional ``:port``), Port,
Schema (``grpc`` = plaintext, ``grpcs``/``dns`` = TLS), Login (OAuth2 client id), Password (client secret or static
token), and the extras of :data:`airflow_provider_flyte.get_provider_info.CONN_FIELDS`. Every problem is reported
as :class:`FlyteConnectionError` naming the connection, the field and the fix, before anything is contacted.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_provider_flyte.get_provider_info import CONN_FIELDS, CONN_TYPE

_TRUE = frozenset({"true", "1", "yes", "on", "y", "t"})
_FALSE = frozenset({"false", "0", "no", "off", "n", "f", ""})
_AUTH_MODES: dict[str, str] = {
    "none": "none",
    "": "none",
    "client_credentials": "client_credentials",
    "clientcredentials": "client_credentials",
    "clientsecret": "client_credentials",
    "client_secret": "client_credentials",
    "basic": "client_credentials",
    "static": "static",
    "token": "static",
    "bearer": "static",
    "api_key": "static",
    "apikey": "static",
    "external_command": "external_command",
    "externalcommand": "external_command",
    "external_process": "external_command",
}
_INTERACTIVE = frozenset({"pkce", "standard", "deviceflow", "device_flow"})
_SCHEMES = {"grpc": False, "grpcs": True, "dns": True, "http": False, "https": True}
#: extras accepted besides CONN_FIELDS (Airflow 2 widget-prefixed names are accepted too)
_SECRET_EXTRAS = frozenset({"client_secret", "secret", "token", "password", "client_credentials_secret"})


class FlyteConnectionError(ValueError):
    """The Airflow connection for Flyte is incomplete or contradictory; the message names the field and the fix."""


@dataclass(frozen=True)
class FlyteConnectionSettings:
    """A validated ``flyte`` connection. Secrets are kept out of ``repr``."""

    conn_id: str
    endpoint: str
    insecure: bool = False
    insecure_skip_verify: bool = False
    ca_cert_file_path: str | None = None
    auth_mode: str = "none"
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    command: tuple[str, ...] | None = None
    scopes: tuple[str, ...] = ()
    audience: str | None = None
    project: str | None = None
    domain: str | None = None
    console_url: str | None = None
    data_upload_location: str | None = None
    http_proxy: str | None = None

    def platform_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :class:`airflow_provider_flyte.remote.config.PlatformConfig`."""
        return {
            "endpoint": self.endpoint,
            "insecure": self.insecure,
            "insecure_skip_verify": self.insecure_skip_verify,
            "ca_cert_file_path": self.ca_cert_file_path,
            "console_endpoint": self.console_url,
            "http_proxy_url": self.http_proxy,
            "auth_mode": self.auth_mode,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "token": self.token,
            "command": self.command,
            "scopes": self.scopes,
            "audience": self.audience,
        }


def _err(conn_id: str, message: str) -> FlyteConnectionError:
    return FlyteConnectionError(f"Flyte connection {conn_id!r}: {message}")


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _bool(conn_id: str, name: str, value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _err(conn_id, f"extra {name!r} must be true or false, got {value!r}")


def parse_extra(conn_id: str, extra: str | Mapping[str, Any] | None) -> dict[str, Any]:
    """The connection's Extra as a dict: raw JSON text is parsed here (Airflow's ``extra_dejson`` drops invalid
    JSON silently, which would turn TLS on and lose the project/domain), and anything but a JSON object is refused."""
    if extra is None:
        return {}
    if isinstance(extra, str):
        if not extra.strip():
            return {}
        try:
            extra = json.loads(extra)
        except ValueError as exc:
            raise _err(
                conn_id, f"Extra is not valid JSON ({exc}); write a JSON object such as {{\"insecure\": true}}"
            ) from None
    if not isinstance(extra, Mapping):
        raise _err(
            conn_id,
            f"Extra must be a JSON object of extra names to values, got a {type(extra).__name__}: {extra!r}",
        )
    return dict(extra)


def _normalize_extras(conn_id: str, extra: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    prefix = f"extra__{CONN_TYPE}__"
    for raw_key, value in extra.items():
        key = raw_key[len(prefix) :] if raw_key.startswith(prefix) else raw_key
        if key in _SECRET_EXTRAS:
            raise _err(
                conn_id,
                f"extra {raw_key!r} holds a secret in plain text: put the client secret or token in the "
                "connection's Password field instead (it is encrypted and masked in logs)",
            )
        if key not in CONN_FIELDS:
            known = ", ".join(sorted(CONN_FIELDS))
            raise _err(conn_id, f"unknown extra {raw_key!r}; the known extras are: {known}")
        out[key] = _clean(value)
    return out


def _split_host(conn_id: str, host: str) -> tuple[str | None, str, int | None]:
    """``[scheme://]host[:port][/]`` -> (scheme, host, port)."""
    scheme: str | None = None
    rest = host
    if "://" in host:
        scheme, _, rest = host.partition("://")
        scheme = scheme.lower()
        if scheme not in _SCHEMES:
            raise _err(conn_id, f"host {host!r} has scheme {scheme!r}; use grpc://, grpcs://, dns:/// or no scheme")
    rest = rest.strip("/")
    if "/" in rest:
        raise _err(conn_id, f"host {host!r} has a path; give only the FlyteAdmin host (and port)")
    port: int | None = None
    name = rest
    if rest.count(":") == 1:
        name, _, port_text = rest.partition(":")
        if not port_text.isdigit():
            raise _err(conn_id, f"host {host!r} has an invalid port {port_text!r}; use host:port with a number")
        port = int(port_text)
    if not name:
        raise _err(conn_id, f"host {host!r} names no host; set Host to the FlyteAdmin address, e.g. flyte.example.com")
    return scheme, name, port


def _ca_cert_path(conn_id: str, value: str) -> str:
    if "-----BEGIN" in value:
        if "CERTIFICATE-----" not in value:
            raise _err(conn_id, "extra 'ca_cert' looks like PEM but holds no CERTIFICATE block")
        digest = hashlib.sha256(value.encode()).hexdigest()[:16]
        path = Path(tempfile.gettempdir()) / f"airflow-flyte-ca-{digest}.pem"
        if not path.exists():
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(value if value.endswith("\n") else value + "\n")
            os.replace(tmp, path)
        return str(path)
    if not Path(value).is_file():
        raise _err(conn_id, f"extra 'ca_cert' is neither PEM text nor an existing file: {value!r}")
    return value


def _command(conn_id: str, value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value)
    text = str(value)
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except ValueError as exc:
            raise _err(conn_id, f"extra 'command' starts with '[' but is not a JSON list: {exc}") from exc
        if not isinstance(parsed, list) or not all(isinstance(v, str) for v in parsed):
            raise _err(conn_id, "extra 'command' must be a JSON list of strings or shell words")
        return tuple(parsed)
    try:
        return tuple(shlex.split(text))
    except ValueError as exc:
        raise _err(conn_id, f"extra 'command' is not valid shell words: {exc}") from exc


def parse_connection(
    conn_id: str,
    *,
    conn_type: str | None,
    host: str | None,
    port: int | str | None = None,
    schema: str | None = None,
    login: str | None = None,
    password: str | None = None,
    extra: str | Mapping[str, Any] | None = None,
) -> FlyteConnectionSettings:
    """Validate the fields of an Airflow connection and return the client settings."""
    if conn_type and conn_type.replace("-", "_").lower() != CONN_TYPE:
        raise _err(conn_id, f"has connection type {conn_type!r}; set it to {CONN_TYPE!r}")
    extras = _normalize_extras(conn_id, parse_extra(conn_id, extra))
    host = _clean(host)
    if not host:
        raise _err(conn_id, "Host is empty; set it to the FlyteAdmin address, e.g. flyte.example.com (port in Port)")
    host_scheme, hostname, host_port = _split_host(conn_id, host)
    schema = _clean(schema)
    scheme_field = schema.lower() if schema else None
    if scheme_field is not None and scheme_field not in ("grpc", "grpcs", "dns"):
        raise _err(conn_id, f"Schema {schema!r} is not a scheme; use grpc (plaintext), grpcs (TLS) or dns, or leave it empty")
    if host_scheme and scheme_field and _SCHEMES[host_scheme] != _SCHEMES[scheme_field]:
        raise _err(conn_id, f"Host scheme {host_scheme!r} contradicts Schema {schema!r}; keep only one")
    scheme = scheme_field or host_scheme

    insecure_given = extras.get("insecure")
    insecure = _bool(conn_id, "insecure", insecure_given)
    skip_verify = _bool(conn_id, "insecure_skip_verify", extras.get("insecure_skip_verify"))
    if scheme is not None:
        plaintext = not _SCHEMES[scheme]
        if insecure_given is not None and insecure != plaintext:
            raise _err(
                conn_id,
                f"scheme {scheme!r} means {'plaintext' if plaintext else 'TLS'} but extra insecure={insecure}; "
                "drop one of them",
            )
        insecure = plaintext
    ca_cert = extras.get("ca_cert")
    if insecure and (skip_verify or ca_cert):
        raise _err(
            conn_id,
            "insecure=true (plaintext) cannot be combined with insecure_skip_verify or ca_cert; "
            "set insecure=false to use TLS, or drop the TLS extras",
        )
    if skip_verify and ca_cert:
        raise _err(conn_id, "insecure_skip_verify=true ignores ca_cert; keep only one of them")

    if port is not None and str(port).strip() != "":
        try:
            port_num: int | None = int(str(port).strip())
        except ValueError:
            raise _err(conn_id, f"Port {port!r} is not a number") from None
        if host_port is not None and host_port != port_num:
            raise _err(conn_id, f"Host says port {host_port} but Port says {port_num}; keep only one")
    else:
        port_num = host_port
    if port_num is None:
        port_num = 30080 if insecure else 443
    if not 0 < port_num < 65536:
        raise _err(conn_id, f"Port {port_num} is out of range 1..65535")

    client_id = extras.get("client_id") or _clean(login)
    if extras.get("client_id") and _clean(login) and extras["client_id"] != _clean(login):
        raise _err(conn_id, "Login and extra 'client_id' differ; keep the client id in only one of them")
    secret = password if password else None
    command = _command(conn_id, extras.get("command"))
    mode_raw = extras.get("auth_mode")
    if mode_raw is None:
        mode = (
            "client_credentials" if secret and client_id
            else "static" if secret
            else "external_command" if command
            else "none"
        )
    else:
        key = str(mode_raw).strip().lower()
        if key in _INTERACTIVE:
            raise _err(
                conn_id,
                f"auth_mode {mode_raw!r} needs a browser or a person and cannot run in Airflow; use "
                "client_credentials (client id in Login, secret in Password), static or external_command",
            )
        if key not in _AUTH_MODES:
            raise _err(conn_id, f"unknown auth_mode {mode_raw!r}; use none, client_credentials, static or external_command")
        mode = _AUTH_MODES[key]
    if mode == "client_credentials":
        if not client_id:
            raise _err(conn_id, "auth_mode client_credentials needs the client id in Login (or extra 'client_id')")
        if not secret:
            raise _err(conn_id, "auth_mode client_credentials needs the client secret in the Password field")
    elif mode == "static":
        if not secret:
            raise _err(conn_id, "auth_mode static needs the token in the Password field")
    elif mode == "external_command":
        if not command:
            raise _err(conn_id, "auth_mode external_command needs extra 'command' (the program that prints a token)")
    elif secret:
        raise _err(
            conn_id,
            "a Password is set but auth_mode is none; set auth_mode to client_credentials or static, or clear Password",
        )

    scopes_raw = extras.get("scopes")
    scopes = tuple(s for s in str(scopes_raw).replace(",", " ").split() if s) if scopes_raw else ()
    console_url = extras.get("console_url")
    if console_url and not str(console_url).startswith(("http://", "https://")):
        raise _err(conn_id, f"extra 'console_url' must start with http:// or https://, got {console_url!r}")
    proxy = extras.get("http_proxy")
    if proxy and "://" not in str(proxy):
        raise _err(conn_id, f"extra 'http_proxy' must be a URL such as http://proxy:3128, got {proxy!r}")
    for name in ("project", "domain"):
        value = extras.get(name)
        if value is not None and not isinstance(value, str):
            raise _err(conn_id, f"extra {name!r} must be a string, got {value!r}")

    return FlyteConnectionSettings(
        conn_id=conn_id,
        endpoint=f"{hostname}:{port_num}",
        insecure=insecure,
        insecure_skip_verify=skip_verify,
        ca_cert_file_path=_ca_cert_path(conn_id, str(ca_cert)) if ca_cert else None,
        auth_mode=mode,
        client_id=client_id if mode == "client_credentials" else None,
        client_secret=secret if mode == "client_credentials" else None,
        token=secret if mode == "static" else None,
        command=command if mode == "external_command" else None,
        scopes=scopes,
        audience=extras.get("audience"),
        project=extras.get("project"),
        domain=extras.get("domain"),
        console_url=str(console_url).rstrip("/") if console_url else None,
        data_upload_location=extras.get("data_upload_location"),
        http_proxy=proxy,
    )
