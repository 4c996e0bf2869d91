"""flytekit's configuration and option objects converted at the edge (no server needed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_flyte.remote import Config, Options
from airflow_provider_flyte.remote.errors import FlyteConfigError

pytest.importorskip("flytekit")


def test_flytekit_config_with_auth_type_enums() -> None:
    from flytekit.configuration import AuthType, DataConfig, S3Config
    from flytekit.configuration import Config as FkConfig
    from flytekit.configuration import PlatformConfig as FkPlatformConfig

    default = Config.coerce(FkConfig.for_endpoint("flyte.example.com:443"))
    assert default.platform.endpoint == "flyte.example.com:443" and not default.platform.insecure
    assert default.platform.auth_mode == "none"  # flytekit's STANDARD: a login flow only on demand
    secret = FkPlatformConfig(
        endpoint="flyte.example.com:443",
        auth_mode=AuthType.CLIENTSECRET,
        client_id="me",
        client_credentials_secret="s3cret",
        scopes=["all"],
        command=["print-token"],
    )
    converted = Config.coerce(FkConfig(platform=secret, data_config=DataConfig(s3=S3Config(endpoint="http://m:9000", access_key_id="k", secret_access_key="s"))))
    platform = converted.platform
    assert (platform.auth_mode, platform.client_id, platform.client_secret) == ("client_credentials", "me", "s3cret")
    assert platform.scopes == ("all",) and platform.command == ("print-token",)
    assert "s3cret" not in repr(platform)
    assert converted.storage_options == {"s3": {"key": "k", "secret": "s", "client_kwargs": {"endpoint_url": "http://m:9000"}}}
    assert Config.coerce(FkPlatformConfig(endpoint="h:1", insecure=True, auth_mode="Pkce")).platform.auth_mode == "none"
    with pytest.raises(FlyteConfigError, match="client_id and client_secret"):
        Config.coerce(FkPlatformConfig(endpoint="h:1", auth_mode=AuthType.CLIENT_CREDENTIALS))
    with pytest.raises(FlyteConfigError, match="Config or PlatformConfig"):
        Config.coerce(object())


def test_flytekit_options_models() -> None:
    from flytekit import Annotations, Labels
    from flytekit import Options as FkOptions
    from flytekit.models.common import RawOutputDataConfig
    from flytekit.models.security import Identity, SecurityContext

    fk = FkOptions(
        labels=Labels({"a": "b"}),
        annotations=Annotations({"c": "d"}),
        raw_output_data_config=RawOutputDataConfig("s3://bucket/raw"),
        security_context=SecurityContext(run_as=Identity(k8s_service_account="sa")),
        max_parallelism=4,
        overwrite_cache=True,
    )
    ours = Options.coerce(fk)
    assert ours is not None
    assert (ours.labels, ours.annotations, ours.raw_output_data_config) == ({"a": "b"}, {"c": "d"}, "s3://bucket/raw")
    assert ours.security_context.run_as.k8s_service_account == "sa"
    assert (ours.max_parallelism, ours.overwrite_cache) == (4, True)
    assert Options.coerce(ours) is ours and Options.coerce(None) is None
    with pytest.raises(TypeError, match="Options"):
        Options.coerce({"labels": {}})


def test_our_objects_never_import_flytekit() -> None:
    code = (
        "import sys\nfrom airflow_provider_flyte.remote import Config, Options\n"
        "Config.coerce(Config.for_endpoint('h:1', insecure=True)); Options.coerce(Options(labels={'a': 'b'}))\n"
        "print(any(m.startswith('flytekit') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "False"


def test_file_values_download_like_flytekits(tmp_path: Any) -> None:
    from airflow_provider_flyte.remote.codec.files import FlyteDirectory, FlyteFile

    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "a.txt").write_text("A")
    (tmp_path / "d" / "sub" / "b.txt").write_text("B")
    local = FlyteFile(str(tmp_path / "d" / "a.txt"))
    assert local.download() == str(tmp_path / "d" / "a.txt")  # already local: the path itself
    copied = FlyteFile((tmp_path / "d" / "a.txt").as_uri()).download()
    assert copied != local.path and Path(copied).read_text() == "A" and copied.endswith("a.txt")
    folder = FlyteDirectory((tmp_path / "d").as_uri()).download()
    assert (Path(folder) / "sub" / "b.txt").read_text() == "B"
