"""Channels a message can go out on. Demo mode and the skeleton use the log provider; SMS over
HTTP, SMTP and webhooks arrive with the notification issue."""

from __future__ import annotations

import logging
from typing import Protocol

from common.masking import mask_recipient

log = logging.getLogger("notification.delivery")


class Provider(Protocol):
    def send(self, address: str, body: str) -> str:
        """Send and return the state the channel reports: `sent` or `delivered`."""
        ...


class LogProvider:
    """Writes the message to the service log instead of a real channel (demo mode)."""

    def send(self, address: str, body: str) -> str:
        log.info("message to %s: %s", mask_recipient(address), body)  # logs never hold a full phone number
        return "sent"
