"""The README's lab command (`make lab`) starts JupyterLab serving the notebooks."""

import json
import urllib.request

from lab_server import running_lab


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read()


def test_make_lab_serves_the_notebooks_on_localhost(tmp_path):
    with running_lab(tmp_path) as (url, token):
        listing = json.loads(_get(f"{url}/api/contents?token={token}"))
        names = {item["name"] for item in listing["content"]}
        assert "01_linear_autoencoder_from_raw_tensors.ipynb" in names
        assert b"JupyterLab" in _get(f"{url}/lab?token={token}")
