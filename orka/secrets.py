"""The secrets a scenario declares, and their values kept out of everything orka writes.

A scenario names its secrets the way each tool holds them (scenario.yaml's
`secrets:`, an ansible-vault file, a task file's `secrets:`); each method
asks its tool for their values once its cluster is up, and declares them
here. From then on every record, report, progress line, log line and pytest
report passes through `redact` before it is written: each value, and the
forms it takes on the way (JSON and HTML escaped, base64 at any alignment,
each line of a value of several lines), becomes `[secret NAME]`.

One registry per process, as logging has: an xdist worker's values reach the
controller with the worker's output, for the run's last scan.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TextIO, TypeVar

from orka.errors import OrkaError

# A shorter value would blank out ordinary words in every report.
MIN_LENGTH = 6
# A base64 run shorter than this is no evidence of the value (and would redact innocent text).
MIN_BASE64 = 8

T = TypeVar("T")


class SecretError(OrkaError):
    """A declared secret whose value orka cannot keep out of the reports."""


def marker(name: str) -> str:
    """What a secret's value becomes; its name is kept to what a JSON string, HTML and XML take as is."""
    return f"[secret {re.sub(r'[^A-Za-z0-9_.:/-]', '_', name)}]"


def _base64_cores(data: bytes) -> set[str]:
    """The base64 characters that only the value decides, at each of the three offsets it can start at
    inside a longer base64 text; and the value's own base64, padded, as a whole."""
    found = {base64.b64encode(data).decode(), base64.urlsafe_b64encode(data).decode()}
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + data).decode()
        first = 1 if shift else 0  # the group holding the padding bytes is the neighbours' as much as the value's
        last = (shift + len(data)) // 3  # groups past this one hold bytes after the value
        core = encoded[4 * first : 4 * last]
        if len(core) >= MIN_BASE64:
            found.update({core, core.replace("+", "-").replace("/", "_")})
    return found


def forms(value: str) -> frozenset[str]:
    """Every way the value can appear in what orka writes."""
    pieces = {value}
    if "\n" in value:  # a diff or a log shows a value of several lines one line at a time
        pieces.update(line.strip() for line in value.splitlines() if len(line.strip()) >= MIN_LENGTH)
    found: set[str] = set()
    for piece in pieces:
        escaped = json.dumps(piece)[1:-1]
        found.update({piece, escaped, json.dumps(piece, ensure_ascii=False)[1:-1]})
        found.update({html.escape(piece), html.escape(escaped)})  # pytest-html keeps its data as JSON in HTML
        found.update(_base64_cores(piece.encode()))
    return frozenset(found)


def leaves(name: str, value: Any) -> list[tuple[str, str]]:
    """A declared value as (name, text) pairs: a mapping or a list, each of its values under a name of its own."""
    if isinstance(value, Mapping):
        return [pair for key, item in value.items() for pair in leaves(f"{name}:{key}", item)]
    if isinstance(value, list | tuple):
        return [pair for index, item in enumerate(value) for pair in leaves(f"{name}:{index}", item)]
    if value is None or isinstance(value, bool):
        return []  # no secret in a flag or a missing value
    return [(name, str(value))]


class Secrets:
    """The values declared in this process, and the one pattern that finds any of their forms."""

    def __init__(self) -> None:
        self._values: dict[str, str] = {}  # value -> name
        self._pattern: re.Pattern[str] | None = None
        self._names: dict[str, str] = {}  # form -> name
        self._lock = threading.Lock()

    def declare(self, name: str, value: Any, where: str = "") -> int:
        """Keep a value (every leaf of a mapping or list) out of everything written from now on; how many
        new values that made. Raises SecretError, naming the secret and the fix, for a value too short."""
        pairs = leaves(name, value)
        short = [leaf for leaf, text in pairs if len(text) < MIN_LENGTH]
        if short:
            origin = f" ({where})" if where else ""
            raise SecretError(
                f"secret {short[0]}{origin} is shorter than {MIN_LENGTH} characters: orka cannot redact it "
                "without blanking ordinary words in every report; declare the key that holds the secret itself "
                "(not its parent), or give it a longer value"
            )
        added = 0
        with self._lock:
            for leaf, text in pairs:
                if text not in self._values:
                    self._values[text] = leaf
                    added += 1
            if added:
                self._pattern = None
        return added

    def declare_all(self, values: Mapping[str, Any], where: str = "") -> int:
        return sum(self.declare(name, value, where) for name, value in values.items())

    def __bool__(self) -> bool:
        return bool(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def exported(self) -> list[tuple[str, str]]:
        """(name, value) of every secret: for the controller's last scan, never for a file."""
        with self._lock:
            return [(name, value) for value, name in self._values.items()]

    def _compiled(self) -> re.Pattern[str]:
        with self._lock:
            if self._pattern is None:
                names: dict[str, str] = {}
                for value, name in self._values.items():
                    for form in forms(value):
                        names.setdefault(form, name)
                # Longest first: a value inside another form is replaced as part of the longer one.
                ordered = sorted(names, key=len, reverse=True)
                self._names = names
                self._pattern = re.compile("|".join(re.escape(f) for f in ordered))
            return self._pattern

    def redact(self, text: str) -> str:
        if not self._values or not text:
            return text
        pattern = self._compiled()
        return pattern.sub(lambda match: marker(self._names[match.group(0)]), text)

    def redact_data(self, data: T) -> T:
        """The same data with every string in it (keys too) redacted."""
        if not self._values:
            return data
        return self._walk(data)  # type: ignore[no-any-return]

    def _walk(self, data: Any) -> Any:
        if isinstance(data, str):
            return self.redact(data)
        if isinstance(data, Mapping):
            return {self._walk(k): self._walk(v) for k, v in data.items()}
        if isinstance(data, list | tuple):
            return type(data)(self._walk(item) for item in data)
        return data

    def found_in(self, text: str) -> list[str]:
        """The names of the secrets whose forms the text holds."""
        if not self._values:
            return []
        return sorted({self._names[m.group(0)] for m in self._compiled().finditer(text)})


REGISTRY = Secrets()


def declare_all(values: Mapping[str, Any], where: str = "") -> int:
    return REGISTRY.declare_all(values, where)


def declare_all_pairs(pairs: Iterable[tuple[str, Any]], where: str = "") -> int:
    """(name, value) pairs, where one name may hold several values (a var that differs between hosts)."""
    return sum(REGISTRY.declare(name, value, where) for name, value in pairs)


def redact(text: str) -> str:
    return REGISTRY.redact(text)


def redact_data(data: T) -> T:
    return REGISTRY.redact_data(data)


class RedactingStream(io.TextIOBase):
    """A text stream that redacts what is written to it, then hands it on."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(REGISTRY.redact(text))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()


def redacting(emit: Callable[[str], None]) -> Callable[[str], None]:
    """A line writer that redacts each line first."""
    return lambda line: emit(REGISTRY.redact(line))
