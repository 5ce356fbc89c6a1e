"""The patient viewer in headless Chromium (Playwright, Debian's /usr/bin/chromium).

A small synthetic CT is stored by STOW-RS and shared; the test reads the link and the
one-time code from the SMS outbox as the patient would read their phone, opens the link,
checks the first image really renders (pixels of a screenshot, not the DOM), that scrolling
and a window preset change the image, that nothing is stored on the device, and that the
page shows "Session ended" once the session expires. Screenshots (desktop and a 390x844
phone) go to the test's tmp dir; ``BEAMIT_UPDATE_SCREENSHOTS=1`` also writes
``docs/screenshots/viewer-*.png``.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from beamit.shares.sessions import COOKIE, session_path
from tests.browser.screenshots import save_screenshot
from tests.share_flow import OTP, create_share, outbox, plain_firestore, random_phone, store_ct

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic", "--no-first-run",
        "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def db(stack):
    return plain_firestore(stack.settings.project_id)


@pytest.fixture(scope="module")
def owner(svc):
    from tests.support import new_tenant

    return new_tenant(svc)


@pytest.fixture(scope="module")
def ct(api, owner):
    return store_ct(api, owner, seed=31, slices=10)


def wait_painted(page) -> None:
    """The page as the patient sees it once loading is over: the image drawn, the progress bar
    gone and every series thumbnail shown (each is fetched after the page is up)."""
    page.wait_for_function(
        "() => document.getElementById('image').dataset.ready === 'true'"
        " && document.getElementById('progress').hidden"
        " && [...document.querySelectorAll('#series img')].every(i => i.complete && i.naturalWidth > 0)",
        timeout=20_000)


def screenshot(page, name: str, tmp_path: Path) -> None:
    """A screenshot of the painted page (see tests/browser/screenshots.py for where it goes)."""
    wait_painted(page)
    save_screenshot(page.screenshot(), name, tmp_path)


def canvas_pixels(page) -> np.ndarray:
    shot = page.locator("#image").screenshot()
    return np.asarray(Image.open(io.BytesIO(shot)).convert("L"), dtype=np.int16)


def wait_ready(page, slice_index: int, window: str) -> None:
    page.wait_for_function(
        "([s, w]) => { const c = document.getElementById('image');"
        " return c.dataset.ready === 'true' && c.dataset.slice === s && c.dataset.window === w; }",
        arg=[str(slice_index), window], timeout=20_000)


def sign_in(page, api, db, owner, ct, **fields) -> dict:
    phone = random_phone()
    create_share(api, owner, ct.uid, phone=phone, message="Your CT scan results are ready", **fields)
    link = outbox(db, phone, "share_link")[-1]["body"].splitlines()[-1]
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/s/BM-[A-Z0-9]{6}", link)
    page.goto(link)
    page.get_by_role("button", name="Text me a code").click()
    page.wait_for_selector("#otp-form:not([hidden])")
    otp = OTP.search(outbox(db, phone, "verification")[-1]["body"]).group(1)
    page.fill("#otp", otp)
    page.get_by_role("button", name="View images").click()
    wait_ready(page, 0, "default")
    return {"link": link, "phone": phone}


def test_viewer_renders_scrolls_windows_and_ends(browser, api, stack, db, owner, ct, tmp_path):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, api, db, owner, ct, allowDownload=True)
    # The session cookie: __Host-, HttpOnly, Secure (Chromium accepts it on http://127.0.0.1), Strict.
    cookies = {c["name"]: c for c in context.cookies()}
    cookie = cookies[COOKIE]
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert page.evaluate("document.cookie") == ""
    header = page.locator("#study").inner_text()
    assert "CT" in header and re.search(r"\d{4}-\d{2}-\d{2}", header)
    assert page.locator("#series button").count() == 1
    page.wait_for_selector("#progress", state="hidden", timeout=20_000)

    first = canvas_pixels(page)
    assert first.std() > 10, "the canvas is uniform: no image was drawn"
    assert len(np.unique(first)) > 20

    page.locator("#image").focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    wait_ready(page, 3, "default")
    scrolled = canvas_pixels(page)
    assert np.abs(scrolled - first).mean() > 1, "scrolling did not change the image"
    assert "Image 4 / 10" in page.locator("#overlay-top").inner_text()

    page.mouse.move(700, 400)
    page.mouse.wheel(0, 120)
    wait_ready(page, 4, "default")

    page.get_by_role("button", name="Lung").click()
    wait_ready(page, 4, "-600,1500")
    lung = canvas_pixels(page)
    page.get_by_role("button", name="Bone").click()
    wait_ready(page, 4, "400,1800")
    bone = canvas_pixels(page)
    assert np.abs(lung - bone).mean() > 1, "changing the window did not change the image"

    # Nothing is kept on the device.
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0
    assert page.evaluate("indexedDB.databases().then(d => d.length)") == 0
    assert page.evaluate("navigator.serviceWorker.getRegistrations().then(r => r.length)") == 0
    assert page.locator("#download").is_visible()

    page.get_by_role("button", name="Soft tissue").click()
    wait_ready(page, 4, "40,400")
    screenshot(page, "viewer-desktop.png", tmp_path)

    # The session expires (its end is moved into the past): the page says so and drops the images.
    db.document(session_path(cookie["value"])).update({"absoluteExpiresAt": datetime.now(UTC) - timedelta(seconds=1)})
    page.evaluate("window.dispatchEvent(new Event('focus'))")
    page.wait_for_selector("#ended:not([hidden])", timeout=10_000)
    assert "Session ended" in page.locator("#ended").inner_text()
    assert page.locator("#viewer").is_hidden()
    assert errors == []
    context.close()


def test_viewer_on_a_phone(browser, api, stack, db, owner, ct, tmp_path):
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1, is_mobile=True,
                                  has_touch=True)
    page = context.new_page()
    sign_in(page, api, db, owner, ct)
    page.wait_for_selector("#progress", state="hidden", timeout=20_000)
    box = page.locator("#image").bounding_box()
    assert box is not None and box["width"] <= 390 and box["height"] > 300
    pixels = canvas_pixels(page)
    assert pixels.std() > 10
    # The series strip sits above the image on a phone.
    strip = page.locator("#series").bounding_box()
    assert strip is not None and strip["y"] + strip["height"] <= box["y"] + 1
    screenshot(page, "viewer-phone.png", tmp_path)
    context.close()


def test_expired_and_revoked_links_show_a_clear_page(browser, api, db, owner, ct):
    context = browser.new_context(viewport={"width": 800, "height": 600})
    page = context.new_page()
    phone = random_phone()
    share = create_share(api, owner, ct.uid, phone=phone)
    api.post(f"/v1/shares/{share['id']}/revoke", headers=owner.headers)
    response = page.goto(share["shareUrl"])
    assert response is not None and response.status == 410
    assert "withdrawn" in page.locator("main").inner_text()
    assert page.locator("canvas").count() == 0
    context.close()
