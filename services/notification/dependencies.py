"""The nameko DependencyProviders notification adds to common's (Database, Telemetry, CurrentScope)."""

from __future__ import annotations

from nameko.extensions import DependencyProvider

from services.notification.channels import Channels


class ChannelsProvider(DependencyProvider):
    """The process's channels (channels.py), chosen once at start from the environment."""

    def setup(self) -> None:
        self.channels = Channels({"AMQP_URI": self.container.config["AMQP_URI"]})

    def get_dependency(self, worker_ctx) -> Channels:
        return self.channels
