"""Ansible, agentless over SSH: run on ansible-master with the spike's own commands.

    ansible all -m ping
    ansible-playbook /opt/orka/ansible/config/playbook.yml
    ansible-playbook /opt/orka/ansible/config/orchestrate.yml

Each with orka's JSON stdout callback, parsed into one outcome per node.
"""

from __future__ import annotations

import json
import shlex
import time
from typing import Any

import yaml

from orka.methods.ansible import CONFIG, DESCRIPTOR, vault
from orka.methods.ansible.nolog import no_log_variables
from orka.methods.base import MachineUnreachable, Method, MethodError
from orka.plan import layout
from orka.results.record import Change, HostOutcome, PhaseResult
from orka.secrets import MIN_LENGTH, leaves

CONTROL = DESCRIPTOR.masters[0].name
# orka's callback, for orka's runs only: the hand commands keep Ansible's usual output.
JSON_OUTPUT = (
    "env ANSIBLE_STDOUT_CALLBACK=orka_json ANSIBLE_LOAD_CALLBACK_PLUGINS=1 ANSIBLE_NOCOLOR=1 "
    f"ANSIBLE_CALLBACK_PLUGINS={layout.remote_method_dir(DESCRIPTOR.name)}/callback_plugins"
)
FAILURES = ("failed", "unreachable")
# The SSH connect timeout of the spike's ansible.cfg: what a node that is down costs.
CONNECT_TIMEOUT_S = 10


def connect_timeout_option(command_timeout_s: int) -> str:
    """`--timeout N` when the command timeout from settings is too short for ansible.cfg's
    connect timeout (a quarter of it at most), so a node that is down is given up on, and
    the others reported, before the command is stopped; else nothing: ansible.cfg's applies."""
    share = max(1, command_timeout_s // 4)
    return f"--timeout {share}" if share < CONNECT_TIMEOUT_S else ""


def last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1].strip() if lines else ""


