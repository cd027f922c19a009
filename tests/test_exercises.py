"""Every notebook ends with 2 to 4 exercises, each with a solution that is hidden until the learner
asks for it and that runs, with its claims asserted, under strict nbval like every other cell.

The convention (README, "Exercises"):
- a markdown cell starting ``## Exercises`` opens the notebook's last part;
- each exercise is a markdown cell starting ``### Exercise N: <title>`` (N = 1, 2, ...), the task;
- its solution follows: one or more code cells tagged ``solution``, collapsed in JupyterLab
  (``metadata.jupyter.source_hidden`` and ``outputs_hidden``: the learner clicks to show them),
  the first starting ``# Solution to exercise N``, together asserting what they claim.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
EXERCISE = re.compile(r"### Exercise (\d+): \S")


def exercises(cells: list[dict]) -> list[tuple[int, dict, list[dict]]]:
    """(number, task cell, solution cells) for each exercise after the ``## Exercises`` heading."""
    starts = [i for i, c in enumerate(cells) if c["cell_type"] == "markdown" and src(c).startswith("## Exercises")]
    assert len(starts) == 1, "one '## Exercises' heading"
    found = []
    for cell in cells[starts[0] + 1 :]:
        match = EXERCISE.match(src(cell)) if cell["cell_type"] == "markdown" else None
        if match:
            found.append((int(match.group(1)), cell, []))
        elif found and cell["cell_type"] == "code" and "solution" in cell["metadata"].get("tags", []):
            found[-1][2].append(cell)
    return found


def src(cell: dict) -> str:
    return "".join(cell["source"])


@pytest.fixture(params=NOTEBOOKS, ids=lambda p: p.name[:2])
def cells(request) -> list[dict]:
    return json.loads(request.param.read_text())["cells"]


def test_there_are_six_notebooks():
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05", "06"]


def test_each_notebook_ends_with_two_to_four_numbered_exercises(cells):
    found = exercises(cells)
    assert 2 <= len(found) <= 4
    assert [number for number, _, _ in found] == list(range(1, len(found) + 1))
    later = [c for c in cells[cells.index(found[0][1]) :] if c["cell_type"] == "markdown"]
    assert not any(src(c).startswith("## ") for c in later), "the exercises are the notebook's last part"


def test_each_exercise_has_a_hidden_solution_that_asserts_its_claims(cells):
    for number, _, solution in exercises(cells):
        assert solution, f"exercise {number} has no cell tagged 'solution'"
        assert src(solution[0]).startswith(f"# Solution to exercise {number}")
        for cell in solution:
            hidden = cell["metadata"].get("jupyter", {})
            assert hidden.get("source_hidden") and hidden.get("outputs_hidden"), f"exercise {number}: not collapsed"
            assert cell["execution_count"] is not None, f"exercise {number}: solution stored without running"
            assert not any(o["output_type"] == "error" for o in cell["outputs"])
        assert any(re.search(r"^\s*assert ", src(c), re.M) for c in solution), f"exercise {number} asserts nothing"


def test_the_check_can_fail():
    task = {"cell_type": "markdown", "source": ["### Exercise 1: try"], "metadata": {}}
    shown = {
        "cell_type": "code",
        "source": ["# Solution to exercise 1\nassert True"],
        "execution_count": 1,
        "outputs": [],
        "metadata": {"tags": ["solution"]},
    }  # not collapsed
    cells = [{"cell_type": "markdown", "source": ["## Exercises"], "metadata": {}}, task, shown]
    with pytest.raises(AssertionError, match="not collapsed"):
        test_each_exercise_has_a_hidden_solution_that_asserts_its_claims(cells)
    with pytest.raises(AssertionError):
        test_each_notebook_ends_with_two_to_four_numbered_exercises(cells)  # one exercise only
