"""fragility: train the networks of a classic lecture, then show how they fail."""

from fragility.errors import (
    CheckpointError,
    ConfigError,
    DataError,
    FragilityError,
    FragilityWarning,
    InputError,
)

__version__ = "0.1.0"

__all__ = [
    "CheckpointError",
    "ConfigError",
    "DataError",
    "FragilityError",
    "FragilityWarning",
    "InputError",
    "__version__",
]
