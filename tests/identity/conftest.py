"""Fixtures of the identity tests (the OpenID Connect ones live in ``oidc_fixtures``)."""

from __future__ import annotations

from oidc_fixtures import key_server, oidc_provider  # noqa: F401
