"""Errors a user can cause. The CLI prints each on one line and exits with status 2.

Every message says what was wrong and what to do about it; a traceback is a bug.
"""

from __future__ import annotations


class FragilityError(Exception):
    """Base class: something the user can fix (a path, an argument, a file)."""


class DataError(FragilityError):
    """A dataset is missing, unknown or malformed."""


class CheckpointError(FragilityError):
    """A checkpoint folder is missing, corrupt or does not match its spec."""


class ConfigError(FragilityError):
    """An argument or configuration value is out of range or inconsistent."""


class InputError(FragilityError):
    """Images handed to an analysis break the contract (float, NCHW, values in [0, 1])."""


class FragilityWarning(UserWarning):
    """Something the user should know that does not stop the work (a damaged cache entry that is
    retrained, say). The CLI prints each on one line."""
