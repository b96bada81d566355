"""R22: the dependency floor that covers the advisories in the research table.

``test_the_stack_runs_on_patched_dependencies``: werkzeug ≥ 3.1.6 (every advisory through
GHSA-29vq-49wr-vm6x), websockets ≥ 14 (the new asyncio implementation), both as installed for
the running stack and as locked in uv.lock (what the image installs). A vulnerability audit
of the lock file (pip-audit) is not part of this tier.
"""

from __future__ import annotations

import importlib.metadata
import re

from outside import Figure
from stack import ROOT
from stack import Stack

FLOORS = {"werkzeug": (3, 1, 6), "websockets": (14,)}


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def test_the_stack_runs_on_patched_dependencies(rstack: Stack, figure: Figure) -> None:
    lock = (ROOT / "uv.lock").read_text()
    for name, floor in FLOORS.items():
        installed = importlib.metadata.version(name)  # the stack's services use this venv
        match = re.search(rf'\nname = "{name}"\nversion = "([^"]+)"', lock)
        assert match, f"{name} is not in uv.lock"
        assert _version(installed) >= floor, f"{name} {installed} is below the floor"
        assert _version(match.group(1)) >= floor, f"uv.lock pins {name} {match.group(1)}"
        figure(
            name,
            f"{installed} installed, {match.group(1)} locked, floor {'.'.join(map(str, floor))}",
        )
