"""The full run, executed (issue 18, section 2): what a learner gets first, without ``CI``.

`make test`'s strict nbval runs the quick run (``CI`` set), so a wrong path, name or shape in the ``else``
of a notebook's ``if QUICK:`` would reach learners untested. Here every notebook that reads ``CI`` runs top
to bottom in a fresh kernel whose environment lacks it, on a stand-in for MNIST's training split, which
these machines do not have (tests/full_run.py: 1,000 digits of the test split for the training split, 2,000
others held out). Outputs are not compared. Any error fails the test, except in two cases:

- a cell that raises in the stored notebook (tagged ``raises-exception``) must raise the same error;
- the asserts listed in ``FULL_RUN_ONLY``, which only MNIST's 60,000 training digits make true, are turned
  into recorded checks and the cell goes on. Each entry names its cell by id and a piece of the assert's
  text, and says why; an entry that matches no assert fails the test, so the list stays true.

Notebooks 01 and 02 do not read ``CI``, nor does ae_utils: their full run is the very run that nbval executes
and compares, so they are checked for that instead of being run twice. One that starts reading ``CI`` is
executed here like notebooks 03 to 06.
"""

from __future__ import annotations

import ast
import re

import nbformat
import pytest
from full_run import NOTEBOOKS, ROOT, run_full, without_asserts

# notebook -> cell id -> pieces of the text of the asserts that only MNIST's 60,000 training digits make true
FULL_RUN_ONLY = {
    "03": {
        # section 1: the full run checks it read 60,000 training digits and 10,000 held out (here 1,000 and 2,000)
        "86f07a11": ["(60000, 10000)"],
        # section 3: 10 epochs of ceil(60,000 / 64) = 938 batches make 9,380 steps (here 10 x 16)
        "9ccbfc29": ["(2500 if QUICK else 9380)"],
        # Exercise 3: decoded from the codes' plane, more than half the way from the code's BCE to the average digit's
        # (0.75 to 0.87 in the quick run's nine training runs; past 1 after as many steps as the full run's, 75 epochs
        # of the quick run's digits). The stand-in's model, 160 steps on 1,000 digits, draws little but the average
        # digit from any code, and its codes lie almost on a line (99% of their variance in the plane for seeds 0
        # and 2): the plane loses next to nothing, 0.001 to 0.38 of the way over seeds 0 to 2.
        "5c1e0a0a": ["way > 0.5"],
    },
    "04": {
        # section 2: the full run checks it read 60,000 training digits
        "7484fad4": ["(8000 if QUICK else 60000)"],
        # section 4: the networks' 10 epochs of ceil(60,000 / 64) = 938 batches make 9,380 steps (here 10 x 16)
        "2f98d1d8": ["(1250 if QUICK else 9380)"],
        # The two below hold after training budgets counted in epochs: 60,000 digits make 235 steps an epoch at
        # batch 256 and 938 at 64, the stand-in 4 and 16, so it trains 60 times less and falls short.
        # Section 3: each k within 1% of its floor in at most 200 epochs; k = 2 needs about 4,400 steps (19 epochs
        # of 60,000 digits), the stand-in stops at 1,600, 3% above (0.05726 against 0.05548).
        "8e7d8101": ["floors[k] <= error"],
        # Section 4: after 10 epochs (160 steps here, 9,380 in the full run) the k = 32 network is still too
        # blurred for a shift of 4 pixels to double its error: 1.7x here, 2.5x after the quick run's 1,250 steps.
        "3c61847a": ["moved_mse > 2 * centred_mse"],
    },
    "05": {
        # section 1: the full run checks it read 60,000 training digits and 10,000 held out (here 1,000 and 2,000)
        "a28b79ee": ["(60000, 10000)"],
        # The three below hold after training counted in epochs of 938 steps: the full run trains each network 9,380
        # steps, the quick run 500 (where each holds in all five seeds of benchmarks/results/notebook05_seeds.json), the
        # stand-in 160 steps, which leave networks that draw blurred average digits.
        # Section 3: both models lose when digits move (2.9x and 1.9x after 500 steps); longer training fits the centred
        # digits better still, so the factor can only grow.
        "c5689f28": ["moved[name] > 1.5 * held_out[name]"],
        # Section 4: the denoiser beats the noisy input, PCA and the blur from sigma = 0.5 up after 500 steps, in every
        # seed; longer training only widens its lead.
        "c261c36e": ['best[sigma] == "denoiser"'],
        # Exercise 2: the mask denoiser halves the masked digits' error (0.0139 against 0.0573 after 500 steps).
        "05adeaf4": ["mask_trained < 0.5"],
    },
    "06": {
        # section 1: the full run checks it read 60,000 training digits and 10,000 held out (here 1,000 and 2,000)
        "7312a710": ["(60000, 10000)"],
        # section 1: the judge, 784-256-10 after 10 epochs of 469 batches (4,690 steps), names held-out digits better
        # than the quick run's 630 steps on 8,000 digits already do (94%, confidence 0.94); the stand-in's 80 steps
        # on 1,000 digits fall short of 90%
        "14f6eb79": ["accuracy > 0.9"],
        # section 2: the plain autoencoder's random codes decode to pictures the judge trusts far less than real digits:
        # 0.65 against 0.94 after the quick run's 630 steps, 0.55 after 2,520 (40 epochs of its digits); the full run's
        # 4,690 steps lie beyond both. The stand-in's 80 steps leave a network that draws the average digit from
        # every code, and a judge unsure of the held-out digits themselves
        "acf09c06": ["real - 0.2"],
        # Section 2: the fitted Gaussian's pictures are judged between random codes' and real digits': 0.65 < 0.77 <
        # 0.94 after 630 steps, 0.55 < 0.77 < 0.94 after 2,520; the stand-in's 80 steps leave pictures no judge tells.
        "9e7eb0d9": ["random_judged < fitted_judged"],
        # Section 7: the autoencoder's AUC for the 4s above PCA's (0.81 to 0.82 against 0.62 after 560 steps in five
        # seeds; 0.76 to 0.81 after 336: benchmarks/notebook06_seeds.py with EPOCHS = 6); 80 steps are too few.
        "7cfa9217": ['auc["autoencoder"] > auc["PCA, k = 20"]'],
    },
}


