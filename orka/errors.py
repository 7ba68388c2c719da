"""The one exception root of orka: every error a user can cause or meet."""

from __future__ import annotations


class OrkaError(Exception):
    """Something orka cannot do; the message says what and how to fix it."""


class SettingsError(OrkaError):
    """The settings are not valid. Carries every problem found, not just the first."""

    def __init__(self, source: str, problems: list[str], lines: list[int | None] | None = None) -> None:
        """lines: each problem's line in the file, where it has one (not for a default or an override)."""
        self.source = source
        self.problems = problems
        self.lines = lines or [None] * len(problems)
        listed = "\n".join(
            f"  - {p} (line {n})" if n else f"  - {p}" for p, n in zip(problems, self.lines, strict=True)
        )
        super().__init__(f"invalid settings in {source}:\n{listed}")


class ProviderError(OrkaError):
    """No provider can bring up the cluster, or the chosen one does not work here."""


class ClusterError(OrkaError):
    """Bringing up, checking or tearing down the cluster failed."""


class ImageError(OrkaError):
    """The docker provider's node image could not be built."""
