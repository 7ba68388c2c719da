"""The one exception root of orka: every error a user can cause or meet."""

from __future__ import annotations


class OrkaError(Exception):
    """Something orka cannot do; the message says what and how to fix it."""


class SettingsError(OrkaError):
    """The settings are not valid. Carries every problem found, not just the first."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid settings in {source}:\n{lines}")


class ProviderError(OrkaError):
    """No provider can bring up the cluster, or the chosen one does not work here."""


class ClusterError(OrkaError):
    """Bringing up, checking or tearing down the cluster failed."""


class ImageError(OrkaError):
    """The docker provider's node image could not be built."""
