"""/v1/sandbox exists only where every study is synthetic: local and sandbox, never production."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from beamit.api.sandbox import sandbox_authenticator
from beamit.errors import NotFound, Unauthenticated
from beamit.settings import load_settings


def settings(environment: str) -> Any:
    return load_settings({"BEAMIT_ENV": environment, "GOOGLE_CLOUD_PROJECT": "acme"})


def test_only_local_and_sandbox_have_the_tools() -> None:
    assert settings("local").sandbox_tools and settings("sandbox").sandbox_tools
    assert not settings("production").sandbox_tools


def test_production_answers_404_before_looking_at_the_credential() -> None:
    request = Request(EnvironBuilder(path="/v1/sandbox/reset", method="POST",
                                     headers={"Authorization": "Bearer bk_live_whatever"}).get_environ())
    production = cast(Any, SimpleNamespace(settings=settings("production"), metadata=None))
    with pytest.raises(NotFound):
        sandbox_authenticator(production, request)
    # In the sandbox the credential is checked as anywhere else (here: none at all).
    anonymous = Request(EnvironBuilder(path="/v1/sandbox/reset", method="POST").get_environ())
    with pytest.raises(Unauthenticated):
        sandbox_authenticator(cast(Any, SimpleNamespace(settings=settings("sandbox"), metadata=None)), anonymous)
