"""What orka knows of a method before it runs it: one descriptor per method folder, plain data.

Everything else that differs by method (the cluster plan's masters, the
preflight of its files, the report's colour and effort) reads it from here,
so a method is one folder: orka/methods/<name>/.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Master:
    """A machine a method needs beside the nodes (its master, its control node)."""

    name: str  # the machine's name on the cluster, as the spike's hand commands use it
    role: str
    host_part: int  # its address in the cluster's /24


@dataclass(frozen=True)
class Descriptor:
    name: str
    summary: str  # one line: the method, as the pytest marker and the report describe it
    order: int  # where it stands among the methods (the report's rows, the default selection)
    color: str  # the report's colour
    method_class: str  # "module:Class" of its Method, imported only when it runs
    masters: tuple[Master, ...] = ()
    # The method's tools run on its nodes too (an agent), so nodes get the tools' image.
    agent_on_nodes: bool = False
    # Its desired state's files under a spike folder, for the report's effort table.
    effort_patterns: tuple[str, ...] = ()
    # "module:function" taking the settings, returning the problems of the method's files (before boot).
    preflight: str = ""
