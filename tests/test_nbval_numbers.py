"""tests/nbval_numbers.py: stored notebook outputs compared for what they say. Words, integers and the count of
numbers must match exactly; a printed reading of three or more significant digits may move by one unit in its
last digit, and a cell that states a tolerance lets its numbers move that far, no further. The last test runs
pytest --nbval on a notebook with mutated stored outputs."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbval_numbers import Tolerance, first_disagreement, reconcile

TESTS = Path(__file__).resolve().parent
WHY = "a test"


@pytest.mark.parametrize(
    ("stored", "new"),
    [
        ("loss 0.2408", "loss 0.2408"),
        ("loss 0.2408", "loss 0.2409"),  # one unit: a value near a rounding boundary prints either way
        ("loss 0.2408", "loss 0.2407"),
        ("4.52e-07", "4.53e-07"),  # a unit of an exponent form is relative to its exponent
        ("9.99e-07", "9.98e-07"),
        ("-1.25 and 3.50", "-1.26 and 3.49"),
        ("0.0999 then", "0.1000 then"),  # a carry into the next digit: still one unit
        ("at step 5.", "at step 5."),  # a full stop after an integer is punctuation
    ],
)
def test_readings_within_one_unit_agree(stored, new):
    assert first_disagreement(stored, new) is None


@pytest.mark.parametrize(
    ("stored", "new", "reason"),
    [
        ("loss 0.2408", "loss 0.2410", "number 1: stored 0.2408, new 0.2410: they differ by 0.0002"),
        ("4.52e-07", "4.54e-07", "number 1"),
        ("0.0e+00", "1.0e-300", "fewer than three significant digits"),  # a zero in exponent form: only equal
        ("-0.5", "0.5", "fewer than three significant digits"),  # a flipped sign
        ("lr 1e-2", "lr 1e-5", "fewer than three significant digits"),  # a setting, not a result
        ("value=0.01,", "value=0.02,", "fewer than three significant digits"),
        ("rate 1.5", "rate 1.6", "fewer than three significant digits"),
        ("0.5", "0.54999", "fewer than three significant digits"),
        ("0.2408", "0.24081", "different forms"),  # another format printed it
        ("2.41e-01", "0.241", "different forms"),
        ("torch 2.15.0", "torch 2.14.0", "the text differs"),  # a version is text, not numbers
        ("x1.5", "x1.6", "the text differs"),  # numbers glued to a word are text
        ("1.5x", "1.6x", "the text differs"),
        ("1.0", "1", "one is an integer"),
        ("x 1.0 y 2.0", "x 1.0 y 2.2", "number 2"),
        ("loss 0.2408", "lost 0.2408", "the text differs"),
        ("loss 0.2408", "loss 0.2408 0.1", "the text differs"),  # one number more
        ("torch 2.15.0", "torch 2.14.1", "the text differs"),  # a version is text, not numbers
        ("t10k images", "t20k images", "the text differs"),
        ("(100, 2)", "(101, 2)", "integers must be equal"),
        ("step 196", "step 223", "integers must be equal"),
        ("1", "1.0", "one is an integer"),
    ],
)
def test_anything_else_disagrees(stored, new, reason):
    assert reason in first_disagreement(stored, new)


def test_a_tolerance_can_be_limited_to_some_of_the_numbers():
    stored = "floor for k = 32: 0.01661\nlinear autoencoder: 0.01676 = 1.0089 x the floor after 800 steps"
    trained = Tolerance(rtol=0.01, integers=50, positions=(3, 4, 5), why=WHY)  # the last three numbers only
    assert (
        first_disagreement(
            stored, stored.replace("0.01676 = 1.0089", "0.01690 = 1.0175").replace("800", "850"), trained
        )
        is None
    )
    assert "number 1: stored 32, new 64: integers must be equal" in first_disagreement(
        stored, stored.replace("k = 32", "k = 64"), trained
    )
    assert "number 2" in first_disagreement(stored, stored.replace("0.01661", "0.01663"), trained)
    assert "number 5" in first_disagreement(stored, stored.replace("800", "851"), trained)
    counts_only = Tolerance(integers=50, why=WHY)  # says nothing of readings: they keep the default rule
    assert first_disagreement("800 steps, lr 1.5", "850 steps, lr 1.5", counts_only) is None
    assert "fewer than three significant digits" in first_disagreement(
        "800 steps, lr 1.5", "800 steps, lr 1.6", counts_only
    )


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
    assert first_disagreement("0.000000", "0.000002", cell) is None  # unit 1e-6 plus 1e-6
    assert first_disagreement("0.000000", "0.000003", cell) is not None


def test_integers_move_only_where_the_cell_says_so():
    counts = Tolerance(rtol=0.05, integers=True, why=WHY)  # 54 may move by 1 + 2.7
    assert first_disagreement("54% of digits", "57% of digits", counts) is None
    assert first_disagreement("54% of digits", "58% of digits", counts) is not None
    assert first_disagreement("54% of digits", "55% of digits", Tolerance(rtol=0.05, why=WHY)) is not None
    assert first_disagreement("lost 54%", "lose 54%", counts) == "the text differs, not only its numbers"
    assert "integers must be equal" in first_disagreement("1,250 steps", "1,251 steps")  # one number, not two
    assert first_disagreement("1,250 steps", "9,250 steps", counts) is not None
    checked_every_50 = Tolerance(rtol=0.01, integers=50, why=WHY)  # integers within 50, readings within 1%
    assert first_disagreement("0.0168 after 800 steps", "0.0169 after 850 steps", checked_every_50) is None
    assert first_disagreement("0.0168 after 800 steps", "0.0168 after 851 steps", checked_every_50) is not None
    assert first_disagreement("0.0168 after 800 steps", "0.0171 after 800 steps", checked_every_50) is not None


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ({}, Tolerance()),
        ({"tags": ["x"]}, Tolerance()),
        ({"nbval-numbers": {"rtol": 0.05, "why": "training"}}, Tolerance(rtol=0.05, why="training")),
        ({"nbval-numbers": {"atol": 1, "integers": True, "why": "w"}}, Tolerance(atol=1.0, integers=True, why="w")),
        ({"nbval-numbers": {"rtol": 0.1, "positions": [2], "why": "w"}}, Tolerance(rtol=0.1, positions=(2,), why="w")),
    ],
)
def test_a_cell_states_its_tolerance_in_its_metadata(metadata, expected):
    assert Tolerance.of_cell(metadata) == expected


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ({"rtol": 0.05}, "must say why"),
        ({"rtol": 0.05, "why": "  "}, "must say why"),
        ({"rtol": -0.1, "why": WHY}, "rtol must be a finite number >= 0"),
        ({"atol": float("inf"), "why": WHY}, "atol must be a finite number >= 0"),
        ({"rtol": "0.05", "why": WHY}, "rtol must be a finite number"),
        ({"rtol": True, "why": WHY}, "rtol must be a finite number"),
        ({"integers": "yes", "why": WHY}, "integers must be true, false or a whole number >= 1"),
        ({"integers": 0, "why": WHY}, "integers must be true, false or a whole number >= 1"),
        ({"integers": 2.5, "why": WHY}, "integers must be true, false or a whole number >= 1"),
        ({"positions": [], "why": WHY}, "positions must be a non-empty list"),
        ({"positions": [0, 2], "why": WHY}, "positions must be a non-empty list"),
        ({"positions": 3, "why": WHY}, "positions must be a non-empty list"),
        ({"rtl": 0.05, "why": WHY}, r"unknown keys \['rtl'\]"),
        (0.05, "must be a mapping"),
    ],
)
def test_a_malformed_tolerance_is_refused_with_the_reason(spec, match):
    with pytest.raises(ValueError, match=match):
        Tolerance.of_cell({"nbval-numbers": spec})


def _stream(name, text):
    return nbformat.v4.new_output("stream", name=name, text=text)


def test_reconcile_pairs_outputs_by_kind_and_keeps_the_rest_as_run():
    stored = [
        _stream("stdout", "a 0.5000"),
        _stream("stderr", "b 1.00"),
        nbformat.v4.new_output("execute_result", data={"text/plain": "0.250"}, execution_count=1),
    ]
    new = [
        _stream("stderr", "b 1.10"),
        _stream("stdout", "a 0.5001"),
        nbformat.v4.new_output("execute_result", data={"text/plain": "0.260"}, execution_count=2),
    ]
    before = [dict(o) for o in new]
    reconciled, reasons = reconcile(new, stored, Tolerance())
    assert reconciled[1]["text"] == "a 0.5000"  # stdout with stdout: agrees, stored text
    assert reconciled[0]["text"] == "b 1.10"  # stderr moved by ten units: kept
    assert reconciled[2]["data"]["text/plain"] == "0.260"  # ten units past 0.250: kept
    assert [r.split(":")[0] for r in reasons] == [
        "text of output stderr 1",
        "data/text/plain of output execute_result 1",
    ]
    assert [dict(o) for o in new] == before  # the new outputs themselves are untouched


def test_reconcile_compares_error_messages_and_leaves_extra_outputs_for_nbval():
    stored = [nbformat.v4.new_output("error", ename="TrainingDiverged", evalue="at step 5: lr 1.5", traceback=[])]
    new = [
        nbformat.v4.new_output("error", ename="TrainingDiverged", evalue="at step 6: lr 1.5", traceback=[]),
        _stream("stdout", "extra"),
    ]
    reconciled, reasons = reconcile(new, stored, Tolerance())
    assert reconciled[0]["evalue"] == "at step 6: lr 1.5" and "integers must be equal" in reasons[0]
    assert reconciled[1]["text"] == "extra" and len(reasons) == 1


def _cell(source, stored_text, tolerance=None, output=None):
    cell = nbformat.v4.new_code_cell(source, execution_count=1, outputs=[output or _stream("stdout", stored_text)])
    if tolerance is not None:
        cell.metadata["nbval-numbers"] = tolerance
    return cell


def _result(text):
    return nbformat.v4.new_output("execute_result", data={"text/plain": text}, execution_count=1)


def _error_cell(source, message):
    error = nbformat.v4.new_output("error", ename="ValueError", evalue=message, traceback=[])
    return nbformat.v4.new_code_cell(
        source, execution_count=1, outputs=[error], metadata={"tags": ["raises-exception"]}
    )


def test_pytest_nbval_fails_a_mutated_output_and_passes_a_rounding_difference(pytester, monkeypatch):
    """A real kernel runs each cell; the stored outputs below are what another machine might have written."""
    cells = [
        _cell("print(f'sum {0.1 + 0.2:.4f}')", "sum 0.3001\n"),  # 0 one unit off: passes
        _cell("print(f'sum {0.1 + 0.2:.4f}')", "sum 0.3003\n"),  # 1 three units off: fails
        _cell("print(f'sum {0.1 + 0.2:.4f}')", "total 0.3000\n"),  # 2 a changed word: fails
        _cell("print(f'third {1 / 3:.4f}')", "third 0.3400\n", {"rtol": 0.05, "why": "test"}),  # 3 within 5%: passes
        _cell("print(f'third {1 / 3:.4f}')", "third 0.3600\n", {"rtol": 0.05, "why": "test"}),  # 4 past 5%: fails
        _cell("print('step', 196)", "step 223\n"),  # 5 an integer: fails
        _cell("print(f'sum {0.1 + 0.2:.4f}')", "sum 0.3000\n", {"rtol": 0.05}),  # 6 no reason given: fails
        _cell("f'{2 / 3:.5f}'", None, output=_result("'0.66668'")),  # 7 a value, one unit: passes
        _cell("f'{2 / 3:.5f}'", None, output=_result("'0.66670'")),  # 8 three units: fails
        _error_cell("raise ValueError(f'sum {0.1 + 0.2:.4f}')", "sum 0.3001"),  # 9 an error, one unit: passes
        _error_cell("raise ValueError(f'sum {0.1 + 0.2:.4f}')", "total 0.3000"),  # 10 another message: fails
    ]
    notebook = nbformat.v4.new_notebook(
        cells=cells, metadata={"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}}
    )
    nbformat.write(notebook, pytester.path / "mutated.ipynb")
    monkeypatch.setenv("PYTHONPATH", str(TESTS))
    result = pytester.runpytest_subprocess(
        "-p", "nbval_numbers", "--nbval", "--nbval-current-env", "--color=no", "-p", "no:cacheprovider", "mutated.ipynb"
    )
    failed = {int(line.split("::Cell ")[1].split()[0]) for line in result.outlines if line.startswith("FAILED mutated")}
    assert failed == {1, 2, 4, 5, 6, 8, 10}
    result.assert_outcomes(passed=4, failed=7)
    output = "\n".join(result.outlines)
    assert "number 1: stored 0.3003, new 0.3000" in output  # the report says which number and by how much
    assert "must say why the numbers may move" in output
