"""`make run`: the whole local stack in one process, in the foreground.

moto's server (DynamoDB + SQS, created from infra/template.yaml), the provider sandbox,
the local SQS workers and the Chalice app. Ctrl-C stops all of it.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import Any

from relaydesk import emulator, sandbox
from relaydesk.local_env import LOCAL_TWILIO_AUTH_TOKEN, local_environment
from relaydesk.workers import QueueWorker, ScheduledRules

log = logging.getLogger("relaydesk.stack")


def run(
    host: str = "127.0.0.1",
    app_port: int = 8000,
    sandbox_port: int = 8025,
    aws_port: int = 5050,
    ready: threading.Event | None = None,
) -> None:
    moto_server, aws_url = emulator.start_moto(host, aws_port)
    sandbox_server, sandbox_url = sandbox.start_in_thread(
        host, sandbox_port, status_token=LOCAL_TWILIO_AUTH_TOKEN
    )
    app_url = f"http://{host}:{app_port}"
    os.environ.update(local_environment(app_url=app_url, aws_url=aws_url, sandbox_url=sandbox_url))
    outputs = emulator.provision(aws_url)
    os.environ["MAIL_BUCKET"] = outputs["MailBucketName"]

    # The app reads its settings at import, so it is imported only now.
    import boto3

    import app as relaydesk_app
    from relaydesk.apigateway import handler_class
    from relaydesk.app_server import local_server

    workers = [
        QueueWorker(boto3.client("sqs"), outputs["JobsQueueUrl"], relaydesk_app.on_job),
        QueueWorker(boto3.client("sqs"), outputs["TimersQueueUrl"], relaydesk_app.on_timer),
        # Parked Twilio requests, and S3's events for the posts the mail route stored.
        QueueWorker(boto3.client("sqs"), outputs["InboxQueueUrl"], relaydesk_app.on_parked),
    ]
    # The template's scheduled rules too (the follow-up sweep every 5 minutes).
    rules = ScheduledRules(boto3.client("events"), boto3.client("sqs"))
    for worker in (*workers, rules):
        worker.start()
    from relaydesk.webchat_demo import add_demo_page

    add_demo_page(relaydesk_app.app)  # the demo shop page: the local stack's own route
    mail_route = handler_class(outputs["MailBucketName"], relaydesk_app.sendgrid_parse_auth)
    server = local_server(relaydesk_app.app, host, app_port, mail_route)

    def stop(*_: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    print(f"relaydesk app      {app_url}   (GET /health)")
    print(f"provider sandbox   {sandbox_url}   (GET /outbox)")
    print(f"web chat demo      {app_url}/webchat/demo")
    print(f"emulated AWS       {aws_url}   (table relaydesk, queue relaydesk-jobs)")
    print("Ready. Ctrl-C stops everything.", flush=True)
    if ready is not None:
        ready.set()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        for worker in workers:
            worker.stop()
        rules.stop()
        sandbox_server.shutdown()
        moto_server.stop()
        print("stopped")
