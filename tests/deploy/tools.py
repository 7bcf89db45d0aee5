"""Finding the deployment files' checking tools: a skip with the reason on a developer's machine, a failure in CI."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DEBIAN_PACKAGE = {"systemd-analyze": "systemd", "nginx": "nginx-light"}


def need(tool: str) -> str:
    """The tool's path. Missing: a skip naming the package, or a failure when ``CI=true`` (as ``.ci/run`` sets)."""
    path = shutil.which(tool) or next(
        (p for p in (f"/usr/sbin/{tool}", f"/sbin/{tool}") if os.access(p, os.X_OK)), None
    )
    if path is None:
        reason = f"{tool} is not installed (Debian: apt-get install {DEBIAN_PACKAGE.get(tool, tool)})"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI=true: the deployment checks must run, not skip")
        pytest.skip(reason)
    return path
