"""Each component's migrations form one line: branches written in parallel and merged must be
re-chained, or `upgrade head` stops with "multiple heads" and nothing starts."""

from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory

from ops.migrate import COMPONENTS, alembic_config


@pytest.mark.parametrize("component", list(COMPONENTS))
def test_one_head_per_component(component: str) -> None:
    heads = ScriptDirectory.from_config(alembic_config(component, "postgresql://unused/unused")).get_heads()
    assert len(heads) == 1, f"{component} has several migration heads: {heads}"
