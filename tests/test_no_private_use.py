"""No module of the project subclasses, patches or reads the private parts of another library.

Each offence ties the project to code its authors may change in any release: a private module
(``re._parser``), a subclass of a third-party class not meant to be subclassed, an attribute set on
another module (monkeypatching, or anything done through ``sys.modules``), a ``._name`` read from an
imported name. The check reads every module's syntax tree; it is a heuristic (an object returned by a
library call is not followed), and the tests below feed it each offence to show it can fail.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "mlsd_grader"
OWN = "mlsd_grader"
# Third-party classes whose documented use is to be subclassed: a pydantic model is declared by
# subclassing BaseModel.
MEANT_FOR_SUBCLASSING = {("pydantic", "BaseModel")}
def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _root(node: ast.expr) -> ast.expr:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node


def offences(source: str, where: str = "<snippet>") -> list[str]:
    """Each use of another library's private or internal parts in ``source``, as 'where:line: what'."""
    tree = ast.parse(source)
    foreign: dict[str, str] = {}  # local name -> the dotted name it was imported as (another library's)
    found: list[str] = []

    def offence(node: ast.AST, what: str) -> None:
        found.append(f"{where}:{getattr(node, 'lineno', 0)}: {what}")

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == OWN:
                    continue
                if any(_private(part) for part in alias.name.split(".")):
                    offence(node, f"imports the private module {alias.name}")
                local = alias.asname or alias.name.split(".")[0]
                foreign[local] = alias.name if alias.asname else local
        elif isinstance(node, ast.ImportFrom):
            if node.level or (node.module or "").split(".")[0] in (OWN, "__future__"):
                continue
            module = node.module or ""
            if any(_private(part) for part in module.split(".")):
                offence(node, f"imports from the private module {module}")
            for alias in node.names:
                if _private(alias.name):
                    offence(node, f"imports the private name {module}.{alias.name}")
                foreign[alias.asname or alias.name] = f"{module}.{alias.name}"

    def third_party(local: str) -> bool:
        return foreign[local].split(".")[0] not in sys.stdlib_module_names

    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for base in node.bases:
                root = _root(base)
                if isinstance(root, ast.Name) and root.id in foreign and third_party(root.id):
                    dotted = foreign[root.id] + ast.unparse(base)[len(root.id):]
                    top, _, name = dotted.partition(".")
                    if (top, name.rpartition(".")[2]) not in MEANT_FOR_SUBCLASSING:
                        offence(node, f"class {node.name} subclasses {dotted}")
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for target in targets:
                root = _root(target)
                if isinstance(target, ast.Attribute) and isinstance(root, ast.Name) and root.id in foreign:
                    offence(node, f"sets {ast.unparse(target)} on another module's object")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in ("setattr", "delattr") and node.args:
                root = _root(node.args[0])
                if isinstance(root, ast.Name) and root.id in foreign:
                    offence(node, f"{node.func.id} on {ast.unparse(node.args[0])}")
        elif isinstance(node, ast.Attribute):
            root = _root(node)
            if node.attr == "modules" and isinstance(root, ast.Name) and foreign.get(root.id) == "sys":
                offence(node, "reaches into loaded modules through sys.modules")
            elif _private(node.attr) and isinstance(root, ast.Name) and root.id in foreign:
                offence(node, f"reads the private attribute {ast.unparse(node)}")
    return sorted(set(found), key=lambda s: int(s.split(":")[1]))


def test_no_module_uses_another_librarys_private_parts() -> None:
    found = [
        hit
        for path in sorted(PACKAGE.rglob("*.py"))
        for hit in offences(path.read_text(encoding="utf-8"), str(path.relative_to(PACKAGE.parent)))
    ]
    assert found == [], "\n".join(found)


@pytest.mark.parametrize(
    ("snippet", "what"),
    [
        ("import re._parser", "imports the private module re._parser"),
        ("import re._constants as sre", "imports the private module re._constants"),
        ("from re._parser import parse", "imports from the private module re._parser"),
        ("from pysbd import _helpers", "imports the private name pysbd._helpers"),
        ("import pysbd\nclass Fast(pysbd.Segmenter):\n    pass", "class Fast subclasses pysbd.Segmenter"),
        ("from pysbd.lang.english import English\nclass E(English.AbbreviationReplacer):\n    pass",
         "class E subclasses pysbd.lang.english.English.AbbreviationReplacer"),
        ("import pysbd\npysbd.re = object()", "sets pysbd.re on another module's object"),
        ("import pysbd.utils\npysbd.utils.re = object()", "sets pysbd.utils.re on another module's object"),
        ("import pysbd\nsetattr(pysbd, 're', None)", "setattr on pysbd"),
        ("import sys\nfor m in sys.modules.values():\n    m.re = 1", "reaches into loaded modules"),
        ("import torch\nx = torch._C", "reads the private attribute torch._C"),
        ("from sentence_transformers import SentenceTransformer as ST\nST('m')._first_module()",
         "reads the private attribute ST('m')._first_module"),
    ],
)
def test_each_offence_is_caught(snippet: str, what: str) -> None:
    found = offences(snippet)
    assert len(found) == 1 and what in found[0], found


def test_public_use_is_not_an_offence() -> None:
    snippet = (
        "from __future__ import annotations\n"
        "import re, threading\n"
        "from pydantic import BaseModel\n"
        "from typing import NamedTuple\n"
        "from . import text\n"
        "from .text import _canonical\n"
        "class Report(BaseModel):\n    x: int\n"
        "class Token(NamedTuple):\n    a: int\n"
        "class Failure(Exception):\n    pass\n"
        "local = threading.local()\n"
        "class Own:\n    def f(self):\n        self._cache = {}\n        return self._cache\n"
        "text._private_of_ours = 1\n"
        "re.compile('x').pattern\n"
        "print(re.__name__)\n"
    )
    assert offences(snippet) == []
