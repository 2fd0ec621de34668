"""The user's settings applied to the running app (filled in by the config work of issue 8)."""

from __future__ import annotations

from typing import Any


def apply_settings(app: Any) -> None:
    """Apply the user's config file to a mounted app (theme, key remaps); nothing yet."""
