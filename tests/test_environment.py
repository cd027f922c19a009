"""environment.yml (the conda route), pyproject.toml (the pip route) and requirements-lock.txt (what `make`
installs) describe one environment."""

from pathlib import Path

import pytest
import yaml
from packaging.markers import Marker
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent


def _pyproject() -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        tomllib = pytest.importorskip("tomli")
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]


def _pyproject_dependencies() -> list[str]:
    """What a learner's install needs, and what the tests add on top (the ``test`` extra)."""
    project = _pyproject()
    return project["dependencies"] + project["optional-dependencies"]["test"]


def _environment_yml_pip_dependencies() -> list[str]:
    spec = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_sections = [d["pip"] for d in spec["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1, "environment.yml should have exactly one pip: section"
    return [line for line in pip_sections[0] if not line.startswith("-e")]


def _key(requirement: Requirement) -> str:
    """A package's name as the index compares it: lower case, '-' for '_'."""
    return requirement.name.lower().replace("_", "-")


def _normalised(requirements: list[str]) -> dict[str, str]:
    return {_key(r): str(r.specifier) for r in map(Requirement, requirements)}


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


def test_a_learners_install_leaves_the_test_tools_out():
    learner = set(_normalised(_pyproject()["dependencies"]))
    assert not learner & {"pytest", "pytest-xdist", "nbval", "playwright"}


def _locked() -> dict[str, list[tuple[str, str]]]:
    """requirements-lock.txt as {name: [(version, marker), ...]}: one pin per platform or Python it splits on."""
    pins: dict[str, list[tuple[str, str]]] = {}
    for line in (ROOT / "requirements-lock.txt").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            requirement = Requirement(line)
            (version,) = [s.version for s in requirement.specifier if s.operator == "=="]
            pins.setdefault(_key(requirement), []).append((version, str(requirement.marker or "")))
    return pins


def test_the_lock_pins_every_dependency_within_its_range():
    pins = _locked()
    for requirement in map(Requirement, _pyproject_dependencies()):
        name = _key(requirement)
        assert name in pins, f"{name} is not in requirements-lock.txt: run `make lock`"
        for version, _ in pins[name]:
            assert requirement.specifier.contains(version, prereleases=True), (
                f"the lock pins {name}=={version}, outside pyproject.toml's {requirement.specifier}: run `make lock`"
            )


def test_the_lock_says_how_to_refresh_it_and_covers_every_python_the_course_supports():
    header = (ROOT / "requirements-lock.txt").read_text().splitlines()[:3]
    assert any("make lock" in line for line in header)
    torch_pins = _locked()["torch"]
    for python in ("3.10", "3.11", "3.12", "3.13"):
        matching = [
            v
            for v, marker in torch_pins
            if not marker or Marker(marker).evaluate({"python_full_version": f"{python}.0", "python_version": python})
        ]
        assert len(matching) == 1, f"the lock should pin exactly one torch for Python {python}, found {matching}"
