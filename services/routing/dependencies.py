"""Routing's nameko dependencies beside those of common (database, telemetry, scope, calendar copy):
the division tree every decision and move reads."""

from __future__ import annotations

import time

from eventlet.semaphore import Semaphore
from nameko.extensions import DependencyProvider

from common.config import RoutingSettings
from common.db import Database
from services.routing.tree import DivisionTree, registry_fingerprint

# another process may have changed tenants: the tree is checked against the registry this often
TREE_CHECK_SECONDS = RoutingSettings().routing_tree_check_seconds


class DivisionTrees(DependencyProvider):
    """One division tree per container, shared by its workers: loaded from the service's database,
    checked against the registry every TREE_CHECK_SECONDS, reloaded when a move found it stale or
    forgotten when this process changed a tenant."""

    def setup(self) -> None:
        self.tree: DivisionTree | None = None
        self.checked = 0.0
        self.lock = Semaphore()
        self.db = next(d for d in self.container.dependencies if isinstance(d, Database))

    def get(self, *, reload: bool = False) -> DivisionTree:
        with self.lock:
            now = time.monotonic()
            if self.tree is None or reload:
                with self.db.sessions() as session:
                    self.tree = DivisionTree.load(session)
                self.checked = now
            elif now - self.checked > TREE_CHECK_SECONDS:
                with self.db.sessions() as session:
                    if registry_fingerprint(session) != self.tree.fingerprint:
                        self.tree = DivisionTree.load(session)
                self.checked = now
            return self.tree

    def forget(self) -> None:
        self.tree = None

    def get_dependency(self, worker_ctx) -> DivisionTrees:
        return self
