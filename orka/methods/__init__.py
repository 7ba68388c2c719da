"""Orchestration methods, each an adapter with the same verbs and result type."""

from __future__ import annotations

import importlib

from orka.errors import OrkaError
from orka.methods.base import ClusterView, Method

# Imported only when asked for, so one method's tooling never burdens another's.
REGISTRY = {
    "salt": "orka.methods.salt.SaltMethod",
    "ansible": "orka.methods.ansible.AnsibleMethod",
    "custom": "orka.methods.custom.CustomMethod",
}


def load_method(name: str) -> type[Method]:
    try:
        module_name, class_name = REGISTRY[name].rsplit(".", 1)
    except KeyError:
        raise OrkaError(f"unknown method {name!r}; known: {', '.join(REGISTRY)}") from None
    cls: type[Method] = getattr(importlib.import_module(module_name), class_name)
    return cls


__all__ = ["REGISTRY", "ClusterView", "Method", "load_method"]
