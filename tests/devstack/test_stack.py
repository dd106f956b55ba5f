"""`make run`'s token secret: JWT_SECRET when set, else one made for the stack and kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.stack import StackConfig, dev_token, jwt_secret, plan
from mesh.auth import Authenticator


def test_without_jwt_secret_the_stack_makes_its_own_and_keeps_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JWT_SECRET", raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env
    cfg = StackConfig(root=tmp_path / "var", memory=True)

    secret = jwt_secret(cfg)

    kept = tmp_path / "var" / "jwt-secret"
    assert len(secret) == 64
    assert kept.read_text().strip() == secret
    assert kept.stat().st_mode & 0o777 == 0o600
    assert jwt_secret(cfg) == secret  # the same after a restart: printed tokens stay valid
    _, env = plan(cfg)
    assert env["JWT_SECRET"] == secret  # every service and the worker verify with it
    token = dev_token(cfg)
    assert Authenticator(secret).user_of([("authorization", f"Bearer {token}")]) == "dev-user"


def test_a_configured_jwt_secret_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JWT_SECRET", "s" * 40)
    cfg = StackConfig(root=tmp_path / "var", memory=True)
    assert jwt_secret(cfg) == "s" * 40
    assert not (tmp_path / "var" / "jwt-secret").exists()
