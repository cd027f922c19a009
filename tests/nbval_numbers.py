"""Notebook outputs compared for what they say: every word exactly, printed readings within a tolerance.

nbval (``pytest --nbval``) compares each cell's stored outputs with a fresh run's, character for
character. Numbers that come out of floating-point work differ in their last digits from one CPU to the
next (other SIMD kernels, other summation orders; README, "Numbers across machines"). This pytest plugin
lines up each new output with its stored one first and, where the two texts differ only in readings that
agree within the cell's tolerance, hands nbval the stored text. Everything else is still compared exactly,
with nbval's own report: words, punctuation, the count and order of numbers, integers, error names and
messages, warnings.

A *reading* is a number printed with a decimal point or an exponent (``0.2408``, ``4.5e-07``). A new
reading agrees with the stored one when

    |new - stored| <= unit + max(rtol * |stored|, atol)

- ``unit`` is one unit in the last digit the stored reading shows (``0.2408``: 0.0001; ``4.5e-07``: 1e-08;
  a stored zero in exponent form, ``0.0e+00``: none). Two values within ``d`` of each other print at most
  ``d + unit`` apart, and a value near a rounding boundary prints either way after any change in its last
  bits, so no tolerance below one unit can be met by work that is not bit-identical.
- ``rtol`` and ``atol`` are 0 unless the cell states its own in its metadata, with the reason::

      "nbval-numbers": {"rtol": 0.05, "why": "held-out BCE after 1,250 float32 Adam steps"}

  The reason is required: a tolerance is a claim about how far the mathematics lets a number move.
- Integers (no point, no exponent: counts, shapes, steps, seeds) must be equal, unless the cell's metadata
  also says ``"integers": true``, for counts and percentages that are themselves outcomes of floating-point
  work (they then follow the same rule with a unit of 1), or ``"integers": N``, for a count that moves in
  steps of N (a training run stopped at a check made every N steps may stop one check earlier or later).

nbval has no hook for its comparison, so this plugin wraps ``IPyNbCell.compare_outputs`` (nbval 0.11; the
test lock pins it). ``tests/test_nbval_numbers.py`` checks the rule at its edges and, through pytest and a
real kernel, that a changed word or a reading moved past its tolerance still fails.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from decimal import Decimal

import pytest

METADATA_KEY = "nbval-numbers"

# A number not glued to a word, a dot or a version string: "0.2408", "-3", "1.5e-07", "1e-2" count;
# "t10k", "cu13", "784x784", "2.15.0" do not. A sentence's full stop after a number is allowed.
NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d+|\d+)(?:[eE][-+]?\d+)?(?!\.?\w)")


@dataclass(frozen=True)
class Tolerance:
    """How far a cell's printed numbers may move: ``unit + max(rtol * |stored|, atol)``."""

    rtol: float = 0.0
    atol: float = 0.0
    integers: bool | int = False  # False: equal; True: the rule above, unit 1; N: within N
    why: str = "default: one unit in the last printed digit"

    @classmethod
    def of_cell(cls, metadata: dict) -> Tolerance:
        """The tolerance a cell's metadata states, or the default; a malformed entry is an error."""
        spec = metadata.get(METADATA_KEY)
        if spec is None:
            return cls()
        if not isinstance(spec, dict):
            raise ValueError(f"cell metadata {METADATA_KEY!r} must be a mapping, got {spec!r}")
        unknown = set(spec) - {"rtol", "atol", "integers", "why"}
        if unknown:
            raise ValueError(f"cell metadata {METADATA_KEY!r} has unknown keys {sorted(unknown)}; "
                             "allowed: rtol, atol, integers, why")
        why = spec.get("why")
        if not isinstance(why, str) or not why.strip():
            raise ValueError(f"cell metadata {METADATA_KEY!r} must say why the numbers may move: add a 'why' text")
        values = {}
        for key in ("rtol", "atol"):
            value = spec.get(key, 0.0)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
                raise ValueError(f"cell metadata {METADATA_KEY!r}: {key} must be a finite number >= 0, got {value!r}")
            values[key] = float(value)
        integers = spec.get("integers", False)
        if not (isinstance(integers, bool) or (isinstance(integers, int) and integers >= 1)):
            raise ValueError(f"cell metadata {METADATA_KEY!r}: integers must be true, false or a whole number >= 1 "
                             f"(how far a count may move), got {integers!r}")
        return cls(values["rtol"], values["atol"], integers, why)


def _is_integer(token: str) -> bool:
    return "." not in token and "e" not in token.lower()


def _unit(token: str) -> Decimal:
    """One unit in the last digit that ``token`` shows; 0 for a zero written with an exponent."""
    mantissa, _, exponent = token.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    if exponent and Decimal(mantissa) == 0:
        return Decimal(0)
    return Decimal(1).scaleb(int(exponent or 0) - decimals)