def _loads(stdout: str) -> dict[str, Any]:
    """The callback's one JSON document: the last line that parses."""
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{"):
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(data, dict) and "plays" in data:
                return data
    raise ValueError("no orka_json output from ansible")


def host_results(data: dict[str, Any]) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """(task name, result) for every host, in the order the tasks ran."""
    per_host: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for play in data["plays"]:
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                per_host.setdefault(host, []).append((task["name"], result))
    return per_host


def outcome_from_tasks(
    node: str, tasks: list[tuple[str, dict[str, Any]]], changes_fail: bool, dry_run: bool = False
) -> HostOutcome:
    if not tasks:
        return HostOutcome(node, ok=False, failed=1, detail="no result: not in the inventory, or never reached")
    failed = [(name, r) for name, r in tasks if r["status"] in FAILURES]
    changed = [name for name, r in tasks if r["changed"]]
    detail = ""
    if failed:
        detail = "; ".join(": ".join(part for part in (name, r["status"], r["msg"]) if part) for name, r in failed)
    elif changed:
        detail = ("would change: " if dry_run else "changed: ") + ", ".join(changed)
    ok = not failed and (not changes_fail or not changed)
    items = tuple(_changes(tasks)) if dry_run else ()
    return HostOutcome(node, ok=ok, changed=len(changed), failed=len(failed), detail=detail, items=items)


def _changes(tasks: list[tuple[str, dict[str, Any]]]) -> list[Change]:
    """A check-mode run's items: each task that would change or failed, once per target it names
    (orka_json's `targets`: the result's path, dest or name, a diff's header, else the task's arguments)."""
    changes = []
    for name, result in tasks:
        failed = result["status"] in (*FAILURES, "ignored")  # ignored: a failure the play let pass
        if not result["changed"] and not failed:
            continue
        said = f"{result['status']}: {result['msg']}" if failed else "would change"
        targets = [t for t in result.get("targets", []) if isinstance(t, str)] or [""]
        changes += [Change(target, f"{name}: {said}") for target in targets]
    return changes


def parse_ping(stdout: str, nodes: list[str]) -> tuple[HostOutcome, ...]:
    per_host = host_results(_loads(stdout))
    outcomes = []
    for node in nodes:
        results = [r for _, r in per_host.get(node, [])]
        if results and results[-1]["status"] == "ok" and results[-1].get("ping") == "pong":
            outcomes.append(HostOutcome(node, ok=True))
        else:
            why = f"{results[-1]['status']}: {results[-1]['msg']}" if results else "no answer"
            outcomes.append(HostOutcome(node, ok=False, failed=1, detail=why))
    extra = sorted(set(per_host) - set(nodes))
    outcomes += [HostOutcome(h, ok=False, failed=1, detail="answered but is not a node of this cluster") for h in extra]
    return tuple(outcomes)


def parse_playbook(stdout: str, nodes: list[str], changes_fail: bool, dry_run: bool = False) -> tuple[HostOutcome, ...]:
    """Each node's outcome of a playbook run (of `--check`: the tasks that would change, as changed)."""
    per_host = host_results(_loads(stdout))
    return tuple(outcome_from_tasks(node, per_host.get(node, []), changes_fail, dry_run) for node in nodes)


def play_names(playbook: str) -> tuple[str, ...]:
    """The plays of a playbook as Ansible names them: their name, else their hosts."""
    plays = yaml.safe_load(playbook) or []
    if not isinstance(plays, list):
        raise MethodError("the orchestration playbook is not a list of plays")
    names = []
    for play in plays:
        if isinstance(play, dict) and ("hosts" in play or "name" in play):
            hosts = play.get("hosts", "")
            names.append(str(play.get("name") or (",".join(hosts) if isinstance(hosts, list) else hosts)))
    return tuple(names)


def parse_order(stdout: str) -> tuple[tuple[str, float, float], ...]:
    """Each play as (name, first host start, last host end), in the order the plays ran."""
    order = []
    for play in _loads(stdout)["plays"]:
        spans = [(r["start"] or task["start"], r["end"]) for task in play["tasks"] for r in task["hosts"].values()]
        if spans:
            order.append((play["name"], min(s for s, _ in spans), max(e for _, e in spans)))
    return tuple(order)


class AnsibleMethod(Method):
    name = "ansible"
    tool = "ansible"
    # ansible-core's task queue manager: 2 hosts failed, 4 hosts unreachable, 8 a play stopped by a failure.
    host_failure_codes = frozenset({2, 4, 8})
    tuning = "pipelining; SSH ControlMaster with ControlPersist 60s; forks 100; gather_subset min"

    def version(self) -> str:
        result = self.cluster.run(CONTROL, "ansible --version | head -1")
        return str(result.stdout).strip()

    def _phase(self, phase: str, command: str, changes_fail: bool = False) -> PhaseResult:
        start = time.monotonic()
        bounded = " ".join(part for part in (command, connect_timeout_option(self.timeout_s)) if part)
        try:
            # A task that never ends fails on its node (ansible's task timeout), the others go on.
            step = f"ANSIBLE_TASK_TIMEOUT={self.step_timeout_s}"
            stdout, stderr, rc, took = self.run_on(CONTROL, f"{JSON_OUTPUT} {step} {bounded}")
        except MachineUnreachable as exc:
            error = f"Ansible control node {CONTROL} is unreachable: {exc.why}"
            return PhaseResult(self.name, phase, (), time.monotonic() - start, error=error)
        raw = stdout + stderr
        cut_off = self.cut_off("ansible", rc)
        try:
            if phase == "ping":
                hosts = parse_ping(stdout, self.node_names)
            else:
                hosts = parse_playbook(stdout, self.node_names, changes_fail, dry_run=phase == "check")
            order = parse_order(stdout) if phase == "orchestrate" else ()
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            error = cut_off or f"{exc} (exit {rc})"
            return PhaseResult(self.name, phase, (), took, raw=raw, error=error, exit_code=rc)
        return PhaseResult(self.name, phase, hosts, took, raw=raw, error=cut_off, order=order, exit_code=rc)

    def ping(self) -> PhaseResult:
        return self._phase("ping", "ansible all -m ping")

    def apply(self, phase: str = "apply") -> PhaseResult:
        playbook = f"{CONFIG}/{DESCRIPTOR.entry}"
        return self._phase(phase, f"ansible-playbook {playbook}", changes_fail=phase == "idempotence")

    def dry_run(self) -> PhaseResult:
        return self._phase("check", f"ansible-playbook --check --diff {CONFIG}/{DESCRIPTOR.entry}")

    def orchestrate(self) -> PhaseResult:
        return self._phase("orchestrate", f"ansible-playbook {CONFIG}/{self.orchestration}")

    def secrets(self) -> list[tuple[str, Any]]:
        """The declared variables, as Ansible templates them for each node, and everything ansible-vault
        holds: the variables encrypted in place, and each encrypted file's values (those too short to
        redact left out: a vault file holds user names beside passwords)."""
        if self.scenario is None:
            return []
        folder = self.scenario.folder(self.name)
        encrypted = vault.encrypted_in(folder)
        found: list[tuple[str, Any]] = []
        names = tuple(dict.fromkeys([*self.secret_names(), *encrypted.variables]))
        hidden = tuple(name for name in no_log_variables(folder) if name not in names)
        if names or hidden:
            found += self._variables(names, hidden)
        for file in encrypted.files:
            stdout, stderr, rc, _ = self.run_on(CONTROL, f"ansible-vault view {CONFIG}/{file}")
            if rc != 0:  # never stdout in a message: it holds the secrets
                raise MethodError(f"ansible-vault cannot open {file} on {CONTROL}: {last_line(stderr)}")
            try:
                held: Any = yaml.safe_load(stdout)
            except yaml.YAMLError:
                held = stdout  # a file the copy module decrypts, not vars: its text is the secret
            found += [(f"{file}:{name}", value) for name, value in leaves("vault", held) if len(value) >= MIN_LENGTH]
        return found

    def _variables(self, names: tuple[str, ...], hidden: tuple[str, ...] = ()) -> list[tuple[str, Any]]:
        """Each variable's values as Ansible gives them to the nodes (one ad-hoc run, nothing run on them);
        a named one must have a value, a no_log task's may not (a loop's item, a registered result)."""
        listed = ", ".join([*names, *(f"{name} | default(none)" for name in hidden)])
        # --playbook-dir: the group_vars/ and host_vars/ beside the playbooks too, as ansible-playbook reads them.
        message = shlex.quote(f"msg={{{{ [{listed}] | to_json }}}}")
        command = f"ansible nodes -o --playbook-dir {CONFIG} -m ansible.builtin.debug -a {message}"
        stdout, stderr, rc, _ = self.run_on(CONTROL, command)
        per_host = {}
        for line in stdout.splitlines():
            host, _, rest = line.partition(" | ")
            status, _, document = rest.partition(" => ")
            if document:
                per_host[host] = (status, json.loads(document))
        failed = [(h, r.get("msg", "")) for h, (status, r) in per_host.items() if not status.startswith("SUCCESS")]
        if failed or not per_host:
            why = failed[0][1] if failed else last_line(stderr) or f"no output (exit {rc})"
            raise MethodError(
                f"ansible: the secrets {', '.join((*names, *hidden))} (scenario.yaml's `secrets.ansible`, the vault's "
                "and the no_log tasks' variables) "
                f"cannot be read on {failed[0][0] if failed else CONTROL}: {why}"
            )
        found: list[tuple[str, Any]] = []
        for _, result in per_host.values():
            values = result["msg"]
            given = json.loads(values) if isinstance(values, str) else values
            for name, value in zip((*names, *hidden), given, strict=True):
                # A no_log task's variables include its owners and modes: those too short to redact are left out.
                pairs = (
                    [p for p in leaves(name, value) if len(p[1]) >= MIN_LENGTH] if name in hidden else [(name, value)]
                )
                found += [pair for pair in pairs if value is not None and pair not in found]
        return found

    def declared_steps(self) -> tuple[str, ...]:
        # Read where ansible-playbook reads it: the control node's copy of the folder.
        stdout, stderr, rc, _ = self.run_on(CONTROL, f"cat {CONFIG}/{self.orchestration}")
        if rc != 0:
            raise MethodError(f"cannot read {CONFIG}/{self.orchestration} on {CONTROL}: {stderr.strip()}")
        return play_names(stdout)
