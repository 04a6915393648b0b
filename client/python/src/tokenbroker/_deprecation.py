"""Deprecated names of the public modules, resolved with a warning (PEP 562)."""

from __future__ import annotations

import warnings
from typing import Any, Callable


def aliases(namespace: dict[str, Any], old_to_new: dict[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` that answers each old name with the new one's object.

    Accessing an old name warns `DeprecationWarning` naming the new one; any other unknown
    name raises `AttributeError` as usual.
    """
    module = namespace["__name__"]

    def __getattr__(name: str) -> Any:
        new = old_to_new.get(name)
        if new is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        warnings.warn(
            f"tokenbroker: {name} is deprecated; use {new}", DeprecationWarning, stacklevel=2
        )
        return namespace[new]

    return __getattr__