def first_disagreement(stored: str, new: str, tolerance: Tolerance = Tolerance()) -> str | None:
    """Why ``new`` does not say what ``stored`` says, or None when it does (words exactly, numbers within tolerance)."""
    if stored == new:
        return None
    stored_words, new_words = NUMBER.split(stored), NUMBER.split(new)
    if stored_words != new_words:
        return "the text differs, not only its numbers"
    for position, (a, b) in enumerate(zip(NUMBER.findall(stored), NUMBER.findall(new)), 1):
        if a == b:
            continue
        if _is_integer(a) != _is_integer(b):
            return f"number {position}: stored {a}, new {b}: one is an integer, the other is not"
        if _is_integer(a) and tolerance.integers is False:
            return f"number {position}: stored {a}, new {b}: integers must be equal"
        if _is_integer(a) and tolerance.integers is not True:
            allowed = Decimal(tolerance.integers)
        else:
            unit = Decimal(1) if _is_integer(a) else _unit(a)
            allowed = unit + max(Decimal(repr(tolerance.rtol)) * abs(Decimal(a)), Decimal(repr(tolerance.atol)))
        if abs(Decimal(a) - Decimal(b)) > allowed:
            return (f"number {position}: stored {a}, new {b}: they differ by {float(abs(Decimal(a) - Decimal(b))):.3g}, "
                    f"more than the {float(allowed):.3g} allowed ({tolerance.why})")
    return None


def _texts(output) -> list[tuple[str, ...]]:
    """The paths to the compared texts inside one output: a stream's text, each text MIME, an error's message."""
    if output.get("output_type") == "stream":
        return [("text",)]
    if output.get("output_type") == "error":
        return [("evalue",)]
    return [("data", mime) for mime, value in output.get("data", {}).items()
            if mime.startswith("text/") and isinstance(value, str)]


def _get(output, path):
    for key in path:
        output = output[key]
    return output


def _set(output, path, value):
    for key in path[:-1]:
        output = output[key]
    output[path[-1]] = value


def _kind(output) -> tuple:
    return output.get("output_type"), output.get("name")


def reconcile(new_outputs: list, stored_outputs: list, tolerance: Tolerance, sanitize=lambda s: s):
    """A copy of ``new_outputs`` in which each text that says what its stored counterpart says is replaced by
    the stored text; also the reasons why the others do not. Outputs are paired in order within each kind
    (stdout with stdout, the k-th display with the k-th display)."""
    reconciled, reasons = copy.deepcopy(new_outputs), []
    stored_by_kind: dict[tuple, list] = {}
    for output in stored_outputs:
        stored_by_kind.setdefault(_kind(output), []).append(output)
    seen: dict[tuple, int] = {}
    for output in reconciled:
        kind = _kind(output)
        index = seen[kind] = seen.get(kind, -1) + 1
        if index >= len(stored_by_kind.get(kind, [])):
            continue
        stored = stored_by_kind[kind][index]
        for path in _texts(output):
            try:
                stored_text = _get(stored, path)
            except (KeyError, TypeError):
                continue
            new_text = _get(output, path)
            if not isinstance(stored_text, str):
                continue
            reason = first_disagreement(sanitize(stored_text), sanitize(new_text), tolerance)
            if reason is None:
                _set(output, path, stored_text)
            else:
                reasons.append(f"{'/'.join(path)} of output {kind[1] or kind[0]} {index + 1}: {reason}")
    return reconciled, reasons


def pytest_configure(config):
    """Wrap nbval's comparison so that readings are compared within their cell's tolerance."""
    if not config.pluginmanager.hasplugin("nbval"):
        return
    from nbval.plugin import IPyNbCell

    exact = IPyNbCell.compare_outputs
    if getattr(exact, "compares_numbers_within_tolerance", False):
        return

    def compare_outputs(self, test, ref, skip_compare=None):
        try:
            tolerance = Tolerance.of_cell(self.cell.metadata)
        except ValueError as error:
            pytest.fail(f"{self.fspath.basename}, code cell {self.cell_num}: {error}", pytrace=False)
        reconciled, reasons = reconcile(test, ref, tolerance, self.sanitize)
        same = exact(self, reconciled, ref, skip_compare)
        if not same and reasons:
            self.comparison_traceback.append("Numbers were compared within a tolerance (tests/nbval_numbers.py):")
            self.comparison_traceback.extend(f"  {reason}" for reason in reasons)
        return same

    compare_outputs.compares_numbers_within_tolerance = True
    IPyNbCell.compare_outputs = compare_outputs
