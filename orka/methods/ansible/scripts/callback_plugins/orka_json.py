"""orka_json: every task result of a run as one JSON document, for orka to parse.

ansible-core ships no JSON stdout callback (that one lives in the ansible.posix
collection), so orka brings this small one; it is enabled only for orka's own
runs (ANSIBLE_STDOUT_CALLBACK=orka_json), never for the hand commands.
"""

from __future__ import annotations

import json
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: orka_json
type: stdout
short_description: one JSON document with every task result, for orka
description:
  - Prints, at the end of a run, plays, tasks and per-host results with their times.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "orka_json"

    def __init__(self) -> None:
        super().__init__()
        self.plays: list[dict] = []
        self.started: dict[tuple[str, str], float] = {}

    def _play(self) -> dict:
        if not self.plays:  # an ad-hoc command has no play start
            self.plays.append({"name": "ad-hoc", "tasks": []})
        return self.plays[-1]

    def v2_playbook_on_play_start(self, play) -> None:
        self.plays.append({"name": play.get_name(), "tasks": []})

    def v2_playbook_on_task_start(self, task, is_conditional) -> None:
        self._play()["tasks"].append({"name": self._name(task), "start": time.time(), "hosts": {}})

    def v2_playbook_on_handler_task_start(self, task) -> None:
        self.v2_playbook_on_task_start(task, False)

    @staticmethod
    def _name(task) -> str:
        # The task's own name, without the "role : " prefix get_name() adds.
        return task.name or task.get_name()

    def v2_runner_on_start(self, host, task) -> None:
        self.started[(host.get_name(), task._uuid)] = time.time()

    def _record(self, result, status: str) -> None:
        play = self._play()
        if not play["tasks"] or play["tasks"][-1]["name"] != self._name(result._task):
            play["tasks"].append({"name": self._name(result._task), "start": time.time(), "hosts": {}})
        host = result._host.get_name()
        data = result._result
        play["tasks"][-1]["hosts"][host] = {
            "status": status,
            "changed": bool(data.get("changed", False)),
            "msg": str(data.get("msg", "") or data.get("stderr", ""))[:2000],
            "start": self.started.pop((host, result._task._uuid), None),
            "end": time.time(),
            "ping": data.get("ping"),
            "targets": self._targets(result),
        }

    @staticmethod
    def _targets(result) -> list:
        """What the task manages, as a dry run's reader looks for it: the paths and names its result gives
        (a file's path or dest, a service's or user's name, a diff's header), else its own arguments."""
        data = result._result
        found = [data.get(key) for key in ("dest", "path", "name")]
        diffs = data.get("diff")
        for diff in diffs if isinstance(diffs, list) else [diffs] if isinstance(diffs, dict) else []:
            found += [diff.get("before_header"), diff.get("after_header")]
        args = getattr(result._task, "args", None) or {}
        found += [args.get(key) for key in ("dest", "path", "name")]
        targets = []
        for value in found:
            if isinstance(value, str) and value and "{{" not in value and value not in targets:
                targets.append(value)
        return targets

    def v2_runner_on_ok(self, result) -> None:
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False) -> None:
        self._record(result, "ignored" if ignore_errors else "failed")

    def v2_runner_on_unreachable(self, result) -> None:
        self._record(result, "unreachable")

    def v2_runner_on_skipped(self, result) -> None:
        self._record(result, "skipped")

    def v2_playbook_on_stats(self, stats) -> None:
        summary = {host: stats.summarize(host) for host in sorted(stats.processed)}
        self._display.display(json.dumps({"plays": self.plays, "stats": summary}))
