"""orka's own task runner: the bridge between a build server and the servers.

A library of its own: it takes an inventory (hosts, users, keys) and a task
file, and knows nothing of pytest, Vagrant or orka's clusters.

    from orka.runner import load_inventory, load_taskfile, run_taskfile
    report = run_taskfile(load_inventory(path), load_taskfile(tasks), check=False)
"""

from orka.runner.executor import HostRun, RunReport, TaskResult, run_taskfile
from orka.runner.inventory import Host, Inventory, InventoryError, load_inventory
from orka.runner.taskfile import TaskFile, TaskFileError, load_taskfile, parse_taskfile

__all__ = [
    "Host",
    "HostRun",
    "Inventory",
    "InventoryError",
    "RunReport",
    "TaskFile",
    "TaskFileError",
    "TaskResult",
    "load_inventory",
    "load_taskfile",
    "parse_taskfile",
    "run_taskfile",
]
