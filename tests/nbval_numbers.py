"""Notebook outputs compared for what they say: every word exactly, printed readings within a tolerance.

nbval (``pytest --nbval``) compares each cell's stored outputs with a fresh run's, character for
character. Numbers that come out of floating-point work differ in their last digits from one CPU to the
next (other SIMD kernels, other summation orders; README, "Numbers across machines"). This pytest plugin
lines up each new output with its stored one first and, where the two texts differ only in numbers that
agree by the rule below, hands nbval the stored text. Everything else is compared exactly, with nbval's own
report: words, punctuation, the count and order of numbers, output kinds and error names. Error messages,
warnings and every other compared text follow the same rule as stdout.

A *reading* is a number printed with a decimal point or an exponent (``0.2408``, ``4.5e-07``); an
*integer* has neither (``800``, ``54`` in ``54%``, ``1,250``). By default:

- an integer must be equal;
- a reading must be equal, or differ by one unit in the last digit the stored reading shows
  (``0.2408``: 0.0001; ``4.5e-07``: 1e-08) when it shows at least three significant digits and the new
  reading has the same form (as many decimals, an exponent or not). Two values within ``d`` of each other
  print at most ``d + unit`` apart, and a value near a rounding boundary prints either way after any change
  in its last bits, so no rule stricter than one unit can be met by work that is not bit-identical. With one
  or two significant digits (``1e-2``, ``1.5``, ``0.0e+00``) a unit is a tenth or more of the value, and such
  a reading is most often a setting, not a result, so it must be equal.

A cell whose numbers come out of work that amplifies rounding (training, mostly) states its tolerance in its
metadata, with the reason::

    "nbval-numbers": {"rtol": 0.05, "why": "held-out BCE after 1,250 float32 Adam steps at lr 1e-2"}

- A reading there may move by ``unit + max(rtol * |stored|, atol)``, whatever its digits.
- ``"integers": true`` lets integers move by the same rule with a unit of 1 (counts and percentages that are
  themselves outcomes of floating-point work); ``"integers": N`` lets them move by N (a run stopped at a
  check made every N steps may stop one check earlier or later). Otherwise integers stay exact.
- ``"positions": [3, 5]`` limits the tolerance to those numbers (counted from 1 in each output text, as the
  failure report counts them); the others keep the default rule.
- The reason is required: a tolerance is a claim about how far the mathematics lets a number move.

nbval has no hook for its comparison, so this plugin wraps ``IPyNbCell.compare_outputs`` (nbval 0.11; the
test lock pins it). ``tests/test_nbval_numbers.py`` checks the rule at its edges and, through pytest and a
real kernel, that a changed word or a number moved past its tolerance still fails.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from decimal import Decimal

import pytest

METADATA_KEY = "nbval-numbers"

# A number not glued to a word, a dot or a version string: "0.2408", "-3", "1.5e-07", "1e-2", "1,250"
# count; "t10k", "cu13", "784x784", "2.15.0", "1.5x" do not. A sentence's full stop after a number is allowed.
NUMBER = re.compile(r"(?<![\w.,])[-+]?(?:\d{1,3}(?:,\d{3})+|\d+\.\d+|\d+)(?:[eE][-+]?\d+)?(?!\.?\w|,\d{3})")


@dataclass(frozen=True)
class Tolerance:
    """How far a cell's printed numbers may move (see the module's docstring)."""

    rtol: float = 0.0
    atol: float = 0.0
    integers: bool | int = False  # False: equal; True: the readings' rule with a unit of 1; N: within N
    positions: tuple[int, ...] | None = None  # the numbers it applies to, from 1; None: all
    why: str = ""

    def at(self, position: int) -> Tolerance:
        """The tolerance for the number at ``position``: this one, or the default where it does not apply."""
        return self if self.positions is None or position in self.positions else DEFAULT

    @classmethod
    def of_cell(cls, metadata: dict) -> Tolerance:
        """The tolerance a cell's metadata states, or the default; a malformed entry is an error."""
        spec = metadata.get(METADATA_KEY)
        if spec is None:
            return DEFAULT
        where = f"cell metadata {METADATA_KEY!r}"
        if not isinstance(spec, dict):
            raise ValueError(f"{where} must be a mapping, got {spec!r}")
        unknown = set(spec) - {"rtol", "atol", "integers", "positions", "why"}
        if unknown:
            raise ValueError(
                f"{where} has unknown keys {sorted(unknown)}; allowed: rtol, atol, integers, positions, why"
            )
        why = spec.get("why")
        if not isinstance(why, str) or not why.strip():
            raise ValueError(f"{where} must say why the numbers may move: add a 'why' text")
        values = {}
        for key in ("rtol", "atol"):
            value = spec.get(key, 0.0)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
                raise ValueError(f"{where}: {key} must be a finite number >= 0, got {value!r}")
            values[key] = float(value)
        integers = spec.get("integers", False)
        if not (isinstance(integers, bool) or (isinstance(integers, int) and integers >= 1)):
            raise ValueError(
                f"{where}: integers must be true, false or a whole number >= 1 "
                f"(how far a count may move), got {integers!r}"
            )
        positions = spec.get("positions")
        if positions is not None:
            if (
                not isinstance(positions, list)
                or not positions
                or not all(isinstance(p, int) and not isinstance(p, bool) and p >= 1 for p in positions)
            ):
                raise ValueError(
                    f"{where}: positions must be a non-empty list of whole numbers >= 1 (which "
                    f"numbers of the output, counted from 1), got {positions!r}"
                )
            positions = tuple(positions)
        return cls(values["rtol"], values["atol"], integers, positions, why)


