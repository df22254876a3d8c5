"""User-facing errors.

Every problem a user can cause (bad file, bad flag, unsupported model) raises :class:`RoutesigError`
with a one-line message that names the problem and the fix. The CLI prints it without a traceback.
"""

from __future__ import annotations


class RoutesigError(Exception):
    """A problem with the user's input or environment, explained in one line."""

    def __init__(self, message: str) -> None:
        message = " ".join(str(message).split())  # always one line
        super().__init__(message)
