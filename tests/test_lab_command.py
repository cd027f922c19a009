"""The README's lab command (`make lab`) starts JupyterLab serving the notebooks."""

import json
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


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read()


def test_make_lab_serves_the_notebooks_on_localhost(tmp_path):
    port, token = _free_port(), secrets.token_hex(16)
    args = f"--no-browser --ip=127.0.0.1 --port={port} --IdentityProvider.token={token}"
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp_path / "config"), JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "settings"), JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "ws"))
    lab = subprocess.Popen(["make", "--no-print-directory", "lab", f"LAB_ARGS={args}"], cwd=ROOT, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        listing, deadline = None, time.monotonic() + 90
        while listing is None and time.monotonic() < deadline:
            assert lab.poll() is None, f"make lab exited early:\n{lab.stdout.read().decode()}"
            try:
                listing = json.loads(_get(f"http://127.0.0.1:{port}/api/contents?token={token}"))
            except OSError:
                time.sleep(0.5)
        assert listing is not None, "JupyterLab did not answer on 127.0.0.1 within 90 s"
        names = {item["name"] for item in listing["content"]}
        assert "01_linear_autoencoder_from_raw_tensors.ipynb" in names
        assert b"JupyterLab" in _get(f"http://127.0.0.1:{port}/lab?token={token}")
    finally:
        os.killpg(lab.pid, signal.SIGTERM)
        try:
            lab.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(lab.pid, signal.SIGKILL)
            lab.wait()
