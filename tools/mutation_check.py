"""How many plausible one-line bugs do the unit tests catch? A mutation check, by hand-written mutants.

A set of mutants (``tools/mutants/*.py``: a list ``MUTANTS`` of ``(id, module, old text, new text, what it
breaks)``) is applied one mutant at a time to a copy of the committed package (``git archive HEAD``). For each,
the module's tests and ``tests/test_bad_calls.py`` run first, then, if they pass, every unit test (not the
browser, full-run, environment and lab-command tests, which test the set-up rather than ``ae_utils``). A mutant
is killed when a test fails. One whose old text no longer occurs exactly once in its module (the code moved on
since the set was written) is reported as stale and not counted.

    AE_DATA_DIR=... .venv/bin/python tools/mutation_check.py tools/mutants/set3.py [ID ...]

About ten minutes for 40 mutants at one thread.
"""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SET_UP_TESTS = ["test_browser.py", "test_full_run.py", "test_environment.py", "test_lab_command.py"]


def tests_fail(copy: Path, args: list[str]) -> str | None:
    """The first failing test of ``pytest args`` run in ``copy``, or None when every test passes."""
    env = dict(os.environ, PYTHONPATH=str(copy), CI="true", OMP_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1")
    command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-rf", "--tb=no", *args]
    run = subprocess.run(command, cwd=copy, env=env, capture_output=True, text=True)
    if run.returncode == 0:
        return None
    failed = [line.split()[1] for line in run.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
    return failed[0] if failed else run.stdout.strip().splitlines()[-1]


def check(copy: Path, module: str, old: str, new: str) -> str:
    """KILLED (by which test), SURVIVED or STALE, for one mutant; the module is restored afterwards."""
    path = copy / "ae_utils" / f"{module}.py"
    original = path.read_text()
    if original.count(old) != 1:
        return f"STALE (the old text occurs {original.count(old)} times)"
    path.write_text(original.replace(old, new))
    try:
        failed = tests_fail(copy, [f"tests/test_{module}.py", "tests/test_bad_calls.py"])
        if failed is None:
            failed = tests_fail(copy, ["tests", *(f"--ignore=tests/{name}" for name in SET_UP_TESTS)])
    finally:
        path.write_text(original)
    return "SURVIVED" if failed is None else f"KILLED by {failed}"


def main() -> None:
    mutants = runpy.run_path(sys.argv[1])["MUTANTS"]
    chosen = [m for m in mutants if not sys.argv[2:] or m[0] in sys.argv[2:]]
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder)
        archive = subprocess.run(["git", "archive", "HEAD"], cwd=ROOT, capture_output=True, check=True).stdout
        tarfile.open(fileobj=BytesIO(archive)).extractall(copy, filter="data")
        results = []
        for mutant_id, module, old, new, what in chosen:
            results.append(check(copy, module, old, new))
            print(f"{mutant_id:4} {module:16} {results[-1]:70.70}  {what}", flush=True)
    counted = [result for result in results if not result.startswith("STALE")]
    killed = sum(result.startswith("KILLED") for result in counted)
    rate = killed / max(len(counted), 1)
    print(f"killed {killed} of {len(counted)} ({rate:.1%}); {len(results) - len(counted)} stale")


if __name__ == "__main__":
    main()
