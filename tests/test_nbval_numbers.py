"""tests/nbval_numbers.py: stored notebook outputs compared for what they say. Words, integers and the count of
numbers must match exactly; a printed reading may move by one unit in its last digit plus its cell's tolerance,
and not further. The last test runs pytest --nbval on a notebook with mutated stored outputs."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbval_numbers import Tolerance, first_disagreement, reconcile

TESTS = Path(__file__).resolve().parent
WHY = "a test"


@pytest.mark.parametrize(("stored", "new"), [
    ("loss 0.2408", "loss 0.2408"),
    ("loss 0.2408", "loss 0.2409"),    # one unit: a value near a rounding boundary prints either way
    ("loss 0.2408", "loss 0.2407"),
    ("4.5e-07", "4.6e-07"),            # a unit of an exponent form is relative to its exponent
    ("-1.25 and 3.50", "-1.26 and 3.49"),
    ("at step 5.", "at step 5."),      # a full stop after an integer is punctuation
])
def test_readings_within_one_unit_agree(stored, new):
    assert first_disagreement(stored, new) is None


@pytest.mark.parametrize(("stored", "new", "reason"), [
    ("loss 0.2408", "loss 0.2410", "number 1: stored 0.2408, new 0.2410: they differ by 0.0002"),
    ("4.5e-07", "4.7e-07", "number 1"),
    ("0.0e+00", "1.0e-300", "number 1"),   # a zero in exponent form shows no unit: only equal agrees
    ("-0.5", "0.5", "number 1"),           # a flipped sign
    ("x 1.0 y 2.0", "x 1.0 y 2.2", "number 2"),
    ("loss 0.2408", "lost 0.2408", "the text differs"),
    ("loss 0.2408", "loss 0.2408 0.1", "the text differs"),  # one number more
    ("torch 2.15.0", "torch 2.14.1", "the text differs"),     # a version is text, not numbers
    ("t10k images", "t20k images", "the text differs"),
    ("(100, 2)", "(101, 2)", "integers must be equal"),
    ("step 196", "step 223", "integers must be equal"),
    ("1", "1.0", "one is an integer"),
])
def test_anything_else_disagrees(stored, new, reason):
    assert reason in first_disagreement(stored, new)


def test_relative_tolerance_at_its_edge():
    cell = Tolerance(rtol=0.01, why=WHY)  # on 1.000: one unit (0.001) plus 1% (0.010)
    assert first_disagreement("1.000", "1.011", cell) is None
    assert first_disagreement("1.000", "0.989", cell) is None
    assert "more than the 0.011 allowed (a test)" in first_disagreement("1.000", "1.012", cell)
    assert first_disagreement("1.000", "1.012") is not None and first_disagreement("1.000", "1.002") is not None


def test_absolute_tolerance_at_its_edge():
    cell = Tolerance(atol=1e-6, why=WHY)
    assert first_disagreement("0.0e+00", "1.0e-06", cell) is None
    assert first_disagreement("0.0e+00", "1.1e-06", cell) is not None
    assert first_disagreement("0.000000", "0.000002", cell) is None       # unit 1e-6 plus 1e-6
    assert first_disagreement("0.000000", "0.000003", cell) is not None


def test_integers_move_only_where_the_cell_says_so():
    counts = Tolerance(rtol=0.05, integers=True, why=WHY)   # 54 may move by 1 + 2.7
    assert first_disagreement("54% of digits", "57% of digits", counts) is None
    assert first_disagreement("54% of digits", "58% of digits", counts) is not None
    assert first_disagreement("54% of digits", "55% of digits", Tolerance(rtol=0.05, why=WHY)) is not None
    assert first_disagreement("lost 54%", "lose 54%", counts) == "the text differs, not only its numbers"
    checked_every_50 = Tolerance(rtol=0.01, integers=50, why=WHY)   # integers within 50, readings within 1%
    assert first_disagreement("0.0168 after 800 steps", "0.0169 after 850 steps", checked_every_50) is None
    assert first_disagreement("0.0168 after 800 steps", "0.0168 after 851 steps", checked_every_50) is not None
    assert first_disagreement("0.0168 after 800 steps", "0.0171 after 800 steps", checked_every_50) is not None


@pytest.mark.parametrize(("metadata", "expected"), [
    ({}, Tolerance()),
    ({"tags": ["x"]}, Tolerance()),
    ({"nbval-numbers": {"rtol": 0.05, "why": "training"}}, Tolerance(rtol=0.05, why="training")),
    ({"nbval-numbers": {"atol": 1, "integers": True, "why": "w"}}, Tolerance(atol=1.0, integers=True, why="w")),
])
def test_a_cell_states_its_tolerance_in_its_metadata(metadata, expected):
    assert Tolerance.of_cell(metadata) == expected


@pytest.mark.parametrize(("spec", "match"), [
    ({"rtol": 0.05}, "must say why"),
    ({"rtol": 0.05, "why": "  "}, "must say why"),
    ({"rtol": -0.1, "why": WHY}, "rtol must be a finite number >= 0"),
    ({"atol": float("inf"), "why": WHY}, "atol must be a finite number >= 0"),
    ({"rtol": "0.05", "why": WHY}, "rtol must be a finite number"),
    ({"rtol": True, "why": WHY}, "rtol must be a finite number"),
    ({"integers": "yes", "why": WHY}, "integers must be true, false or a whole number >= 1"),
    ({"integers": 0, "why": WHY}, "integers must be true, false or a whole number >= 1"),
    ({"integers": 2.5, "why": WHY}, "integers must be true, false or a whole number >= 1"),
    ({"rtl": 0.05, "why": WHY}, r"unknown keys \['rtl'\]"),
    (0.05, "must be a mapping"),
])
def test_a_malformed_tolerance_is_refused_with_the_reason(spec, match):
    with pytest.raises(ValueError, match=match):
        Tolerance.of_cell({"nbval-numbers": spec})


def _stream(name, text):
    return nbformat.v4.new_output("stream", name=name, text=text)


def test_reconcile_pairs_outputs_by_kind_and_keeps_the_rest_as_run():
    stored = [_stream("stdout", "a 0.5000"), _stream("stderr", "b 1.00"),
              nbformat.v4.new_output("execute_result", data={"text/plain": "0.250"}, execution_count=1)]
    new = [_stream("stderr", "b 1.10"), _stream("stdout", "a 0.5001"),
           nbformat.v4.new_output("execute_result", data={"text/plain": "0.260"}, execution_count=2)]
    before = [dict(o) for o in new]
    reconciled, reasons = reconcile(new, stored, Tolerance())
    assert reconciled[1]["text"] == "a 0.5000"                 # stdout with stdout: agrees, stored text
    assert reconciled[0]["text"] == "b 1.10"                   # stderr moved by ten units: kept
    assert reconciled[2]["data"]["text/plain"] == "0.260"      # ten units past 0.250: kept
    assert [r.split(":")[0] for r in reasons] == ["text of output stderr 1", "data/text/plain of output execute_result 1"]
    assert [dict(o) for o in new] == before                    # the new outputs themselves are untouched


def test_reconcile_compares_error_messages_and_leaves_extra_outputs_for_nbval():
    stored = [nbformat.v4.new_output("error", ename="TrainingDiverged", evalue="at step 5: lr 1.5", traceback=[])]
    new = [nbformat.v4.new_output("error", ename="TrainingDiverged", evalue="at step 6: lr 1.5", traceback=[]),
           _stream("stdout", "extra")]
    reconciled, reasons = reconcile(new, stored, Tolerance())
    assert reconciled[0]["evalue"] == "at step 6: lr 1.5" and "integers must be equal" in reasons[0]
    assert reconciled[1]["text"] == "extra" and len(reasons) == 1


def _cell(source, stored_text, tolerance=None):
    cell = nbformat.v4.new_code_cell(source, execution_count=1, outputs=[_stream("stdout", stored_text)])
    if tolerance is not None:
        cell.metadata["nbval-numbers"] = tolerance
    return cell


def test_pytest_nbval_fails_a_mutated_output_and_passes_a_rounding_difference(pytester, monkeypatch):
    """A real kernel runs each cell; the stored outputs below are what another machine might have written."""
    cells = [
        _cell("print(f'sum {0.1 + 0.2:.4f}')", "sum 0.3001\n"),                    # 0 one unit off: passes
        _cell("print(f'sum {0.1 + 0.2:.4f}')", "sum 0.3003\n"),                    # 1 three units off: fails
        _cell("print(f'sum {0.1 + 0.2:.4f}')", "total 0.3000\n"),                  # 2 a changed word: fails
        _cell("print(f'third {1 / 3:.4f}')", "third 0.3400\n", {"rtol": 0.05, "why": "test"}),  # 3 within 5%: passes
        _cell("print(f'third {1 / 3:.4f}')", "third 0.3600\n", {"rtol": 0.05, "why": "test"}),  # 4 past 5%: fails
        _cell("print('step', 196)", "step 223\n"),                                 # 5 an integer: fails
        _cell("print(f'sum {0.1 + 0.2:.4f}')", "sum 0.3000\n", {"rtol": 0.05}),    # 6 no reason given: fails
    ]
    notebook = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "language": "python",
                                                                              "display_name": "Python 3"}})
    nbformat.write(notebook, pytester.path / "mutated.ipynb")
    monkeypatch.setenv("PYTHONPATH", str(TESTS))
    result = pytester.runpytest_subprocess("-p", "nbval_numbers", "--nbval", "--nbval-current-env", "--color=no",
                                           "-p", "no:cacheprovider", "mutated.ipynb")
    failed = {int(line.split("::Cell ")[1].split()[0]) for line in result.outlines if line.startswith("FAILED mutated")}
    assert failed == {1, 2, 4, 5, 6}
    result.assert_outcomes(passed=2, failed=5)
    output = "\n".join(result.outlines)
    assert "number 1: stored 0.3003, new 0.3000" in output        # the report says which number and by how much
    assert "must say why the numbers may move" in output
