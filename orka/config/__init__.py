"""What the user asks for, validated before anything boots: the settings, an existing fleet, and what the
desired state leaves on a node (for the freshness probe and an existing host's reset)."""

from pathlib import Path
from typing import Final

#: The folder that holds the orka/ package; relative paths in settings resolve here.
REPO_ROOT: Final[Path] = Path(__file__).resolve().parents[2]
# A node's role and its names, orka-node-1..N (a method's master is named by its descriptor).
NODE_ROLE: Final = "node"
NODE_PREFIX: Final = "orka-node-"
