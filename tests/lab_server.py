"""Start JupyterLab the way the README does (`make lab`) on 127.0.0.1, for the tests that need it."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_lab(home: Path, extra_env: dict[str, str] | None = None, timeout: float = 120):
    """Yield ``(url, token)`` of a JupyterLab started by ``make lab`` with its settings, config and
    runtime folders under ``home``, and ``extra_env`` (a value of None unsets the variable); stop it and
    everything it started afterwards, even on failure."""
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
        **(extra_env or {}),
    )
    env = {name: value for name, value in env.items() if value is not None}
    args = f"--no-browser --ip=127.0.0.1 --port={port} --IdentityProvider.token={token}"
    log_path = home / "lab.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "lab", f"LAB_ARGS={args}"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + timeout
            while True:
                assert process.poll() is None, f"make lab exited early:\n{log_path.read_text()}"
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2)
                    break
                except OSError:
                    assert time.monotonic() < deadline, f"JupyterLab did not answer on 127.0.0.1 within {timeout:.0f} s"
                    time.sleep(0.5)
            yield f"http://127.0.0.1:{port}", token
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
