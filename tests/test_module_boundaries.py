"""Each module of ae_utils uses only the public names of the others (checked in the source)."""

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "ae_utils"


def private_uses(package: Path) -> list[str]:
    """Every ``from <sibling> import _name`` and ``<sibling>._name`` in a package's modules."""
    found = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ImportFrom) and (node.level > 0 or (node.module or "").startswith("ae_utils")):
                found += [
                    f"{path.name}: from {node.module} import {a.name}"
                    for a in node.names
                    if a.name.startswith("_") and not a.name.startswith("__")
                ]
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


def fast_imports(package: Path, allowed=("__init__.py", "widgets.py")) -> list[str]:
    """The package's modules outside ``fast/`` (bar ``allowed``) that import the speed subpackage."""
    found = []
    for path in sorted(package.glob("*.py")):
        if path.name in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ImportFrom):
                base = ("ae_utils." if node.level else "") + (node.module or "")
                names = [base] + [f"{base}.{a.name}".replace("ae_utils..", "ae_utils.") for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            if any(n == "ae_utils.fast" or n.startswith("ae_utils.fast.") for n in names):
                found.append(path.name)
    return found


def test_the_teaching_core_never_imports_the_speed_subpackage():
    assert (PACKAGE / "fast" / "manual_backprop.py").exists()
    assert fast_imports(PACKAGE) == []


def test_the_rule_finds_an_import_of_fast(tmp_path):
    (tmp_path / "training.py").write_text("from .fast.manual_backprop import ManualBackprop\n")
    (tmp_path / "metrics.py").write_text("from . import fast\n")
    (tmp_path / "models.py").write_text("import ae_utils.fast\n")
    (tmp_path / "plots.py").write_text("from . import checks\n")
    assert fast_imports(tmp_path) == ["metrics.py", "models.py", "training.py"]


def test_every_public_function_and_class_names_the_notebook_that_teaches_it():
    import inspect

    import ae_utils as ae

    public = [
        getattr(ae, name)
        for name in ae.__all__
        if inspect.isfunction(getattr(ae, name)) or inspect.isclass(getattr(ae, name))
    ]
    missing = [obj.__name__ for obj in public if not re.search(r"notebook 0[1-4]|every notebook", obj.__doc__ or "")]
    assert len(public) > 20 and missing == []
