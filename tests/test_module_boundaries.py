"""Each module of ae_utils uses only the public names of the others (checked in the source)."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "ae_utils"


def private_uses(package: Path) -> list[str]:
    """Every ``from <sibling> import _name`` and ``<sibling>._name`` in a package's modules."""
    found = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ImportFrom) and (node.level > 0 or (node.module or "").startswith("ae_utils")):
                found += [f"{path.name}: from {node.module} import {a.name}" for a in node.names
                          if a.name.startswith("_") and not a.name.startswith("__")]
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                base = node.value
                if isinstance(base, ast.Name) and base.id != path.stem and (package / f"{base.id}.py").exists():
                    found.append(f"{path.name}: {base.id}.{node.attr}")
    return found


def test_no_module_uses_another_modules_private_names():
    assert private_uses(PACKAGE) == []


def test_the_rule_finds_private_imports_and_attributes(tmp_path):
    (tmp_path / "a.py").write_text("from .b import _hidden, shown\n")
    (tmp_path / "b.py").write_text("from . import checks\nchecks._private\nchecks.public\n")
    (tmp_path / "checks.py").write_text("_own = 1\n")
    assert private_uses(tmp_path) == ["a.py: from b import _hidden", "b.py: checks._private"]
