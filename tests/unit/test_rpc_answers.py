"""Every RPC a service offers names its answer in the contracts (common/contracts/answers/by_rpc.py)."""

from __future__ import annotations

import ast
from pathlib import Path

from common.contracts.answers.by_rpc import ANSWERS

SERVICES = Path(__file__).resolve().parents[2] / "services"


def offered_rpcs() -> set[str]:
    """`service.method` of every method decorated with nameko's `rpc`, read from the source."""
    found = set()
    for module in SERVICES.glob("*/*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and any(_is_rpc(d) for d in node.decorator_list):
                found.add(f"{module.parent.name}.{node.name}")
    return found


def _is_rpc(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return isinstance(target, ast.Name) and target.id == "rpc"


def test_every_rpc_names_its_answer() -> None:
    offered = offered_rpcs()
    assert len(offered) > 80  # the source was read
    assert offered - set(ANSWERS) == set()
    assert set(ANSWERS) - offered == set()
