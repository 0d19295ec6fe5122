"""Signed, single-use links from a mail to one task (tokens) and the confirm form (CSRF)."""

from __future__ import annotations

from .csrf import check_csrf_token, make_csrf_token
from .tokens import (
    DEFAULT_TTL,
    IssuedLink,
    LinkCheck,
    LinkRow,
    LinkState,
    check_link,
    hash_token,
    issue_link,
    link_ttl,
    link_url,
    looks_like_token,
    new_token,
    token_matches,
)

__all__ = [
    "DEFAULT_TTL",
    "IssuedLink",
    "LinkCheck",
    "LinkRow",
    "LinkState",
    "check_csrf_token",
    "check_link",
    "hash_token",
    "issue_link",
    "link_ttl",
    "link_url",
    "looks_like_token",
    "make_csrf_token",
    "new_token",
    "token_matches",
]
