"""SaltStack, agent-based: run on orka-master with the spike's own commands.

    salt '*' test.ping
    salt '*' state.apply
    salt-run state.orchestrate orch.secondary

Each with `--out=json`, parsed into one outcome per node.
"""

from __future__ import annotations

import json
import re
import shlex
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

from orka.methods.base import MachineUnreachable, Method, MethodError, values_of
from orka.methods.salt import DESCRIPTOR
from orka.results.record import Change, HostOutcome, PhaseResult
from orka.results.verdict import TIMED_OUT

MASTER = DESCRIPTOR.masters[0].name

# How long the salt CLI waits for a minion that does not answer at all (-t);
# minions that answer but are still busy are waited for (salt's find_job),
# each find_job answer within the master's gather_job_timeout (salt's default,
# 10 s: the CLI has no option for it). Both -t are derived from the command
# timeout from settings: see cli_timeout.
PING_TIMEOUT_S = 10
# Where orka sets the gather_job_timeout the salt CLI reads (see SaltMethod.wait_ready).
GATHER_CONF = "/etc/salt/master.d/orka-gather.conf"
READY_GATHER_S = 2  # its value while waiting for the minions to answer
READY_PROBE_S = 2  # the first readiness probe's -t
# A minion that has signed in holds one connection to the master's publish port (4505), where jobs reach it:
# counted from the kernel's table (no ss or netstat needed), a few milliseconds against a salt CLI's second.
CONNECTED_MINIONS = "cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk '$4 == \"01\" && $2 ~ /:1199$/' | wc -l"
CONNECTED_POLL_S = 0.2
NO_RETURN = "Minion did not return"
MASKED = "**********"  # a pillar string as salt 3008 shows it unless unmasked
# What a parser makes of a phase's output: one outcome per node, the steps in order, any error.
Parsed = tuple[tuple[HostOutcome, ...], tuple[tuple[str, float, float], ...], str]
# Said on stderr, at once, when salt-master is not running: salt's CLI would wait its
# own timeouts first and then only say "Salt request timed out".
MASTER_STOPPED = "orka: salt-master is not running"