DEFAULT = Tolerance()


def _is_integer(token: str) -> bool:
    return "." not in token and "e" not in token.lower()


def _mantissa(token: str) -> str:
    return token.lower().partition("e")[0].lstrip("+-")


def _unit(token: str) -> Decimal:
    """One unit in the last digit that ``token`` shows; none for a zero in exponent form (``0.0e+00``), whose
    exponent says nothing of the scale."""
    mantissa, _, exponent = token.lower().partition("e")
    if exponent and Decimal(mantissa) == 0:
        return Decimal(0)
    return Decimal(1).scaleb(int(exponent or 0) - len(mantissa.partition(".")[2]))


def _significant_digits(token: str) -> int:
    return len(_mantissa(token).replace(".", "").lstrip("0"))


def _same_form(a: str, b: str) -> bool:
    """As many decimals, and an exponent in both or in neither: the same format printed both."""
    return ("e" in a.lower()) == ("e" in b.lower()) and len(_mantissa(a).partition(".")[2]) == len(
        _mantissa(b).partition(".")[2]
    )


def _disagreement(a: str, b: str, tolerance: Tolerance) -> str | None:
    """Why the new number ``b`` does not agree with the stored ``a``, or None."""
    if a == b:
        return None
    if _is_integer(a) != _is_integer(b):
        return "one is an integer, the other is not"
    stored, new = Decimal(a.replace(",", "")), Decimal(b.replace(",", ""))
    if _is_integer(a):
        if tolerance.integers is False:
            return "integers must be equal" + ("" if tolerance.why else " (no tolerance stated for this number)")
        allowed = (
            Decimal(tolerance.integers)
            if tolerance.integers is not True
            else 1 + max(Decimal(repr(tolerance.rtol)) * abs(stored), Decimal(repr(tolerance.atol)))
        )
    elif tolerance.rtol or tolerance.atol:
        allowed = _unit(a) + max(Decimal(repr(tolerance.rtol)) * abs(stored), Decimal(repr(tolerance.atol)))
    elif _significant_digits(a) < 3:
        return "a reading with fewer than three significant digits must be equal (no tolerance stated for this number)"
    elif not _same_form(a, b):
        return "they are printed in different forms (decimals or exponent)"
    else:
        allowed = _unit(a)
    if abs(stored - new) > allowed:
        why = tolerance.why or "one unit in the last printed digit; no tolerance stated for this number"
        return f"they differ by {float(abs(stored - new)):.3g}, more than the {float(allowed):.3g} allowed ({why})"
    return None


def first_disagreement(stored: str, new: str, tolerance: Tolerance = DEFAULT) -> str | None:
    """Why ``new`` does not say what ``stored`` says, or None when it does (words exactly, numbers by the rule)."""
    if stored == new:
        return None
    if NUMBER.split(stored) != NUMBER.split(new):
        return "the text differs, not only its numbers"
    for position, (a, b) in enumerate(zip(NUMBER.findall(stored), NUMBER.findall(new)), 1):
        reason = _disagreement(a, b, tolerance.at(position))
        if reason:
            return f"number {position}: stored {a}, new {b}: {reason}"
    return None


def _texts(output) -> list[tuple[str, ...]]:
    """The paths to the compared texts inside one output: a stream's text, each text MIME, an error's message."""
    if output.get("output_type") == "stream":
        return [("text",)]
    if output.get("output_type") == "error":
        return [("evalue",)]
    return [
        ("data", mime)
        for mime, value in output.get("data", {}).items()
        if mime.startswith("text/") and isinstance(value, str)
    ]


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
