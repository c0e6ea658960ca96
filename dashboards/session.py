"""The signed-in user of a Panel session: their profile, the replica narrowed to its scope,
and the audit log of what they open and export (:mod:`dashboards.access`)."""

from __future__ import annotations

from typing import Any

import panel as pn

from dashboards.access import Profile, gate


def profile() -> Profile | None:
    """The session's profile; ``None``: the signed-in user has none (no access). Without
    sign-in configured, the single local user's (:data:`dashboards.access.LOCAL`)."""
    return gate().profile(pn.state.user, pn.state.user_info)


def user() -> str | None:
    """The signed-in user's name as the audit log writes it."""
    identity = gate().identity(pn.state.user, pn.state.user_info)
    return identity.name if identity else None


def record(event: str, **fields: Any) -> None:
    """One audit line for this session's user (nothing without sign-in configured: the
    product then serves one person on their own machine)."""
    if not gate().settings.enabled:
        return
    found = profile()
    gate().audit(event, utilisateur=user(), profil=found.key if found else None, **fields)
