"""The web chat in a real browser: Debian's headless Chromium, driven by Selenium through the
system's chromedriver (no browser download), against the demo shop page that `relaydesk
stack` serves with the widget embedded. The customer writes, sees the acknowledgement with
its deadline, the agent answers by e-mail (SendGrid Inbound Parse, as in the other e2e
tests), and the answer appears in the panel; then the same in Arabic, right to left.

Every wait is an explicit wait for what a person would see; none is a sleep. Screenshots
go to RELAYDESK_SCREENSHOTS (a directory) when it is set.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from relaydesk.cli import send_agent_reply
from tests.e2e.test_local_stack import Stack, stack, wait_for

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="no browser: install Debian's chromium and chromium-driver (make browser)",
)

__all__ = ["stack"]  # the module-scoped local stack fixture, shared with the walk-through

WAIT_SECONDS = 90
"""Generous: the stack, its workers and the browser share two cores with other tests."""


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1100,760",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(WAIT_SECONDS)
    try:
        yield driver
    finally:
        driver.quit()


class Panel:
    """The widget as a person sees it, inside its shadow root."""

    def __init__(self, driver: Any) -> None:
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver = driver
        self.wait = WebDriverWait(driver, WAIT_SECONDS, poll_frequency=0.25)
        host = self.wait.until(lambda d: d.find_element("css selector", "#relaydesk-chat"))
        self.root = self.wait.until(lambda d: host.shadow_root)
        self.wait.until(lambda d: self.root.find_elements("css selector", "button.b"))

    def find(self, css: str) -> Any:
        return self.root.find_element("css selector", css)

    def is_open(self) -> bool:
        return bool(self.find("section.p").is_displayed())

    def log_text(self) -> str:
        return str(self.find("ol.l").text)

    def wait_for_text(self, *needles: str) -> str:
        self.wait.until(lambda d: all(n in self.log_text() for n in needles))
        return self.log_text()

    def write(self, text: str, contact: str = "") -> None:
        if contact:
            self.find("#rd-contact").send_keys(contact)
        box = self.find("#rd-text")
        box.send_keys(text)
        self.find("button.send").click()

    def token(self) -> str:
        return str(
            self.driver.execute_script("return localStorage.getItem('relaydesk:demo:token')")
        )


def agent_answers(stack: Stack, customer_words: str, answer: str) -> None:
    """The assigned agent answers the notification about `customer_words` by e-mail."""

    def notice() -> dict[str, Any] | None:
        mails = stack.outbox(provider="sendgrid")
        return next((m for m in mails if customer_words in m["text"] and m.get("reply_to")), None)

    mail = wait_for(notice, "the agents' notification", timeout=WAIT_SECONDS)
    assert "web chat" in mail["text"]
    response = send_agent_reply(
        app_url=stack.app_url, sender=mail["to"], to=mail["reply_to"], text=answer
    )
    assert response.status_code == 200, response.text


def screenshot(driver: Any, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    assert driver.save_screenshot(str(path))
    if target := os.environ.get("RELAYDESK_SCREENSHOTS"):
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / name)


def test_a_customer_chats_and_an_agents_email_answer_appears(
    stack: Stack, browser: Any, tmp_path: Path
) -> None:
    browser.get(f"{stack.app_url}/webchat/demo?lang=en")
    panel = Panel(browser)
    panel.wait.until(lambda d: panel.is_open())  # the demo page opens it on a first visit
    assert panel.find("div[dir]").get_attribute("dir") == "ltr"
    assert panel.find("section.p").get_attribute("aria-label") == "Demo Store: questions?"
    words = f"Could you gift-wrap the linen tote? ({uuid.uuid4().hex[:6]})"
    contact = f"jana.{uuid.uuid4().hex[:6]}@example.com"
    panel.write(words, contact=contact)

    # The acknowledgement with its deadline (worded as open or closed by the wall clock:
    # "Someone from Demo Store will reply by 12:30 tomorrow", or "Demo Store is closed now
    # and back tomorrow at 09:00; someone will reply by 12:00 tomorrow").
    text = panel.wait_for_text(words, "Thanks, we got your message.", "will reply by")
    assert "Demo Store" in text.split("Thanks, we got your message.")[1]

    answer = "Yes, gift wrapping is free. We will wrap it in linen paper."
    agent_answers(stack, words, answer)
    panel.wait_for_text(answer)
    screenshot(browser, tmp_path, "webchat-en.png")

    # The answer went also to the address the customer left, from the store's mailbox.
    copies = wait_for(
        lambda: [m for m in stack.outbox(provider="sendgrid", to=contact) if answer in m["text"]],
        "the e-mailed copy",
        timeout=WAIT_SECONDS,
    )
    assert copies[0]["from"] == "support@demo.relaydesk.test"

    # A reload (days later, the same browser): the conversation is there.
    browser.refresh()
    panel = Panel(browser)
    assert not panel.is_open()  # opened on the first visit only
    panel.find("button.b").click()
    panel.wait_for_text(words, "Thanks, we got your message.", answer)

    # Closed, a second answer comes; the next page of the shop shows the unread mark.
    panel.find("button.x").click()
    later = "It ships tomorrow morning."
    agent_answers(stack, words, later)
    token = panel.token()

    def delivered() -> bool:
        response = requests.post(
            f"{stack.app_url}/webchat/demo/poll",
            data=f'{{"token": "{token}"}}',
            headers={"Origin": stack.app_url, "Content-Type": "text/plain"},
            timeout=10,
        )
        return any(m["text"] == later for m in response.json()["messages"])

    wait_for(delivered, "the second answer", timeout=WAIT_SECONDS)
    browser.get(f"{stack.app_url}/webchat/demo?page=2&lang=en")
    panel = Panel(browser)
    panel.wait.until(lambda d: panel.find("span.d").is_displayed())
    panel.find("button.b").click()
    panel.wait_for_text(later)
    panel.wait.until(lambda d: not panel.find("span.d").is_displayed())


def test_the_same_in_arabic_right_to_left(stack: Stack, browser: Any, tmp_path: Path) -> None:
    browser.get(f"{stack.app_url}/webchat/demo?lang=ar")
    panel = Panel(browser)
    panel.wait.until(lambda d: panel.is_open())
    assert panel.find("div[dir]").get_attribute("dir") == "rtl"
    assert panel.find("button.send").text == "إرسال"
    words = f"مرحبا، هل يمكنكم تغليف الحقيبة كهدية من فضلكم؟ {uuid.uuid4().hex[:4]}"
    panel.write(words)
    text = panel.wait_for_text(words, "شكرًا، وصلتنا رسالتك.")
    assert "قبل الساعة" in text  # "by <time>": the deadline, in Arabic

    answer = "نعم، التغليف مجاني. سنرسل الطلب غدًا."
    agent_answers(stack, words, answer)
    panel.wait_for_text(answer)
    # Right to left: the customer's own message sits on the left, the store's on the right.
    mine = panel.root.find_elements("css selector", "li.y")[-1]
    ours = panel.root.find_elements("css selector", "li.s")[-1]
    assert mine.rect["x"] < ours.rect["x"]
    screenshot(browser, tmp_path, "webchat-ar.png")


def test_a_page_on_another_origin_cannot_use_the_stores_chat(stack: Stack) -> None:
    response = requests.post(
        f"{stack.app_url}/webchat/demo/session",
        data="{}",
        headers={"Origin": "https://not-the-shop.example", "Content-Type": "text/plain"},
        timeout=10,
    )
    assert response.status_code == 403
    assert "allowed_origins" in response.json()["error"]
    assert "Access-Control-Allow-Origin" not in response.headers
