"""The page's tests of test_browser.py again, through production's edge: the page from the web
image's nginx on one origin, calling the real Envoy running envoy/envoy.yaml on another (CORS),
signed in with a token the person pastes."""

from __future__ import annotations

import pytest

from tests.e2e.test_browser import *  # noqa: F403 (the same tests, fixtures and marks)


@pytest.fixture(scope="module", name="edge")
def production_edge() -> str:
    return "envoy"
