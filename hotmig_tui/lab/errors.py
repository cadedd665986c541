"""The one exception the lab raises: its message says what is missing or wrong, and how to fix it."""

from __future__ import annotations


class LabError(Exception):
    pass
