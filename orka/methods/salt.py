"""SaltStack, agent-based: run on orka-master with the spike's own commands.

    salt '*' test.ping
    salt '*' state.apply
    salt-run state.orchestrate orch.secondary

Each with `--out=json`, parsed into one outcome per node.
"""

from __future__ import annotations

import json
from typing import Any

from orka.methods.base import Method
from orka.results import HostOutcome, PhaseResult

MASTER = "orka-master"
# How long the salt CLI waits for a minion that does not answer at all;
# minions that answer but are still busy are waited for (salt's find_job).
PING_TIMEOUT_S = 10
STATE_TIMEOUT_S = 30
NO_RETURN = "Minion did not return"


def _loads(stdout: str) -> dict[str, Any]:
    """Salt's JSON object; log lines around it (`[WARNING ] ...`) are skipped."""
    decoder = json.JSONDecoder()
    for line_start in (i for i, c in enumerate(stdout) if c == "{" and (i == 0 or stdout[i - 1] == "\n")):
        try:
            data, _ = decoder.raw_decode(stdout, line_start)
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict):
            return data
    raise ValueError("no JSON object in salt's output")


def parse_ping(stdout: str, nodes: list[str]) -> tuple[HostOutcome, ...]:
    answers = _loads(stdout) if stdout.strip() else {}
    outcomes = []
    for node in nodes:
        answer = answers.get(node)
        if answer is True:
            outcomes.append(HostOutcome(node, ok=True))
        else:
            why = f"{NO_RETURN} [No response]" if answer is None else str(answer)
            outcomes.append(HostOutcome(node, ok=False, failed=1, detail=why))
    extra = sorted(set(answers) - set(nodes))
    outcomes += [HostOutcome(m, ok=False, failed=1, detail="answered but is not a node of this cluster") for m in extra]
    return tuple(outcomes)


def _state_name(key: str, state: dict[str, Any]) -> str:
    # Keys look like "file_|-node_conf_|-/etc/orka/node.conf_|-managed".
    parts = key.split("_|-")
    return str(state.get("__id__") or (parts[1] if len(parts) > 1 else key))


def outcome_from_states(node: str, ret: Any, changes_fail: bool) -> HostOutcome:
    """One minion's state.apply return: count failures and changes, name them."""
    if ret is None:
        return HostOutcome(node, ok=False, failed=1, detail=f"{NO_RETURN} [No response]")
    if not isinstance(ret, dict):
        # A render error or an exception comes back as a list of strings or a string.
        text = "; ".join(map(str, ret)) if isinstance(ret, list) else str(ret)
        return HostOutcome(node, ok=False, failed=1, detail=text)
    failed = [(k, s) for k, s in ret.items() if isinstance(s, dict) and s.get("result") is False]
    changed = [(k, s) for k, s in ret.items() if isinstance(s, dict) and s.get("changes")]
    ok = not failed and (not changes_fail or not changed)
    detail = ""
    if failed:
        detail = "failed: " + "; ".join(f"{_state_name(k, s)}: {s.get('comment', '')}" for k, s in failed)
    elif changed:
        detail = "changed: " + ", ".join(sorted(_state_name(k, s) for k, s in changed))
    return HostOutcome(node, ok=ok, changed=len(changed), failed=len(failed), detail=detail)


def parse_apply(stdout: str, nodes: list[str], changes_fail: bool) -> tuple[HostOutcome, ...]:
    returns = _loads(stdout) if stdout.strip() else {}
    return tuple(outcome_from_states(node, returns.get(node), changes_fail) for node in nodes)


def _clock_seconds(stamp: str) -> float:
    """Salt's start_time 'HH:MM:SS.ffffff' as seconds since midnight."""
    hours, minutes, seconds = stamp.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def parse_orchestrate(
    stdout: str, nodes: list[str]
) -> tuple[tuple[HostOutcome, ...], tuple[tuple[str, float, float], ...], str]:
    """Per-node outcomes, the steps in the order they ran (step, start, end), and any error."""
    data = _loads(stdout)
    runs = data.get("data", data) if isinstance(data, dict) else data
    if not isinstance(runs, dict) or not runs:
        return (), (), f"unexpected orchestrate output: {str(data)[:300]}"
    steps = next(iter(runs.values()))
    if not isinstance(steps, dict):
        return (), (), "; ".join(map(str, steps)) if isinstance(steps, list) else str(steps)
    order = []
    per_node: dict[str, HostOutcome] = {}
    errors = []
    for key, step in sorted(steps.items(), key=lambda kv: kv[1].get("__run_num__", 0)):
        name = _state_name(key, step)
        if "start_time" in step:
            start = _clock_seconds(step["start_time"])
            order.append((name, start, start + float(step.get("duration", 0)) / 1000))
        if step.get("result") is not True:
            errors.append(f"step {name}: {step.get('comment', '')}".strip())
        returns = (step.get("changes") or {}).get("ret") or {}
        for node, ret in returns.items():
            per_node[node] = outcome_from_states(node, ret, changes_fail=False)

    # A step that changed nothing carries no per-minion returns: its nodes are
    # fine when every step succeeded, and were never reached when one failed.
    def unreported(node: str) -> HostOutcome:
        if errors:
            return HostOutcome(node, ok=False, failed=1, detail="not run: an earlier step failed")
        return HostOutcome(node, ok=True)

    outcomes = tuple(per_node.get(n) or unreported(n) for n in nodes)
    return outcomes, tuple(order), "; ".join(errors)


class SaltMethod(Method):
    name = "salt"
    tuning = (
        "salt-master and minions from the wheelhouse; keys made on the host and pre-seeded (no key exchange); "
        "minions retry their master every second (acceptance_wait_time 1); bytecode compiled at install"
    )

    def version(self) -> str:
        stdout, _, _, _ = self.run_on(MASTER, "salt --version")
        return stdout.strip()

    def ready_probe(self) -> PhaseResult:
        # A short CLI timeout: a minion still signing in is asked again soon.
        return self.ping(cli_timeout_s=2)

    def ping(self, cli_timeout_s: int = PING_TIMEOUT_S) -> PhaseResult:
        stdout, stderr, rc, took = self.run_on(
            MASTER, f"salt '*' test.ping --out=json --static --timeout={cli_timeout_s}"
        )
        try:
            hosts = parse_ping(stdout, self.node_names)
        except ValueError as exc:
            return PhaseResult(self.name, "ping", (), took, raw=stdout + stderr, error=f"{exc} (exit {rc})")
        return PhaseResult(self.name, "ping", hosts, took, raw=stdout + stderr)

    def apply(self, phase: str = "apply") -> PhaseResult:
        stdout, stderr, rc, took = self.run_on(
            MASTER, f"salt '*' state.apply --out=json --static --timeout={STATE_TIMEOUT_S}"
        )
        try:
            hosts = parse_apply(stdout, self.node_names, changes_fail=phase == "idempotence")
        except ValueError as exc:
            return PhaseResult(self.name, phase, (), took, raw=stdout + stderr, error=f"{exc} (exit {rc})")
        return PhaseResult(self.name, phase, hosts, took, raw=stdout + stderr)

    def orchestrate(self) -> PhaseResult:
        stdout, stderr, rc, took = self.run_on(MASTER, "salt-run state.orchestrate orch.secondary --out=json")
        try:
            hosts, order, error = parse_orchestrate(stdout, self.node_names)
        except ValueError as exc:
            hosts, order, error = (), (), f"{exc} (exit {rc})"
        return PhaseResult(self.name, "orchestrate", hosts, took, raw=stdout + stderr, error=error, order=order)
