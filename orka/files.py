"""Files that readers may open at any moment: replaced whole, never seen half-written."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, text: str, mode: int = 0o644) -> None:
    """Replace path whole (a temp file in the same folder, then a rename): a crash leaves the old file or none."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(partial, mode)  # mkstemp makes it 0600
        os.replace(partial, path)
    except BaseException:
        os.unlink(partial)
        raise
