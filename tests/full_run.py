"""Executing a notebook's full run (no ``CI``: what a learner gets first) on a machine that lacks MNIST's
training split. Used by tests/test_full_run.py; README, "The full run".

The test seam lives here, not in ae_utils: a first code cell, added to a copy of the notebook before it
runs, replaces ``ae.load_images`` with a stand-in that serves MNIST's test split, which these machines have,
for both splits: ``("mnist", "train")`` gives the first ``STAND_IN_TRAIN`` digits of the quick run's shuffled
8,000 training digits, ``("mnist", "test")`` the quick run's 2,000 held-out ones, so the two never overlap and
the full run's training loops, counted in epochs, take seconds. Every other call reaches the real function,
checks included (a misspelled split or data set name fails as it would for a learner).

Asserts that only MNIST's 60,000 training digits make true are rewritten before their cell runs into a
check that records a miss and lets the cell go on (``without_asserts``); every other error fails, and a cell
that raises in the stored notebook (tagged ``raises-exception``) must raise the same error again.
"""

from __future__ import annotations

import ast
import os
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SHARED_DATA = ROOT.parent / "shared" / "data"  # CI's AE_DATA_DIR (.ci/run), as tests/test_data.py finds it
STAND_IN_TRAIN = 1000  # digits served as MNIST's 60,000 training digits: 16 batches of 64 an epoch, not 938
MISSES = "_full_run_misses"  # the kernel's list of the listed asserts that did not hold

STAND_IN = """\
# Added by tests/full_run.py, not part of the notebook: MNIST's training split is not on this machine.
def _install_stand_in(digits):
    import ae_utils
    import ae_utils.data
    import torch

    real_load = ae_utils.data.load_images

    def load_images(name, split, root=None, download=True):
        if name != "mnist" or split not in ("train", "test"):
            return real_load(name, split, root, download)
        images, labels = real_load("mnist", "test", root, download)
        order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))  # the quick run's draw
        rows = order[:digits] if split == "train" else order[8000:]
        return images[rows], labels[rows]

    ae_utils.load_images = ae_utils.data.load_images = load_images


_install_stand_in({digits})
del _install_stand_in
{misses} = []
"""

RESULTS = f"""\
import resource
_usage = resource.getrusage(resource.RUSAGE_SELF)
print(repr(({MISSES}, _usage.ru_utime + _usage.ru_stime)))
"""


@dataclass
class Failure:
    cell_id: str
    ename: str
    evalue: str = ""
    line: str = ""  # the line that raised, as the traceback shows it
    expected: str = ""  # the error the stored notebook holds for this cell, if any

    def __str__(self) -> str:
        text = f"cell {self.cell_id}: {self.ename}: {' '.join(self.evalue.split())[:240]}"
        text += f"\n    at: {self.line}" if self.line else ""
        return text + (f"\n    (the stored notebook raises {self.expected} here)" if self.expected else "")


@dataclass
class FullRun:
    failures: list[Failure] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)  # the listed asserts that did not hold
    seconds: float = 0.0  # wall clock, the kernel's start included
    cpu_seconds: float = 0.0  # the kernel's own CPU time, user and system
    slowest: list[tuple[float, str]] = field(default_factory=list)  # (seconds, cell id), slowest first
    executed: nbformat.NotebookNode | None = None  # the copy that ran, with its outputs

    def report(self) -> str:
        lines = [str(failure) for failure in self.failures]
        lines.append(f"listed asserts that did not hold with the stand-in: {self.misses}")
        slowest = ", ".join(f"{cell} {seconds:.1f} s" for seconds, cell in self.slowest[:4])
        lines.append(f"{self.seconds:.0f} s, {self.cpu_seconds:.0f} s of the kernel's CPU; slowest cells: {slowest}")
        return "\n".join(lines)


