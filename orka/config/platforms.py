"""The node operating systems orka spikes a scenario on: each platform's image recipe, box and Python.

A leaf module, like the settings it serves. A platform is what a team's fleet runs: the docker provider
builds its node image offline with debootstrap (Debian's releases only: no other family's packages can be
fetched here), the VM providers boot its Vagrant box, and the tools (salt, ansible-core) are installed
from a wheelhouse made for its own Python.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Final

DEBIAN = "Debian"
REDHAT = "RedHat"


@dataclass(frozen=True)
class Platform:
    """One node OS release.

    Attributes:
        name: As the settings and `--platform` name it (debian-12).
        family: The OS family, as Salt's os_family grain and Ansible's ansible_os_family say it.
        python: The interpreter the tools' venv runs on there (major.minor): the wheelhouse is made for it.
        glibc: The C library's version there (major.minor): the newest manylinux wheels the node can load.
        suite: The Debian suite debootstrap builds the docker provider's node image from; "" when there is
            no image recipe (the platform runs on the VM providers only).
        box: The Vagrant box the VM providers boot.
        python_package: What the VM provisioning installs for `python`, where the system's python3 is older.
    """

    name: str
    family: str
    python: str
    glibc: str
    suite: str
    box: str
    python_package: str = ""

    @property
    def python_tag(self) -> str:
        """The wheel tag of the platform's interpreter: cp313."""
        return "cp" + self.python.replace(".", "")

    @property
    def docker(self) -> bool:
        return bool(self.suite)


PLATFORMS: Final[tuple[Platform, ...]] = (
    Platform("debian-12", DEBIAN, "3.11", "2.36", "bookworm", "debian/bookworm64"),
    Platform("debian-13", DEBIAN, "3.13", "2.41", "trixie", "debian/trixie64"),
    # The RedHat family's system python3 is 3.9 (9) or 3.12 (10); salt 3008 and ansible-core 2.19 need
    # 3.10+, so the 9s take python3.11 from AppStream.
    Platform("centos-stream-9", REDHAT, "3.11", "2.34", "", "centos/stream9", "python3.11"),
    Platform("centos-stream-10", REDHAT, "3.12", "2.39", "", "centos/stream10"),
    Platform("rocky-9", REDHAT, "3.11", "2.34", "", "rockylinux/9", "python3.11"),
    Platform("alma-9", REDHAT, "3.11", "2.34", "", "almalinux/9", "python3.11"),
)
DEFAULT_PLATFORM: Final = "debian-12"
BY_NAME: Final[dict[str, Platform]] = {p.name: p for p in PLATFORMS}


def platform(name: str) -> Platform:
    """The platform of that name; KeyError for an unknown one (the settings name the problem first)."""
    return BY_NAME[name]


def unknown_platform(name: str) -> str:
    """What to say of a name no platform has: the near miss, then every known one."""
    near = difflib.get_close_matches(name, list(BY_NAME), n=1)
    hint = f" (did you mean {near[0]!r}?)" if near else ""
    return f"{name!r} is not a known platform{hint}; allowed: {', '.join(BY_NAME)}"


def docker_problem(chosen: Platform) -> str:
    """Why the docker provider cannot run a platform, and the fix; "" when it can."""
    if chosen.docker:
        return ""
    runs = ", ".join(p.name for p in PLATFORMS if p.docker)
    return (
        f"platform {chosen.name} has no node image recipe for the docker provider (its family, {chosen.family}, "
        f"cannot be built offline from Debian's packages); fix: provider: libvirt or virtualbox (box "
        f"{chosen.box}), or a platform the docker provider runs: {runs}"
    )


def on_platform(scenario: str, platform_name: str) -> str:
    """A scenario on a platform, as reports and test IDs name it: the default platform's keeps its bare name."""
    return f"{scenario} on {platform_name}" if platform_name and platform_name != DEFAULT_PLATFORM else scenario