def reads_ci(path) -> bool:
    """Whether a code cell of the notebook can behave differently with ``CI`` set: it reads the environment."""
    cells = nbformat.read(path, as_version=4).cells
    return any(re.search(r"\bCI\b|environ|getenv", cell.source) for cell in cells if cell.cell_type == "code")


WITH_FULL_RUN = [path for path in NOTEBOOKS if reads_ci(path)]


@pytest.mark.parametrize("path", WITH_FULL_RUN, ids=lambda path: path.name[:2])
def test_full_run_executes_on_a_stand_in_for_the_training_split(path):
    run = run_full(nbformat.read(path, as_version=4), path.parent, FULL_RUN_ONLY.get(path.name[:2], {}))
    print(run.report())
    assert not run.failures, f"{path.name}, its full run (no CI) on the stand-in:\n{run.report()}"


def test_the_other_notebooks_full_run_is_the_quick_run():
    """Notebooks that never read CI run alike in both runs, as long as ae_utils does not read it either."""
    assert {path.name[:2] for path in WITH_FULL_RUN} >= set(FULL_RUN_ONLY), "a listed notebook no longer reads CI"
    for module in (ROOT / "ae_utils").glob("*.py"):
        assert not re.search(r"\bCI\b", module.read_text()), f"ae_utils/{module.name} reads CI"


# The check itself, checked: a deliberately broken full-run branch fails it, where the quick run never looks.
DATA_CELL = "86f07a11"  # notebook 03, section 1: `if QUICK: ... else: ... ae.load_images("mnist", "train")`


def broken_copy_of_03():
    """Notebook 03 up to its data cell, whose full-run branch asks for the split "trian"."""
    notebook = nbformat.read(NOTEBOOKS[2], as_version=4)
    ids = [cell.get("id") for cell in notebook.cells]
    notebook.cells = notebook.cells[: ids.index(DATA_CELL) + 1]
    cell = notebook.cells[-1]
    branch = next(node for node in ast.parse(cell.source).body if ast.unparse(node).startswith("if QUICK:"))
    lines = cell.source.splitlines(keepends=True)
    start, end = branch.orelse[0].lineno - 1, branch.orelse[-1].end_lineno
    full_branch = "".join(lines[start:end])
    assert 'ae.load_images("mnist", "train")' in full_branch
    lines[start:end] = [full_branch.replace('ae.load_images("mnist", "train")', 'ae.load_images("mnist", "trian")')]
    cell.source = "".join(lines)
    return notebook


def test_a_misspelled_name_in_a_full_run_branch_fails_it():
    run = run_full(broken_copy_of_03(), NOTEBOOKS[2].parent, {DATA_CELL: FULL_RUN_ONLY["03"][DATA_CELL]})
    assert [(failure.cell_id, failure.ename) for failure in run.failures] == [(DATA_CELL, "ValueError")], run.report()
    assert "unknown split 'trian'" in run.failures[0].evalue


def test_only_the_listed_asserts_become_recorded_checks():
    source = (
        "assert len(x) == 60000\n"
        "if True: assert (len(x),\n"
        "                 2) == (60000, 2), 'on two lines'\n"
        "assert y\n"
    )
    rewritten = without_asserts(source, ["len(x) == 60000", "(60000, 2)"])
    assert rewritten.count("assert ") == 1 and "assert y" in rewritten
    namespace = {"x": [], "y": True, "_full_run_misses": []}
    exec(rewritten, namespace)
    assert namespace["_full_run_misses"] == ["len(x) == 60000", "(60000, 2)"]
    with pytest.raises(AssertionError):
        exec(rewritten, {**namespace, "y": False})
    with pytest.raises(LookupError, match="0 asserts contain '60001'"):
        without_asserts(source, ["60001"])


def test_the_full_runs_kernel_gets_neither_ci_nor_the_portable_kernels(monkeypatch):
    from full_run import kernel_environment

    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "default")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    env = kernel_environment()
    assert "CI" not in env and "ATEN_CPU_CAPABILITY" not in env and env["OMP_NUM_THREADS"] == "1"
