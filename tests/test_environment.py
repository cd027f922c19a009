"""environment.yml (the conda route) and pyproject.toml (the pip route) describe one environment."""

from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent


def _pyproject_dependencies() -> list[str]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        tomllib = pytest.importorskip("tomli")
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["dependencies"]


def _environment_yml_pip_dependencies() -> list[str]:
    spec = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_sections = [d["pip"] for d in spec["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1, "environment.yml should have exactly one pip: section"
    return [line for line in pip_sections[0] if not line.startswith("-e")]


def _normalised(requirements: list[str]) -> dict[str, str]:
    parsed = [Requirement(r) for r in requirements]
    return {r.name.lower().replace("_", "-"): str(r.specifier) for r in parsed}


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    assert _normalised(_environment_yml_pip_dependencies()) == _normalised(_pyproject_dependencies())


def test_environment_yml_installs_the_course_package_and_a_recent_python():
    spec = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_lines = next(d["pip"] for d in spec["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip_lines
    assert "python>=3.10" in spec["dependencies"]


def test_the_course_needs_every_package_it_promises():
    names = set(_normalised(_pyproject_dependencies()))
    assert {"torch", "torchvision", "matplotlib", "jupyterlab", "ipywidgets", "nbval"} <= names