def cli_timeout(command_timeout_s: int, most_s: int | None = None) -> int:
    """salt's -t for a command that the command timeout from settings will stop.

    A minion that is down costs -t and then the gather_job_timeout (with
    --static, salt first pings every minion: -t for its answer, then the wait
    for its answer to "are you still running it?"). -t is a quarter of the
    command timeout (or most_s, if less), so salt gives up on a silent minion,
    and prints what the others returned, before the command is stopped.
    """
    quarter = max(1, command_timeout_s // 4)
    return quarter if most_s is None else max(1, min(most_s, quarter))


def when_master_runs(command: str) -> str:
    """The command, run only if salt-master is running on the master (else MASTER_STOPPED, at once)."""
    check = f"systemctl is-active --quiet salt-master || {{ echo {shlex.quote(MASTER_STOPPED)} >&2; exit 1; }}"
    return "sh -c " + shlex.quote(f"{check}; exec {command}")


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
            # {} is a minion salt gave up on while waiting (--static prints it so).
            why = f"{NO_RETURN} [No response]" if answer in (None, {}) else str(answer)
            outcomes.append(HostOutcome(node, ok=False, failed=1, detail=why))
    extra = sorted(set(answers) - set(nodes))
    outcomes += [HostOutcome(m, ok=False, failed=1, detail="answered but is not a node of this cluster") for m in extra]
    return tuple(outcomes)


def _state_name(key: str, state: dict[str, Any]) -> str:
    # Keys look like "file_|-node_conf_|-/etc/orka/node.conf_|-managed".
    parts = key.split("_|-")
    return str(state.get("__id__") or (parts[1] if len(parts) > 1 else key))


def _failed_detail(failed: list[tuple[str, dict[str, Any]]]) -> str:
    return "failed: " + "; ".join(f"{_state_name(k, s)}: {s.get('comment', '')}" for k, s in failed)


def outcome_from_states(node: str, ret: Any, changes_fail: bool) -> HostOutcome:
    """One minion's state.apply return: count failures and changes, name them."""
    if ret is None or ret == {}:
        # {} is a minion salt gave up on while waiting (--static prints it so); a
        # state run that did return always holds at least one state.
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
        detail = _failed_detail(failed)
    elif changed:
        detail = "changed: " + ", ".join(sorted(_state_name(k, s) for k, s in changed))
    return HostOutcome(node, ok=ok, changed=len(changed), failed=len(failed), detail=detail)


def outcome_of_dry_run(node: str, ret: Any) -> HostOutcome:
    """One minion's `state.apply test=True` return: a state that would change says result None
    (a service to start has no changes yet), one that would fail says False."""
    if not isinstance(ret, dict) or not ret:
        return outcome_from_states(node, ret, changes_fail=False)
    states = [(k, s) for k, s in ret.items() if isinstance(s, dict)]
    failed = [(k, s) for k, s in states if s.get("result") is False]
    would = [(k, s) for k, s in states if s.get("result") is None or (s.get("result") and s.get("changes"))]
    detail = "would change: " + ", ".join(sorted(_state_name(k, s) for k, s in would)) if would else ""
    if failed:
        detail = _failed_detail(failed)
    items = tuple(change for k, s in sorted(would + failed, key=_run_order) for change in _changes(k, s))
    return HostOutcome(node, ok=not failed, changed=len(would), failed=len(failed), detail=detail, items=items)


def _run_order(state: tuple[str, dict[str, Any]]) -> int:
    number = state[1].get("__run_num__")
    return number if isinstance(number, int) else 0


def _changes(key: str, state: dict[str, Any]) -> list[Change]:
    """A state's items: its name (a path, a service, a user), and the files a recursive state would change."""
    parts = key.split("_|-")
    function = f"{parts[0]}.{parts[-1]}" if len(parts) >= 4 else key
    result = {None: "would change", False: "failed"}.get(state.get("result"), "would change")
    comment = " ".join(str(state.get("comment", "")).split())  # salt wraps its comments over lines
    words = f"{_state_name(key, state)} ({function}): {result}: {comment}"
    changes = state.get("changes")
    files = [k for k in changes if isinstance(k, str) and k.startswith("/")] if isinstance(changes, dict) else []
    name = str(state.get("name", ""))
    return [Change(target, words) for target in dict.fromkeys([name, *files]) if target]


def parse_dry_run(stdout: str, nodes: list[str]) -> tuple[HostOutcome, ...]:
    returns = _loads(stdout) if stdout.strip() else {}
    return tuple(outcome_of_dry_run(node, returns.get(node)) for node in nodes)


def parse_apply(stdout: str, nodes: list[str], changes_fail: bool) -> tuple[HostOutcome, ...]:
    returns = _loads(stdout) if stdout.strip() else {}
    return tuple(outcome_from_states(node, returns.get(node), changes_fail) for node in nodes)


def _clock_seconds(stamp: str) -> float:
    """Salt's start_time 'HH:MM:SS.ffffff' as seconds since midnight."""
    hours, minutes, seconds = stamp.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


DAY_S = 24 * 3600
# What salt.state says of the minions it ran a step on, by how each fared (salt/states/saltmod.py).
_STEP_MINIONS = re.compile(r"(Updating|No changes made to|Run failed on minions:) ([^.]+?)(?:\.|$)")


def step_minions(comment: str) -> dict[str, bool]:
    """The minions a salt.state step's comment names, each with whether it succeeded."""
    named: dict[str, bool] = {}
    for verb, names in _STEP_MINIONS.findall(comment):
        for name in (n.strip() for n in names.split(",")):
            if name:
                named[name] = not verb.startswith("Run failed")
    return named


def parse_orchestrate(stdout: str, nodes: list[str]) -> Parsed:
    """Per-node outcomes, the steps in the order they ran (step, start, end), and any error.

    A node's outcome comes only from what a step reported of it: its state returns when it
    changed or failed, else the step's word that it ran there with no change. A node no step
    reported on fails. Times are Salt's time of day, unwrapped across midnight in run order."""
    data = _loads(stdout)
    runs = data.get("data", data) if isinstance(data, dict) else data
    if not isinstance(runs, dict) or not runs:
        return (), (), f"unexpected orchestrate output: {str(data)[:300]}"
    steps = next(iter(runs.values()))
    if not isinstance(steps, dict):
        return (), (), "; ".join(map(str, steps)) if isinstance(steps, list) else str(steps)
    order: list[tuple[str, float, float]] = []
    per_node: dict[str, HostOutcome] = {}
    errors = []
    day = 0.0
    for key, step in sorted(steps.items(), key=lambda kv: kv[1].get("__run_num__", 0)):
        name = _state_name(key, step)
        if "start_time" in step:
            start = _clock_seconds(step["start_time"]) + day
            if order and start < order[-1][1] - DAY_S / 2:  # the run went past midnight
                day += DAY_S
                start += DAY_S
            order.append((name, start, start + float(step.get("duration", 0)) / 1000))
        if step.get("result") is not True:
            errors.append(f"step {name}: {step.get('comment', '')}".strip())
        returns = (step.get("changes") or {}).get("ret") or {}
        for node, ret in returns.items():
            per_node[node] = outcome_from_states(node, ret, changes_fail=False)
        for node, succeeded in step_minions(str(step.get("comment", ""))).items():
            if node not in returns:
                per_node[node] = HostOutcome(
                    node,
                    ok=succeeded,
                    failed=0 if succeeded else 1,
                    detail="" if succeeded else f"step {name} failed on it",
                )

    def unreported(node: str) -> HostOutcome:
        why = "not run: an earlier step failed" if errors else "no orchestration step reported on this node"
        return HostOutcome(node, ok=False, failed=1, detail=why)

    outcomes = tuple(per_node.get(n) or unreported(n) for n in nodes)
    return outcomes, tuple(order), "; ".join(errors)


def parse_show_sls(stdout: str) -> tuple[str, ...]:
    """The state IDs of `salt-run state.orchestrate_show_sls`, in the order Salt will run them."""
    data = _loads(stdout)
    runs = data.get("data", data)
    high = next(iter(runs.values())) if isinstance(runs, dict) and runs else None
    if not isinstance(high, dict):
        raise ValueError(f"orchestrate_show_sls did not render: {str(high)[:300]}")

    def order(item: tuple[str, Any]) -> float:
        _, body = item
        for args in body.values() if isinstance(body, dict) else ():
            for arg in args if isinstance(args, list) else ():
                if isinstance(arg, dict) and isinstance(arg.get("order"), int | float):
                    return float(arg["order"])
        return float("inf")

    steps = [(k, v) for k, v in high.items() if not k.startswith("__") and isinstance(v, dict)]
    return tuple(k for k, _ in sorted(steps, key=order))


class SaltMethod(Method):
    name = "salt"
    tool = "salt"
    # salt and salt-run exit 1 when a state or a minion failed, 11 when minions returned non-zero retcodes,
    # and 2 when minions did not return (salt/defaults/exitcodes.py).
    host_failure_codes = frozenset({1, 2, 11})
    tuning = (
        "salt-master and minions from the wheelhouse; keys made on the host and pre-seeded (no key exchange); "
        "minions retry their master every second (acceptance_wait_time 1); bytecode compiled at install"
    )

    # State runs on at most this many minions at a time (salt's --batch-size); None: all at once.
    batch_size: int | None = None
    # The readiness probes' state: the minions that answered one, and the next probe's -t.
    _answered: dict[str, HostOutcome]
    _probe_s: int = READY_PROBE_S

    def version(self) -> str:
        stdout, _, _, _ = self.run_on(MASTER, "salt --version")
        return stdout.strip()

    def ready_probe(self) -> PhaseResult:
        """A ping of the minions that have not answered yet, with a short CLI timeout (a minion still signing in
        is asked again soon) that doubles after each probe no minion answered. Each probe is a process on every
        minion it targets: at 50 minions on 2 cores, pinging all of them every 2 s kept the load so high that
        none answered within 2 s, for minutes."""
        missing = [n for n in self.node_names if n not in self._answered]
        result = self.ping(self._probe_s, missing)
        self._answered.update({h.node: h for h in result.hosts if h.ok and h.node in missing})
        if not any(h.ok for h in result.hosts):
            self._probe_s = min(2 * self._probe_s, PING_TIMEOUT_S)
        hosts = tuple(self._answered.get(n) or result.host(n) for n in self.node_names)
        return replace(result, hosts=tuple(h for h in hosts if h is not None))

    def wait_ready(self) -> float:
        # While minions sign in, a probe that misses one waits -t and then gather_job_timeout for it
        # (salt asks a silent minion "are you still running it?"): kept at READY_GATHER_S until every
        # minion answers. With the phases' value below (225 s with settings/scale.yaml) a 10-node
        # cluster took 235 s to be ready instead of seconds.
        start = time.monotonic()
        self._set_gather_job_timeout(READY_GATHER_S)
        self._answered, self._probe_s = {}, READY_PROBE_S
        # A probe sent before every minion has signed in waits out its -t and the gather_job_timeout for the
        # missing ones (4 s or more at 3 nodes); the count of connected minions costs a round trip. Both
        # within the one timeout: a minion that never comes is reported when it has passed, not later.
        self._await_connected_minions(self.timeout_s / 2)
        took = self.probe_until_ready(start)
        # Scale: on 2 cores with 10 or more minions applying at once, a busy minion answers salt's
        # find_job later than salt's default gather_job_timeout (10 s), and salt gives up on every
        # one of them as if down (measured at 10 nodes: all 10 "did not return"). The salt CLI reads
        # gather_job_timeout from the master's config: a quarter of the command timeout, so a minion
        # that is really down still costs less than the command timeout (-t and then this).
        self._set_gather_job_timeout(cli_timeout(self.timeout_s))
        return took

    def _await_connected_minions(self, most_s: float) -> None:
        """Wait, at most most_s, until as many minions are connected to the master as there are nodes. Only a
        shortcut: the probes that follow decide readiness, and say what is missing."""
        start = time.monotonic()
        while time.monotonic() - start < most_s:
            try:
                stdout, _, rc, _ = self.run_on(MASTER, CONNECTED_MINIONS)
            except MachineUnreachable:
                return
            if rc != 0 or not stdout.strip().isdigit() or int(stdout) >= len(self.node_names):
                return
            time.sleep(CONNECTED_POLL_S)

    def _set_gather_job_timeout(self, seconds: int) -> None:
        conf = f"gather_job_timeout: {seconds}"
        self.run_on(MASTER, f"sh -c {shlex.quote(f'echo {shlex.quote(conf)} > {GATHER_CONF}')}")

    def _salt(self, phase: str, command: str, parse: Callable[[str], Parsed]) -> PhaseResult:
        """Run a salt command on the master and parse its output; the master's own failures
        (unreachable, salt-master stopped, the command timeout) are the phase's error."""
        start = time.monotonic()
        try:
            stdout, stderr, rc, took = self.run_on(MASTER, when_master_runs(command))
        except MachineUnreachable as exc:
            error = f"Salt master {MASTER} is unreachable: {exc.why}"
            return PhaseResult(self.name, phase, (), time.monotonic() - start, error=error)
        raw = stdout + stderr
        if MASTER_STOPPED in stderr:
            error = f"Salt master {MASTER} is unreachable: salt-master is not running there"
            return PhaseResult(self.name, phase, (), took, raw=raw, error=error, exit_code=rc)
        cut_off = self.cut_off("salt", rc)
        try:
            hosts, order, error = parse(stdout)
        except ValueError as exc:
            error = cut_off or f"{exc} (exit {rc})"
            return PhaseResult(self.name, phase, (), took, raw=raw, error=error, exit_code=rc)
        error = error or cut_off
        return PhaseResult(self.name, phase, hosts, took, raw=raw, error=error, order=order, exit_code=rc)

    def ping(self, cli_timeout_s: int = PING_TIMEOUT_S, minions: list[str] | None = None) -> PhaseResult:
        """test.ping of every minion, or of these."""
        target = "'*'" if minions is None else f"-L {shlex.quote(','.join(minions))}"
        nodes = self.node_names if minions is None else minions
        command = f"salt {target} test.ping --out=json --static --timeout={cli_timeout(self.timeout_s, cli_timeout_s)}"
        return self._salt("ping", command, lambda out: (parse_ping(out, nodes), (), ""))

    def apply(self, phase: str = "apply") -> PhaseResult:
        hosts = partial(parse_apply, nodes=self.node_names, changes_fail=phase == "idempotence")
        return self._state_run(phase, self._state_apply(), hosts)

    def dry_run(self) -> PhaseResult:
        return self._state_run("check", self._state_apply("test=True"), partial(parse_dry_run, nodes=self.node_names))

    def _state_run(self, phase: str, command: str, hosts: Callable[[str], tuple[HostOutcome, ...]]) -> PhaseResult:
        return self._cut_short(self._salt(phase, command, lambda out: (hosts(out), (), "")), hosts)

    def _cut_short(self, result: PhaseResult, hosts: Callable[[str], tuple[HostOutcome, ...]]) -> PhaseResult:
        """A state run with a minion that did not return, or that the command timeout stopped: salt gives up on
        a minion, or waits for as long as it says it is still running (a step that never ends), and either way
        its job runs on. Each minion still running it fails saying so, and its job is killed there: the run is
        bounded, the others pass, and nothing keeps running after orka gave up. A run the timeout stopped takes
        the others' returns from the master's job cache."""
        timed_out = result.exit_code == TIMED_OUT
        if not timed_out and not any(h.detail.startswith(NO_RETURN) for h in result.hosts):
            return result
        start = time.monotonic()
        active, _, _, _ = self.run_on(MASTER, "salt-run jobs.active --out=json")
        try:
            listed = _loads(active)
        except ValueError:
            listed = {}
        jobs = {
            j: job
            for j, job in listed.items()
            if isinstance(job, dict) and f"{job.get('Function')}".startswith("state.")
        }
        if not jobs:
            return result  # nothing still running: the outcomes stand
        jid = max(jobs)  # ids are timestamps: the newest, orka's own (one state run at a time per cluster)
        running = sorted(name for entry in jobs[jid].get("Running", []) for name in entry)
        if running:
            self.run_on(MASTER, f"salt -L {shlex.quote(','.join(running))} saltutil.kill_job {jid} --out=json")
        raw = result.raw
        found = {h.node: h for h in result.hosts}
        if timed_out:
            returned, _, _, _ = self.run_on(MASTER, f"salt-run jobs.lookup_jid {jid} --out=json")
            raw += f"\n-- job {jid} from the master's job cache --\n{returned}"
            try:
                found = {h.node: h for h in hosts(returned)} if returned.strip() else {}
            except ValueError:
                found = {}
        if timed_out:
            why = f"still running after {self.timeout_s} s (timeouts.command): salt's job {jid} was stopped there"
        else:
            why = f"{NO_RETURN}: still running when salt gave up; its job {jid} was stopped there"
        outcomes = tuple(
            HostOutcome(node, ok=False, failed=1, detail=why) if node in running else found[node]
            for node in self.node_names
            if node in running or node in found
        )
        took = result.duration_s + time.monotonic() - start
        cut = replace(result, hosts=outcomes, duration_s=took, raw=raw)
        # Stopped by the timeout, the run is judged by the minions' returns, not by the CLI it killed.
        return replace(cut, exit_code=None, error="") if timed_out else cut

    def _state_apply(self, *arguments: str) -> str:
        # -t is half the command timeout: a minion busy with its first apply can be too busy to answer
        # find_job at all, so salt's patience is -t plus gather_job_timeout (a quarter, see
        # wait_ready), and it gives up on a minion still applying as if down. Measured at 25 nodes
        # on 2 cores: the first apply returned after 142-182 s; with -t a quarter (75 s) salt gave
        # up at 165 s on 24 of them. A minion really down still costs under the command timeout.
        words = ["salt", "'*'", "state.apply", *arguments, "--out=json", "--static"]
        if self.batch_size:  # --static still prints one JSON object: every batch's returns merged
            words.append(f"--batch-size={self.batch_size}")
        return " ".join([*words, f"--timeout={2 * cli_timeout(self.timeout_s)}"])

    def orchestrate(self) -> PhaseResult:
        # The orchestration's steps wait for their minions as salt's defaults say; the
        # command timeout from settings bounds the whole run.
        command = f"salt-run state.orchestrate {shlex.quote(self.orchestration)} --out=json"
        return self._salt("orchestrate", command, lambda out: parse_orchestrate(out, self.node_names))

    def declared_steps(self) -> tuple[str, ...]:
        # Rendered by the master itself: only it has the pillar the orchestration's Jinja reads.
        entry = shlex.quote(self.orchestration)
        stdout, stderr, rc, _ = self.run_on(MASTER, f"salt-run state.orchestrate_show_sls {entry} --out=json")
        try:
            return parse_show_sls(stdout)
        except ValueError as exc:
            why = f"{exc} {stderr.strip()}"
            raise MethodError(f"salt could not render {self.orchestration} (exit {rc}): {why}") from None

    def secrets(self) -> list[tuple[str, Any]]:
        """Each declared pillar key's values, as the master renders every minion's pillar (its Jinja, its
        renderers) for salt's own `pillar.get`. A value salt itself masks is not taken for the secret."""
        names = self.secret_names()
        if not names:
            return []
        # unmask=True: salt 3008 shows every pillar string as ********** unless asked (its own redaction).
        command = f"salt '*' pillar.items unmask=True --out=json --static --timeout={cli_timeout(self.timeout_s)}"
        stdout, stderr, rc, _ = self.run_on(MASTER, when_master_runs(command))
        try:
            pillars = [p for p in _loads(stdout).values() if isinstance(p, dict)]
        except ValueError:  # never stdout in a message: it holds the secrets
            lines = stderr.strip().splitlines()
            raise MethodError(
                f"salt could not give the minions' pillar (exit {rc}): {lines[-1] if lines else 'no output'}"
            ) from None
        found = [
            {name: v for name in names if (v := pillar_get(pillar, name)) not in (None, MASKED)} for pillar in pillars
        ]
        return values_of(names, found, self.name, "in any minion's pillar; name a key as `pillar.get` does (app:token)")


def pillar_get(pillar: dict[str, Any], key: str) -> Any:
    """A value by its colon-separated key, as salt's pillar.get finds it (None: not there)."""
    value: Any = pillar
    for part in key.split(":"):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value
