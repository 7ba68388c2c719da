"""The methods orka compares: each a folder here whose __init__ holds its DESCRIPTOR.

Found by looking, so adding a method is adding its folder; a method's code is
imported only when it runs (its descriptor is plain data).
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from typing import Any

from orka.errors import OrkaError
from orka.methods.descriptor import Descriptor


@cache
def descriptors() -> tuple[Descriptor, ...]:
    found = []
    for module in pkgutil.iter_modules(__path__):
        if module.ispkg:
            descriptor = getattr(importlib.import_module(f"{__name__}.{module.name}"), "DESCRIPTOR", None)
            if isinstance(descriptor, Descriptor):
                found.append(descriptor)
    return tuple(sorted(found, key=lambda d: (d.order, d.name)))


def names() -> tuple[str, ...]:
    return tuple(d.name for d in descriptors())


def descriptor(name: str) -> Descriptor:
    for known in descriptors():
        if known.name == name:
            return known
    raise OrkaError(f"unknown method {name!r}; known: {', '.join(names())}")


def imported(path: str) -> Any:
    """The object a descriptor names as "module:attribute"."""
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)