def without_asserts(source: str, pieces: list[str]) -> str:
    """``source`` with each assert whose condition contains one of ``pieces`` turned into an expression
    that records the piece in ``_full_run_misses`` when the condition is false. Each piece must match exactly
    one assert; otherwise LookupError (the notebook changed: update the list)."""
    tree = ast.parse(source)
    offsets = [0]
    for line in source.splitlines(keepends=True):
        offsets.append(offsets[-1] + len(line))
    edits = []
    for piece in pieces:
        found = [
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.Assert) and piece in ast.get_source_segment(source, node.test)
        ]
        if len(found) != 1:
            raise LookupError(f"{len(found)} asserts contain {piece!r}, not 1: update the list of full-run-only ones")
        node = found[0]
        condition = ast.get_source_segment(source, node.test)
        start, end = offsets[node.lineno - 1] + node.col_offset, offsets[node.end_lineno - 1] + node.end_col_offset
        edits.append((start, end, f"{MISSES}.append({piece!r}) if not ({condition}) else None"))
    for start, end, text in sorted(edits, reverse=True):
        source = source[:start] + text + source[end:]
    return source


# Not passed on to the kernel: ``CI`` (this is the full run), and ``make test``'s portable kernels, which serve the
# comparison of stored outputs; no output is compared here, and the machine's own kernels ran notebook 06
# 1.27 times as fast (jupyter nbconvert --execute at one thread: 46 s against 58 s).
NOT_PASSED_ON = ("CI", "ATEN_CPU_CAPABILITY")


def kernel_environment() -> dict[str, str]:
    """pytest's environment without ``NOT_PASSED_ON``, with the shared data found as CI finds it."""
    env = {name: value for name, value in os.environ.items() if name not in NOT_PASSED_ON}
    if not env.get("AE_DATA_DIR") and SHARED_DATA.is_dir():
        env["AE_DATA_DIR"] = str(SHARED_DATA)
    return env


def run_full(
    notebook: nbformat.NotebookNode, folder: Path, full_run_only: dict[str, list[str]], digits: int = STAND_IN_TRAIN
) -> FullRun:
    """Execute a copy of ``notebook`` in a fresh kernel started in ``folder``, with the stand-in installed and
    the asserts of ``full_run_only`` (cell id -> pieces of their text) recorded instead of raised."""
    nb = nbformat.from_dict(notebook)
    missing = set(full_run_only) - {cell.get("id") for cell in nb.cells}
    if missing:
        raise LookupError(f"no cell with id {sorted(missing)}: update the list of full-run-only asserts")
    stored_errors = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        errors = [output.ename for output in cell.outputs if output.output_type == "error"]
        if errors or "raises-exception" in cell.metadata.get("tags", []):
            stored_errors[cell.id] = errors[0] if errors else "an error"
        if cell.id in full_run_only:
            cell.source = without_asserts(cell.source, full_run_only[cell.id])
    nb.cells.insert(0, nbformat.v4.new_code_cell(STAND_IN.format(digits=digits, misses=MISSES), id="full-run-stand-in"))
    nb.cells.append(nbformat.v4.new_code_cell(RESULTS, id="full-run-results"))

    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", allow_errors=True, resources={"metadata": {"path": str(folder)}}
    )
    start = time.perf_counter()
    client.execute(env=kernel_environment())
    run = FullRun(seconds=time.perf_counter() - start, executed=nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            _check_cell(cell, stored_errors.get(cell.id, ""), run)
    run.slowest.sort(reverse=True)
    results = nb.cells[-1].outputs
    if results and results[0].output_type == "stream":
        run.misses, run.cpu_seconds = ast.literal_eval(results[0].text)
    return run


def _check_cell(cell, expected: str, run: FullRun) -> None:
    errors = [output for output in cell.outputs if output.output_type == "error"]
    if expected and not errors:
        run.failures.append(Failure(cell.id, "no error", expected=expected))
    elif errors and errors[0].ename != expected:
        error = errors[0]
        arrows = [line for line in map(_plain, error.traceback) for line in line.splitlines() if "---->" in line]
        line = re.sub(r"^\s*\d*\s*", "", arrows[-1].split("---->")[-1]) if arrows else ""
        run.failures.append(Failure(cell.id, error.ename, error.evalue, line, expected))
    timing = cell.metadata.get("execution", {})
    if {"iopub.execute_input", "shell.execute_reply"} <= timing.keys():
        seconds = _when(timing["shell.execute_reply"]) - _when(timing["iopub.execute_input"])
        run.slowest.append((seconds, cell.id))


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def _when(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
