"""Text messages (SMS) to patients, behind one small interface.

:class:`SmsSender` is the Protocol; :mod:`beamit.sms.twilio` sends through the Twilio REST
API (production), :mod:`beamit.sms.outbox` keeps messages in a Firestore outbox (local
development and tests: ``make dev`` prints them, tests read them). ``BEAMIT_SMS_PROVIDER``
chooses; :func:`sms_sender` builds the configured one.

A message carries only what its caller puts in it: the share link, the integrator's
message, or a one-time code. Never patient names, study descriptions or other PHI.
"""

from __future__ import annotations

from typing import Protocol

from beamit.storage import Services


class SmsError(Exception):
    """The provider refused or could not be reached (the message was not sent)."""


class SmsSender(Protocol):
    def send(self, to: str, body: str, *, tenant_id: str, purpose: str) -> str:
        """Send ``body`` to the E.164 number ``to``; returns the provider's message id.
        ``purpose`` (``share_link``, ``verification``) is kept for the outbox and logs."""
        ...


def sms_sender(svc: Services) -> SmsSender:
    """The configured sender (``BEAMIT_SMS_PROVIDER``)."""
    settings = svc.settings
    if settings.sms_provider == "twilio":
        from beamit.sms.twilio import TwilioSender

        return TwilioSender.from_settings(settings)
    from beamit.sms.outbox import OutboxSender

    return OutboxSender(svc.metadata)
