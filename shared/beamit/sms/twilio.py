"""The production SMS provider: Twilio's Programmable Messaging REST API.

``POST https://api.twilio.com/2010-04-01/Accounts/{AccountSid}/Messages.json`` with HTTP
basic auth (Account SID, Auth Token) and the form fields ``To``, ``Body`` and ``From`` (a
Twilio number in E.164) or ``MessagingServiceSid`` (``MG...``). Configured by
``BEAMIT_TWILIO_ACCOUNT_SID``, ``BEAMIT_TWILIO_AUTH_TOKEN`` (Secret Manager
``twilio-auth-token``) and ``BEAMIT_TWILIO_FROM``. Not called by the test suite.
"""

from __future__ import annotations

import requests

from beamit import logs
from beamit.settings import Settings
from beamit.sms import SmsError

API_ROOT = "https://api.twilio.com/2010-04-01"
TIMEOUT_SECONDS = 10


class TwilioSender:
    def __init__(self, account_sid: str, auth_token: str, sender: str, session: requests.Session | None = None) -> None:
        self._sid = account_sid
        self._token = auth_token
        self._sender = sender
        self._http = session or requests.Session()

    @classmethod
    def from_settings(cls, settings: Settings) -> TwilioSender:
        if not (settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from):
            raise SmsError(
                "BEAMIT_SMS_PROVIDER=twilio needs BEAMIT_TWILIO_ACCOUNT_SID, BEAMIT_TWILIO_AUTH_TOKEN "
                "and BEAMIT_TWILIO_FROM"
            )
        return cls(settings.twilio_account_sid, settings.twilio_auth_token, settings.twilio_from)

    def form(self, to: str, body: str) -> dict[str, str]:
        sender_field = "MessagingServiceSid" if self._sender.startswith("MG") else "From"
        return {"To": to, "Body": body, sender_field: self._sender}

    def send(self, to: str, body: str, *, tenant_id: str, purpose: str) -> str:
        url = f"{API_ROOT}/Accounts/{self._sid}/Messages.json"
        try:
            response = self._http.post(url, data=self.form(to, body), auth=(self._sid, self._token),
                                       timeout=TIMEOUT_SECONDS)
        except requests.RequestException as exc:
            raise SmsError(f"Twilio could not be reached ({type(exc).__name__})") from None
        if response.status_code >= 300:
            code = ""
            try:
                code = str(response.json().get("code", ""))
            except ValueError:
                pass
            logs.warning("sms refused", provider="twilio", status=response.status_code, code=code,
                         tenantId=tenant_id, purpose=purpose)
            raise SmsError(f"Twilio refused the message (HTTP {response.status_code}, code {code or '-'})")
        return str(response.json().get("sid", ""))
