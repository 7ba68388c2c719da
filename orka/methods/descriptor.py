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
    # The file a scenario's folder for the method must hold: where its desired state starts.
    entry: str = ""
    # "module:function" (the method's folder of a scenario) -> its orchestration's entry point, or None.
    orchestration: str = ""
    # The method's tools run on its nodes too (an agent), so nodes get the tools' image.
    agent_on_nodes: bool = False
    # The name of its tool when the tool is orka's own (its version is orka's).
    own_tool: str = ""
    # Its desired state's files under a spike folder, for the report's effort table.
    effort_patterns: tuple[str, ...] = ()
    # "module:function" (the method's folder of a scenario) -> the problems of its files (before boot).
    preflight: str = ""
    # "module:function" (machine, plan inputs) -> Work: what the method gives a machine and has it run.
    provision: str = ""
    # Systemd units its provisioning installs: on an existing host their failure is orka's, not the team's.
    units: tuple[str, ...] = ()
    # An existing host's nodes keep what an earlier run of the method left: made inert while another runs.
    inert_on_hosts: str = ""
    # What its tool leaves on a node by itself ("kind name" patterns): never a difference from another method.
    own_traces: tuple[str, ...] = ()
    # "module:attribute" -> `orka init`'s files of the method's folder: {relative path: template}.
    skeleton: str = ""
    # Run on its master of an existing fleet at teardown: what of the team's (keys) orka must not leave there.
    teardown_on_hosts: str = ""
