"""Answering a kernel's input requests in the app (filled in by the input work of issue 8)."""

from __future__ import annotations

from typing import Any


def install_input_prompts(app: Any) -> None:
    """Let the human answer `input()` and `getpass` requests of the kernel; nothing yet."""
