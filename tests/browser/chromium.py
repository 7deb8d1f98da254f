"""Debian's Chromium for the browser tests: found on the PATH, else installed with apt-get when
running as root, else the reason it cannot be had (the tests then report themselves skipped).
No browser is ever downloaded from anywhere but the system's package archive."""
from __future__ import annotations

import os
import shutil
import subprocess

CANDIDATES = ("chromium", "chromium-browser")
APT_TIMEOUT_S = 900


def find_chromium() -> str | None:
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def ensure_chromium() -> tuple[str | None, str]:
    """(path to the browser, "") or (None, why there is none)."""
    found = find_chromium()
    if found:
        return found, ""
    if os.environ.get("FLOWPOOL_NO_BROWSER_INSTALL"):
        return None, "no chromium on PATH and FLOWPOOL_NO_BROWSER_INSTALL is set"
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None, "no chromium on PATH, and apt-get cannot install it here (not root or no apt)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"],
                    ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"]):
        try:
            done = subprocess.run(command, env=env, capture_output=True, text=True,
                                  timeout=APT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            return None, f"`{' '.join(command)}` did not finish within {APT_TIMEOUT_S}s"
        if done.returncode != 0:
            return None, f"`{' '.join(command)}` failed: {done.stderr.strip()[-300:]}"
    found = find_chromium()
    return (found, "") if found else (None, "apt-get installed chromium but it is not on PATH")


if __name__ == "__main__":
    print(ensure_chromium())
