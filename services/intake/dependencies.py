"""The nameko DependencyProviders intake adds to common's (Database, Telemetry, CurrentScope,
OfficialCalendarCopy)."""

from __future__ import annotations

from nameko.extensions import DependencyProvider

from services.intake.evidence import FilesystemStore


class EvidenceFiles(DependencyProvider):
    """Where evidence files are kept (evidence.py): the filesystem store under `EVIDENCE_DIR`."""

    def setup(self) -> None:
        self.store = FilesystemStore()

    def get_dependency(self, worker_ctx) -> FilesystemStore:
        return self.store
