"""Twilio's Recordings API with the account's credentials: a voicemail's audio fetched
(to keep it in our bucket) and then deleted at Twilio, so that no copy stays there.

The delete goes through the twilio SDK (`Client(http_client=...)`, the seam the local
stack points at the sandbox, as for messages); the audio through plain HTTP with the
same credentials, under the same base URL: the SDK reads every answer as text, and a WAV
is bytes. Vendor errors come out as the port's `RecordingGone`/`RecordingsUnavailable`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.channels.port import RecordingGone, RecordingsUnavailable

if TYPE_CHECKING:
    from twilio.http.http_client import TwilioHttpClient

TWILIO_API = "https://api.twilio.com"
API_VERSION = "2010-04-01"
TIMEOUT_SECONDS = 10.0
"""Connect and read, per request: a 10-minute WAV at 8 kHz is under 10 MB."""
MAX_AUDIO_BYTES = 64 * 1024 * 1024
"""Twilio's longest call (4 h) at 8 kHz 16-bit is 230 MB; a voicemail is at most 10
minutes (VoiceSettings.max_message_seconds): anything this big is not one."""


class TwilioRecordings:
    """Fetch and delete the account's recordings (`api_base`: the sandbox's, locally)."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        api_base: str = TWILIO_API,
        http_client: TwilioHttpClient | None = None,
    ) -> None:
        self._account_sid = account_sid
        self._auth_token = auth_token
        self._api_base = api_base.rstrip("/")
        self._http_client = http_client
        self._client: Any = None

    def _url(self, recording_sid: str, ext: str) -> str:
        return (
            f"{self._api_base}/{API_VERSION}/Accounts/{self._account_sid}"
            f"/Recordings/{recording_sid}.{ext}"
        )

    def fetch(self, recording_sid: str) -> bytes:
        import requests

        try:
            got = requests.get(
                self._url(recording_sid, "wav"),
                auth=(self._account_sid, self._auth_token),
                timeout=TIMEOUT_SECONDS,
                stream=True,
            )
            with got:
                if got.status_code == 404:
                    raise RecordingGone(f"Twilio has no recording {recording_sid}")
                if got.status_code != 200:
                    raise RecordingsUnavailable(
                        f"Twilio answered {got.status_code} for recording {recording_sid}"
                    )
                audio = got.raw.read(MAX_AUDIO_BYTES + 1, decode_content=True)
        except requests.RequestException as exc:
            raise RecordingsUnavailable(f"Twilio could not be reached: {exc}") from exc
        if len(audio) > MAX_AUDIO_BYTES:
            raise RecordingsUnavailable(f"recording {recording_sid} is larger than a voicemail")
        return bytes(audio)

    def _rest(self) -> Any:
        if self._client is None:
            from twilio.http.http_client import TwilioHttpClient
            from twilio.rest import Client

            self._client = Client(
                self._account_sid,
                self._auth_token,
                http_client=self._http_client or TwilioHttpClient(timeout=TIMEOUT_SECONDS),
            )
        return self._client

    def delete(self, recording_sid: str) -> None:
        import requests
        from twilio.base.exceptions import TwilioException, TwilioRestException

        try:
            self._rest().recordings(recording_sid).delete()
        except TwilioRestException as exc:
            if exc.status == 404:
                return  # deleted already (a retried job)
            raise RecordingsUnavailable(f"Twilio refused the delete: {exc.status}") from exc
        except (TwilioException, requests.RequestException) as exc:
            raise RecordingsUnavailable(f"Twilio could not be reached: {exc}") from exc
