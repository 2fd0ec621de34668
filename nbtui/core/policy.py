"""What agents may do: the access mode (read, edit, run) and the human's approval of runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

AccessMode = Literal["read", "edit", "run"]
READ: AccessMode = "read"
EDIT: AccessMode = "edit"
RUN: AccessMode = "run"
ACCESS_MODES = (READ, EDIT, RUN)
_RANK = {READ: 0, EDIT: 1, RUN: 2}

Approver = Callable[[str, str, str], Awaitable[bool]]
"""Asks the human: (agent name, tool, code) -> approved?"""


class AccessDenied(Exception):
    """The session's access mode or the human does not allow this; one sentence."""


@dataclass
class AgentPolicy:
    """The session's rules for agents; the TUI may change them at any time.

    Attributes:
        access: read (no changes, no runs), edit (changes but no runs) or run (everything).
        approver: when set, every agent execution waits for the human's yes or no.
    """

    access: AccessMode = RUN
    approver: Approver | None = None

    def check(self, needed: AccessMode, what: str) -> None:
        """Refuse `what` unless the access mode allows `needed`.

        Raises:
            AccessDenied: the mode is lower than needed.
        """
        if _RANK[self.access] < _RANK[needed]:
            allowed = {READ: "only read the notebook", EDIT: "edit cells but not run code"}
            raise AccessDenied(
                f"{what} is not allowed: the user has set agent access to {self.access}, so "
                f"agents may {allowed[self.access]}."
            )

    async def approve(self, author: str, tool: str, code: str) -> None:
        """Wait for the human's approval of an execution, if approval is on.

        Raises:
            AccessDenied: the human declined.
        """
        if self.approver is None:
            return
        if not await self.approver(author, tool, code):
            raise AccessDenied(f"The user declined {tool}; ask them, or try something else.")

    def describe(self) -> dict[str, object]:
        """The policy as agents see it in get_notebook."""
        return {"mode": self.access, "approval": self.approver is not None}
