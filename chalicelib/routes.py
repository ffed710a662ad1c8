"""Every webhook path, defined once: app.py routes them, web.py logs them, the container
tells Twilio where to post status callbacks, the CLI posts to them.

Twilio signs the full URL it calls, so a path spelt two ways would fail verification.
"""

from __future__ import annotations

HEALTH = "/health"
TWILIO_MESSAGING = "/webhooks/twilio/messaging"
TWILIO_STATUS = "/webhooks/twilio/status"
TWILIO_FALLBACK = "/webhooks/twilio/fallback"
"""The number's SMS Fallback URL: Twilio posts here when the messaging webhook failed."""
TWILIO_VOICE = "/webhooks/twilio/voice"
"""The number's Voice URL ("A call comes in"); the three below are named by its TwiML."""
TWILIO_VOICE_DIAL = "/webhooks/twilio/voice/dial"
TWILIO_VOICE_RECORDING = "/webhooks/twilio/voice/recording"
TWILIO_VOICE_TRANSCRIPTION = "/webhooks/twilio/voice/transcription"
TWILIO_VOICE_STATUS = "/webhooks/twilio/voice/status"
"""The number's call StatusCallback: Twilio posts the end of every call here, also of one
whose caller hung up during the greeting (no `<Record>` reached, no recording callback)."""
TWILIO_VOICE_FALLBACK = "/webhooks/twilio/voice/fallback"
"""The number's Voice Fallback URL: Twilio posts here when the Voice URL failed (a 5xx, a
timeout); it greets and records without the database."""
TWILIO_VOICE_FALLBACK_RECORDING = "/webhooks/twilio/voice/fallback/recording"
"""The fallback TwiML's `<Record>` action: the voicemail is parked, replayed later."""
SENDGRID_INBOUND = "/webhooks/sendgrid/inbound"
SENDGRID_MAIL = "/webhooks/sendgrid/mail"
"""Inbound Parse for mail of any size up to API Gateway's 10 MB: API Gateway stores the
post in S3 itself (no Lambda payload limit); `on_parked` takes it from there."""
SHOPIFY = "/webhooks/shopify"
WOOCOMMERCE = "/webhooks/woocommerce"
META = "/webhooks/meta"
"""Messenger and Instagram: Meta's subscription check (GET) and its events (POST)."""
WIDGET = "/widget.js"
"""The web chat widget's script, which a store's theme embeds."""
WEBCHAT_SESSION = "/webchat/{store_id}/session"
WEBCHAT_SEND = "/webchat/{store_id}/messages"
WEBCHAT_POLL = "/webchat/{store_id}/poll"
