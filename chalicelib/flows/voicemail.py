"""A voicemail after the call (SQS jobs): kept in our private bucket, deleted at Twilio,
transcribed by Amazon Transcribe, and only then told to the agents, whose link is to our
copy (presigned, time-limited), never to Twilio's.

`keep_recording` (queued by the recording callback instead of the agents' notification):
  fetch the audio with the account's credentials -> write it to the bucket -> record its
  key on the message -> delete it at Twilio -> start the transcription (or record why
  none) -> queue the notification, and a delayed look at the transcription.
  An S3 or Twilio failure raises: SQS redelivers the job, which resumes where the message
  says it stands (nothing is deleted at Twilio before our copy is recorded). A recording
  Twilio no longer has (404) is recorded as gone, and the agents are told all the same.
`collect_transcript` (delayed, `detail` the attempt): Transcribe's job status; when done,
  the transcript JSON read from the bucket onto the message, and the agents told again
  (notify_agents' claim makes that one notification, or a second one, never none); when
  still running, another look later (TRANSCRIBE_POLL_DELAYS), until the last says "no
  transcript" and why.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from chalicelib.channels.port import RecordingGone
from chalicelib.domain.voice import (
    TRANSCRIBE_POLL_DELAYS,
    no_transcribe_reason,
    recording_key,
    transcribe_language,
    transcript_key,
    transcription_job_name,
)
from chalicelib.flows.receive_inbound import notifies_after_text_back
from chalicelib.queues import Job, JobKind
from chalicelib.store.models import MessageItem
from chalicelib.transcribe import TranscribeError, transcript_text

if TYPE_CHECKING:
    from chalicelib.composition import Container
    from chalicelib.stores import StoreConfig

log = logging.getLogger(__name__)

GONE_NOTE = "Twilio no longer has the recording (deleted before relaydesk could keep a copy)"
TRANSCRIBE_ATTEMPTS_BEFORE_GIVING_UP = 3
"""Deliveries of the keep job whose Transcribe start failed before the voicemail goes to
the agents without a transcript (the copy is kept: only the transcript is given up)."""


def _voicemail(c: Container, job: Job) -> tuple[StoreConfig, MessageItem] | None:
    store = c.stores.by_id(job.store_id)
    message = c.repository.message(job.store_id, job.thread_id, job.message_sk) if store else None
    if store is None or message is None or not (message.call or {}).get("recording_url"):
        log.warning("voicemail job dropped: no voicemail at %s", job.message_sk)
        return None
    return store, message


def _notify(c: Container, job: Job) -> Job:
    return Job(JobKind.NOTIFY_AGENTS, job.store_id, job.thread_id, job.message_sk)


def keep_recording(c: Container, job: Job, *, receive_count: int = 1) -> None:
    """Idempotent: each step is recorded on the message, and a redelivery resumes after
    the last one recorded."""
    found = _voicemail(c, job)
    if found is None:
        return
    store, message = found
    sid = str(message.provider_id)
    state = message.recording_state
    if state is None:
        try:
            audio = c.recordings.fetch(sid)
        except RecordingGone:
            c.repository.record_recording(message, state="gone", note=GONE_NOTE)
            state = "gone"
            log.warning("voicemail gone at Twilio before it was kept: store=%s", store.store_id)
        else:
            key = recording_key(store.store_id, sid)
            c.mail_files.put(key, audio, "audio/x-wav")  # MailFilesError: retried
            c.repository.record_recording(message, state="kept", key=key)
            state = "kept"
    if state == "kept":
        c.recordings.delete(sid)  # RecordingsUnavailable: retried, the copy is recorded
        c.repository.record_recording(message, state="deleted")
        state = "deleted"
    collect = _start_transcription(c, store, message, state, receive_count)
    if message.acknowledge and notifies_after_text_back(store, is_call=True):
        # The text back waits for its lookup, and then notifies (flows/deliver.py): queued
        # here, after the copy, so that the notification links to it.
        c.jobs.send_all([Job(JobKind.ACK_EMAIL, job.store_id, job.thread_id, job.message_sk)])
    else:
        c.jobs.send_all([_notify(c, job)])
    if collect:
        look = Job(JobKind.COLLECT_TRANSCRIPT, job.store_id, job.thread_id, job.message_sk, "1")
        c.jobs.send_all([look], delay=TRANSCRIBE_POLL_DELAYS[0])
    log.info("voicemail kept: store=%s state=%s", store.store_id, state)


def _start_transcription(
    c: Container, store: StoreConfig, message: MessageItem, state: str, receive_count: int
) -> bool:
    """Start Transcribe on our copy, or record why there is no transcript; True: a
    transcription runs, its result to be collected."""
    pending = (message.call or {}).get("transcription") == "pending"
    if not pending or message.transcript is not None:
        return False
    sid = str(message.provider_id)
    if message.transcription_job:
        return True  # started by an earlier delivery, which died before queueing the look
    if state == "gone":
        c.repository.add_transcript(store.store_id, sid, None, note="there is no recording")
        return False
    customer = c.repository.customer(store.store_id, message.author)
    language = (customer.language if customer else None) or store.locale
    reason = no_transcribe_reason(store.voice, language)
    code = transcribe_language(language)
    if reason is not None or code is None:
        c.repository.add_transcript(store.store_id, sid, None, note=reason)
        return False
    name = transcription_job_name(store.store_id, sid)
    try:
        c.transcriber.start(
            name, str(message.recording_key), code, transcript_key(store.store_id, sid)
        )
    except TranscribeError:
        if receive_count < TRANSCRIBE_ATTEMPTS_BEFORE_GIVING_UP:
            raise
        log.exception("transcription not started: store=%s", store.store_id)
        c.repository.add_transcript(
            store.store_id, sid, None, note="Amazon Transcribe could not be reached"
        )
        return False
    c.repository.transcription_started(message, name)
    return True


def collect_transcript(c: Container, job: Job) -> None:
    """One look at the voicemail's transcription; the transcript on the message and the
    agents told when it is done, another look later while it runs."""
    found = _voicemail(c, job)
    if found is None:
        return
    store, message = found
    if message.transcript is not None or not message.transcription_job:
        return  # collected already (a redelivered look), or never started
    sid = str(message.provider_id)
    status = c.transcriber.status(message.transcription_job)  # TranscribeError: retried
    attempt = int(job.detail or "1")
    if status.state == "COMPLETED":
        document = c.mail_files.read(transcript_key(store.store_id, sid))
        text: str | None
        try:
            text = transcript_text(document) if document is not None else None
            note = None if text else "Amazon Transcribe heard no words"
        except ValueError:
            text, note = None, "Amazon Transcribe's output could not be read"
        if document is None:
            note = "Amazon Transcribe's output is missing from the bucket"
    elif status.state == "FAILED":
        text, note = None, f"Amazon Transcribe failed: {(status.failure or 'no reason')[:200]}"
    elif attempt >= len(TRANSCRIBE_POLL_DELAYS):
        waited = sum(TRANSCRIBE_POLL_DELAYS) // 60
        text, note = None, f"Amazon Transcribe did not finish within {waited} minutes"
    else:
        again = Job(job.kind, job.store_id, job.thread_id, job.message_sk, str(attempt + 1))
        c.jobs.send_all([again], delay=TRANSCRIBE_POLL_DELAYS[attempt])
        return
    added = c.repository.add_transcript(store.store_id, sid, text, note=note)
    if added is not None and added.added:
        c.jobs.send_all([_notify(c, job)])
    log.info("voicemail transcript collected: store=%s found=%s", store.store_id, bool(text))
