"""Chalice wiring only: each route and handler makes one call into chalicelib."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

from chalice.app import (
    AuthRequest,
    AuthResponse,
    Chalice,
    CloudWatchEvent,
    Cron,
    Request,
    Response,
    SQSEvent,
)

from chalicelib import routes, web
from chalicelib.chalice_deploy import refuse_plain_chalice_deploy
from chalicelib.composition import container, queue_container
from chalicelib.logs import configure_logging, correlation
from chalicelib.settings import Settings

refuse_plain_chalice_deploy(sys.argv)  # before Chalice changes anything (chalice_deploy.py)
app = Chalice(app_name="relaydesk")
app.api.binary_types.append("multipart/form-data")
configure_logging(os.environ.get("LOG_LEVEL", "INFO"))

# Read when Chalice imports the app to find its handlers (and when `chalice package` does).
_settings = Settings.from_env()
JOBS_QUEUE = _settings.jobs_queue_name
TIMERS_QUEUE = _settings.timers_queue_name
INBOX_QUEUE = _settings.inbox_queue_name


def _request() -> Request:
    request = app.current_request
    assert request is not None  # Chalice sets it before calling any route
    return request


def _body(request: Request) -> bytes:
    raw = request.raw_body
    return raw if isinstance(raw, bytes) else str(raw).encode()


@app.route(routes.HEALTH, methods=["GET"])
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.route(
    routes.TWILIO_MESSAGING,
    methods=["POST"],
    content_types=["application/x-www-form-urlencoded"],
)
def twilio_messaging() -> Response:
    request = _request()
    with correlation(request.context.get("requestId")):
        return web.twilio_messaging_webhook(
            container(),
            body=_body(request),
            signature=request.headers.get("x-twilio-signature"),
            resource_path=request.context.get("resourcePath", routes.TWILIO_MESSAGING),
            context=request.context,
        )


@app.route(
    routes.TWILIO_STATUS,
    methods=["POST"],
    content_types=["application/x-www-form-urlencoded"],
)
def twilio_status() -> Response:
    request = _request()
    with correlation(request.context.get("requestId")):
        return web.twilio_status_webhook(
            container(),
            body=_body(request),
            signature=request.headers.get("x-twilio-signature"),
            resource_path=request.context.get("resourcePath", routes.TWILIO_STATUS),
            context=request.context,
        )


@app.route(
    routes.TWILIO_FALLBACK,
    methods=["POST"],
    content_types=["application/x-www-form-urlencoded"],
)
def twilio_fallback() -> Response:
    request = _request()
    with correlation(request.context.get("requestId")):
        return web.twilio_fallback_webhook(
            container(),
            body=_body(request),
            signature=request.headers.get("x-twilio-signature"),
            resource_path=request.context.get("resourcePath", routes.TWILIO_FALLBACK),
            context=request.context,
        )


@app.route(
    routes.TWILIO_VOICE,
    methods=["POST"],
    content_types=["application/x-www-form-urlencoded"],
)
def twilio_voice() -> Response:
    return _twilio_voice(routes.TWILIO_VOICE)


@app.route(
    routes.TWILIO_VOICE_DIAL,
    methods=["POST"],
    content_types=["application/x-www-form-urlencoded"],
)
def twilio_voice_dial() -> Response:
    return _twilio_voice(routes.TWILIO_VOICE_DIAL)


@app.route(
    routes.TWILIO_VOICE_RECORDING,
    methods=["POST"],
    content_types=["application/x-www-form-urlencoded"],
)
def twilio_voice_recording() -> Response:
    return _twilio_voice(routes.TWILIO_VOICE_RECORDING)


@app.route(
    routes.TWILIO_VOICE_TRANSCRIPTION,
    methods=["POST"],
    content_types=["application/x-www-form-urlencoded"],
)
def twilio_voice_transcription() -> Response:
    return _twilio_voice(routes.TWILIO_VOICE_TRANSCRIPTION)


@app.route(
    routes.TWILIO_VOICE_STATUS,
    methods=["POST"],
    content_types=["application/x-www-form-urlencoded"],
)
def twilio_voice_status() -> Response:
    return _twilio_voice(routes.TWILIO_VOICE_STATUS)


@app.route(
    routes.TWILIO_VOICE_FALLBACK,
    methods=["POST"],
    content_types=["application/x-www-form-urlencoded"],
)
def twilio_voice_fallback() -> Response:
    return _twilio_voice(routes.TWILIO_VOICE_FALLBACK, web.twilio_voice_fallback_webhook)


@app.route(
    routes.TWILIO_VOICE_FALLBACK_RECORDING,
    methods=["POST"],
    content_types=["application/x-www-form-urlencoded"],
)
def twilio_voice_fallback_recording() -> Response:
    return _twilio_voice(routes.TWILIO_VOICE_FALLBACK_RECORDING, web.twilio_voice_fallback_webhook)


def _twilio_voice(
    path: str, handler: Callable[..., Response] = web.twilio_voice_webhook
) -> Response:
    request = _request()
    with correlation(request.context.get("requestId")):
        return handler(
            container(),
            body=_body(request),
            signature=request.headers.get("x-twilio-signature"),
            resource_path=request.context.get("resourcePath", path),
            context=request.context,
        )


@app.route(routes.SENDGRID_INBOUND, methods=["POST"], content_types=["multipart/form-data"])
def sendgrid_inbound() -> Response:
    request = _request()
    with correlation(request.context.get("requestId")):
        return web.sendgrid_inbound_webhook(
            container(),
            body=_body(request),
            headers=request.headers,
        )


# HTTP Basic for the route that stores big Inbound Parse posts in S3 without a Lambda
# (routes.SENDGRID_MAIL, declared by `relaydesk package`): API Gateway calls this before
# it stores a byte, and keeps the answer for 5 minutes per Authorization header.
@app.authorizer(ttl_seconds=300)
def sendgrid_parse_auth(auth_request: AuthRequest) -> AuthResponse:
    return web.sendgrid_parse_authorizer(container(), auth_request.token)


@app.route(routes.SHOPIFY, methods=["POST"], content_types=["application/json"])
def shopify() -> Response:
    request = _request()
    with correlation(request.context.get("requestId")):
        return web.shopify_webhook(container(), body=_body(request), headers=request.headers)


@app.route(
    routes.WOOCOMMERCE,
    methods=["POST"],
    content_types=["application/json", "application/x-www-form-urlencoded"],
)
def woocommerce() -> Response:
    request = _request()
    with correlation(request.context.get("requestId")):
        return web.woocommerce_webhook(container(), body=_body(request), headers=request.headers)


@app.route(routes.META, methods=["GET"])
def meta_verification() -> Response:
    request = _request()
    with correlation(request.context.get("requestId")):
        return web.meta_verification(container(), params=request.query_params or {})


@app.route(routes.META, methods=["POST"], content_types=["application/json"])
def meta() -> Response:
    request = _request()
    with correlation(request.context.get("requestId")):
        return web.meta_webhook(container(), body=_body(request), headers=request.headers)


@app.route(routes.WIDGET, methods=["GET"])
def widget() -> Response:
    from chalicelib import webchat_web  # imported by the web chat's routes only (cold start)

    return webchat_web.widget()


def _webchat(action: str, store_id: str) -> Response:
    from chalicelib import webchat_web

    request = _request()
    with correlation(request.context.get("requestId")):
        return webchat_web.webchat_request(
            container(),
            action,
            store_id=store_id,
            body=_body(request),
            headers=request.headers,
            source_ip=request.context.get("identity", {}).get("sourceIp", ""),
        )


# text/plain: the widget's requests are CORS "simple" requests, with no preflight.
_WEBCHAT_TYPES = ["text/plain", "application/json"]


@app.route(routes.WEBCHAT_SESSION, methods=["POST"], content_types=_WEBCHAT_TYPES)
def webchat_session(store_id: str) -> Response:
    return _webchat("session", store_id)


@app.route(routes.WEBCHAT_SEND, methods=["POST"], content_types=_WEBCHAT_TYPES)
def webchat_send(store_id: str) -> Response:
    return _webchat("send", store_id)


@app.route(routes.WEBCHAT_POLL, methods=["POST"], content_types=_WEBCHAT_TYPES)
def webchat_poll(store_id: str) -> Response:
    return _webchat("poll", store_id)


# The pollers share the account's Lambda concurrency with the webhooks, and a webhook
# throttled is a message lost (Twilio does not retry): however deep a backlog, at most
# the sum of these Lambdas work on the queues (README, "Limits").
JOBS_CONCURRENCY, TIMERS_CONCURRENCY, INBOX_CONCURRENCY = 3, 2, 2  # SQS takes 2 to 1000


# One job per invocation: a poison job must not drag its batch-mates into the dead-letter
# queue. Returns batchItemFailures (switched on by `relaydesk package`, as for the timers):
# a job held as long as a provider asked stays on the queue without being an error.
@app.on_sqs_message(queue=JOBS_QUEUE, batch_size=1, maximum_concurrency=JOBS_CONCURRENCY)
def on_job(event: SQSEvent) -> dict[str, Any]:
    # Imported here: the API function, which imports this module too, never runs a job.
    from chalicelib.flows.job_failures import run_job_batch

    return run_job_batch(queue_container(), event.to_dict()["Records"])


# Requests parked by Twilio's Fallback URL, replayed through the messaging flow, and S3's
# events for the Inbound Parse posts the mail route stored (flows/inbox.py): one per
# invocation, so that a request that fails again waits alone (and, after the queue's
# maxReceiveCount, waits in its dead-letter queue under an alarm).
@app.on_sqs_message(queue=INBOX_QUEUE, batch_size=1, maximum_concurrency=INBOX_CONCURRENCY)
def on_parked(event: SQSEvent) -> None:
    from chalicelib.flows.inbox import take_parked  # as in on_job

    for record in event:
        with correlation(record.to_dict().get("messageId")):
            take_parked(queue_container(), record.body)


# Returns batchItemFailures: `relaydesk package` / `make deploy` (relaydesk/packaging.py)
# turn on ReportBatchItemFailures for this event source (Chalice has no switch for it).
@app.on_sqs_message(queue=TIMERS_QUEUE, batch_size=10, maximum_concurrency=TIMERS_CONCURRENCY)
def on_timer(event: SQSEvent) -> dict[str, Any]:
    from chalicelib.flows.timers import run_timer_batch  # as in on_job

    return run_timer_batch(queue_container(), event.to_dict()["Records"])


# Every hour of the UTC Sunday and Monday (the span in which it is Monday morning in some
# time zone): each store whose Monday morning it is gets last week's report, once
# (chalicelib/flows/report.py).
@app.schedule(Cron(0, "*", "?", "*", "SUN,MON", "*"), name="weekly_report")
def weekly_report(event: CloudWatchEvent) -> None:
    from chalicelib.flows.report import send_weekly_reports  # as in on_job

    with correlation(event.to_dict().get("id")):
        send_weekly_reports(container())
