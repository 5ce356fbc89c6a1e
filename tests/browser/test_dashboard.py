"""The integration dashboard in headless Chromium (Playwright, Debian's /usr/bin/chromium).

A person signs in with the product's OAuth flow (PKCE, the first-party client of the
workspace), searches and opens studies, creates a share and sees it listed, creates a webhook
and sends a test event that a local receiver verifies with the ``standardwebhooks`` library,
creates and revokes an API key, finds the audit records of those actions, and uses the
sandbox tools. Refused cases: signed out (to the sign-in page), an expired access token (it
is refreshed), a revoked grant (back to sign-in), forged sign-in callbacks and cross-site
calls (CSRF), another tenant's ids (not found), and a role without a section's scope (no
section, and the API refuses the call).

Screenshots go to the test's tmp dir; ``BEAMIT_UPDATE_SCREENSHOTS=1`` also writes
``docs/screenshots/dashboard-*.png``.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import expect
from standardwebhooks import Webhook

from beamit.auth.oauth.tokens import grant_path, token_path
from beamit.auth.users import create_user
from beamit.dashboard.workspaces import register_dashboard_client
from beamit.sandbox import SandboxConfig, generate_studies
from beamit.sandbox.load import seed_sandbox
from tests.browser.screenshots import save_screenshot
from tests.integration.test_wado import new_tenant
from tests.oauth_flow import PASSWORD
from tests.share_flow import plain_firestore, random_phone
from tests.webhook_receiver import Receiver

LAPTOP = {"width": 1366, "height": 860}
TABLET = {"width": 820, "height": 1180}
SMALL = SandboxConfig(scale=0.25, ct_slices=6, mr_slices=3, us_frames=3, projection_shape=(512, 400))
SEED = 20260301

pytestmark = pytest.mark.emulators


@dataclass(frozen=True)
class Workspace:
    id: str
    key: str
    admin: str
    auditor: str
    families: tuple[str, ...]  # patient family names of the seeded studies

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def make_workspace(svc, stack, count: int, seed: int = SEED,
                   roles: tuple[str, ...] = ("admin", "auditor")) -> Workspace:
    tenant = new_tenant(svc)
    register_dashboard_client(svc.metadata, tenant.id, stack.url, created_by="pytest")
    emails = {role: f"{role}@{tenant.id}.beamit.test" for role in ("admin", "auditor")}
    for role in roles:
        create_user(svc.metadata, tenant.scope, email=emails[role], role=role, password=PASSWORD, created_by="pytest")
    families: list[str] = []
    if count:
        report = seed_sandbox(stack.url, tenant.key, seed=seed, count=count, config=SMALL)
        assert report.failed_requests == 0, report
        families = [str(next(s.datasets()).PatientName).split("^")[0] for s in generate_studies(seed, count, SMALL)]
    return Workspace(tenant.id, tenant.key, emails["admin"], emails["auditor"], tuple(families))


@pytest.fixture(scope="module")
def workspace(svc, stack) -> Workspace:
    return make_workspace(svc, stack, 2)


@pytest.fixture(scope="module")
def db(stack):
    return plain_firestore(stack.settings.project_id)


class Session:
    """A browser context on the dashboard: what the page sent, and its script errors."""

    def __init__(self, browser: Any, viewport: dict[str, int] = LAPTOP) -> None:
        self.context = browser.new_context(viewport=viewport, accept_downloads=True)
        self.page = self.context.new_page()
        self.requests: list[Any] = []
        self.errors: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def bearer(self) -> str:
        """The access token of the page's latest API call (read off the wire: the page keeps it
        out of every storage a test could read)."""
        for request in reversed(self.requests):
            header = request.headers.get("authorization", "")
            if header.startswith("Bearer bat_"):
                return header.removeprefix("Bearer ")
        raise AssertionError("the page made no API call with a token")

    def token_calls(self, grant_type: str) -> list[Any]:
        return [r for r in self.requests if r.url.endswith("/v1/auth/token") and r.method == "POST"
                and f"grant_type={grant_type}" in (r.post_data or "")]

    def close(self) -> None:
        assert self.errors == [], self.errors
        self.context.close()


def sign_in(session: Session, stack, workspace: Workspace, email: str, route: str = "#/studies",
            tmp_path: Path | None = None) -> Any:
    page = session.page
    page.goto(f"{stack.url}/dashboard/?workspace={workspace.id}{route}")
    # Signed out: straight to the product's own sign-in page, for the workspace's dashboard client.
    page.wait_for_url(re.compile(r"/v1/auth/authorize\?"))
    assert "BeamIt dashboard" in page.locator("main").inner_text()
    if tmp_path is not None:
        save_screenshot(page.screenshot(), "dashboard-sign-in.png", tmp_path)
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Sign in and allow").click()
    page.wait_for_url(re.compile(rf"/dashboard/\?workspace={workspace.id}{re.escape(route)}$"))
    page.wait_for_selector("#nav:not([hidden])")
    return page


def nothing_stored(page: Any) -> None:
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0
    assert page.evaluate("document.cookie") == ""
    assert "code=" not in page.url and "bat_" not in page.url


# -- what a person does ---------------------------------------------------------------------------------


def test_sign_in_search_open_and_share_a_study(browser, stack, workspace, db, tmp_path):
    session = Session(browser)
    page = sign_in(session, stack, workspace, workspace.admin, tmp_path=tmp_path)
    nothing_stored(page)
    assert [a.inner_text() for a in page.locator("#nav a").all()] == [
        "Studies", "Shares", "Webhooks", "API keys", "Audit", "Sandbox"]
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("img.thumb:not([src])")).to_have_count(0)  # every thumbnail fetched with the token
    assert all(width > 0 for width in page.locator("img.thumb").evaluate_all("all => all.map(i => i.naturalWidth)"))

    # A wildcard search on the patient name: only that study; the terms stay out of the URL.
    family = workspace.families[0]
    page.fill("input[name=name]", f"{family[:3].lower()}*")
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(1)
    assert family in rows.first.inner_text()
    assert family[:3].lower() not in page.url.lower()
    page.get_by_role("button", name="Clear").click()
    expect(rows).to_have_count(2)
    expect(page.locator("img.thumb:not([src])")).to_have_count(0)
    save_screenshot(page.screenshot(), "dashboard-studies.png", tmp_path)

    # Open it: series, then images rendered by WADO-RS, moved through with the keyboard.
    rows.filter(has_text=family).get_by_role("link", name="Open").click()
    page.wait_for_selector(".frame-box[data-shown='1']")
    assert page.evaluate("document.querySelector('img.frame').naturalWidth") > 0
    frames = page.locator(".counter").inner_text()
    if not frames.endswith(" of 1"):
        page.locator(".frame-box").focus()
        page.keyboard.press("ArrowDown")
        page.wait_for_selector(".frame-box[data-shown='2']")
    save_screenshot(page.screenshot(), "dashboard-study.png", tmp_path)

    # Share it: phone checked before sending; the link and QR code shown once.
    page.get_by_role("button", name="Share this study").click()
    dialog = page.locator("dialog")
    dialog.get_by_label("Patient's mobile phone").fill("0415 555")
    dialog.get_by_role("button", name="Create share").click()
    assert dialog.get_by_label("Patient's mobile phone").evaluate("e => e.validationMessage")
    phone = random_phone()
    dialog.get_by_label("Patient's mobile phone").fill(phone[:2] + " " + phone[2:5] + " " + phone[5:])
    dialog.get_by_role("button", name="Create share").click()
    link = page.locator("dialog input.secret")
    link.wait_for()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/s/BM-[A-Z0-9]{6}", link.input_value())
    assert page.locator("dialog img.qr").evaluate("i => i.naturalWidth") > 0
    save_screenshot(page.screenshot(), "dashboard-share-created.png", tmp_path)
    page.get_by_role("button", name="Done").click()

    page.locator("#nav").get_by_role("link", name="Shares").click()
    listed = page.locator("tr[data-share]")
    listed.first.wait_for()
    assert listed.count() == 1 and "active" in listed.first.inner_text()
    assert phone[-4:] in listed.first.inner_text() and phone[4:8] not in listed.first.inner_text()
    assert "not viewed" in listed.first.inner_text()
    save_screenshot(page.screenshot(), "dashboard-shares.png", tmp_path)
    nothing_stored(page)
    session.close()


def test_webhook_test_event_reaches_and_verifies(browser, stack, workspace, tmp_path):
    receiver = Receiver()
    session = Session(browser)
    try:
        page = sign_in(session, stack, workspace, workspace.admin, "#/webhooks")
        page.get_by_text("No webhook endpoints yet").wait_for()
        page.get_by_role("button", name="Add endpoint").click()
        page.get_by_label("Endpoint URL").fill(receiver.url)
        page.get_by_label("A patient opened a share link").check()
        page.get_by_role("button", name="Add endpoint").last.click()
        secret = page.locator("dialog input.secret").input_value()
        assert secret.startswith("whsec_")
        page.get_by_role("button", name="I have stored it").click()

        card = page.locator("[data-endpoint]")
        card.wait_for()
        card.get_by_role("button", name="Send test event").click()
        page.locator("dialog select").select_option("share.accessed")
        page.get_by_role("button", name="Send", exact=True).click()
        page.locator("#status").get_by_text("Test event delivered: HTTP 200").wait_for()

        (received,) = receiver.wait_for(1)
        event = Webhook(secret).verify(received.body, received.headers)  # raises if the signature is wrong
        assert event["test"] is True and event["type"] == "share.accessed"

        card.get_by_role("link", name="Delivery log").click()
        row = page.locator("tr[data-delivery]")
        row.first.wait_for()
        text = row.first.inner_text()
        assert "share.accessed" in text and "test" in text and "succeeded" in text and "HTTP 200" in text
        assert re.search(r"\d+ ms", text)
        row.first.get_by_role("button", name="Attempts").click()
        assert "HTTP 200" in page.locator("tr.detail:not([hidden])").inner_text()
        save_screenshot(page.screenshot(), "dashboard-webhook.png", tmp_path)

        summary = page.locator("[data-endpoint]")
        summary.get_by_role("button", name="Disable").click()
        summary.get_by_role("button", name="Enable").wait_for()
        assert "disabled" in summary.inner_text()
        summary.get_by_role("button", name="Enable").click()
        summary.get_by_role("button", name="Disable").wait_for()
        summary.get_by_role("button", name="Rotate secret").click()
        page.get_by_role("button", name="Rotate", exact=True).click()
        rotated = page.locator("dialog input.secret").input_value()
        assert rotated.startswith("whsec_") and rotated != secret
        page.get_by_role("button", name="I have stored it").click()
        page.locator("#nav").get_by_role("link", name="Webhooks").click()
        page.locator("[data-endpoint]").wait_for()
        save_screenshot(page.screenshot(), "dashboard-webhooks.png", tmp_path)
        session.close()
    finally:
        receiver.close()


def test_api_key_is_created_shown_once_and_revoked(browser, stack, workspace, tmp_path):
    session = Session(browser)
    page = sign_in(session, stack, workspace, workspace.admin, "#/keys")
    page.get_by_role("button", name="Create API key").click()
    page.get_by_label("Name").fill("CI bridge")
    page.get_by_label("Search and retrieve studies").check()
    page.get_by_role("button", name="Create key").click()
    key = page.locator("dialog input.secret").input_value()
    assert key.startswith("bk_local_")
    page.get_by_role("button", name="I have stored it").click()
    search = f"{stack.url}/v1/dicomweb/studies"
    assert requests.get(search, headers={"Authorization": f"Bearer {key}"}, timeout=30).status_code == 200
    row = page.locator("tr[data-key]", has_text="CI bridge")
    assert "studies:read" in row.inner_text() and key not in page.content()
    save_screenshot(page.screenshot(), "dashboard-keys.png", tmp_path)
    row.get_by_role("button", name="Revoke").click()
    page.locator("dialog").get_by_role("button", name="Revoke").click()
    page.locator("tr[data-key]", has_text="CI bridge").get_by_text("revoked").wait_for()
    assert requests.get(search, headers={"Authorization": f"Bearer {key}"}, timeout=30).status_code == 401
    session.close()


def test_audit_finds_those_actions(browser, stack, workspace, tmp_path):
    session = Session(browser)
    page = sign_in(session, stack, workspace, workspace.admin, "#/audit")
    page.locator(".record").first.wait_for()
    page.get_by_role("button", name="Verify the chain").click()
    page.get_by_text("The audit trail is intact").wait_for()
    save_screenshot(page.screenshot(), "dashboard-audit.png", tmp_path)
    found = {}
    for action in ("POST /v1/shares", "POST /v1/webhooks/<endpoint_id>/test", "POST /v1/api-keys",
                   "DELETE /v1/api-keys/<key_id>"):
        page.get_by_label("Action").select_option(action)
        page.get_by_role("button", name="Search").click()  # shows "Loading" at once, then the results
        page.locator(".results .records, .results .empty").wait_for()
        records = page.locator(".record")
        assert records.count() == 1, action
        assert records.first.locator("dd code").first.text_content() == action
        found[action] = records.first.inner_text()
    assert f"{workspace.admin} in the dashboard created a share link" in found["POST /v1/shares"]
    assert "sent a webhook test event" in found["POST /v1/webhooks/<endpoint_id>/test"]
    assert "revoked an API key" in found["DELETE /v1/api-keys/<key_id>"]
    assert re.search(r"from 127\.0\.0\.1", found["POST /v1/api-keys"])
    page.locator(".record summary").first.click()
    assert "DELETE /v1/api-keys/<key_id>" in page.locator(".record details").first.inner_text()
    with page.expect_download() as download:
        page.get_by_role("button", name="Export (FHIR)").click()
    bundle = json.loads(Path(download.value.path()).read_text())
    assert bundle["resourceType"] == "Bundle" and bundle["total"] == len(bundle["entry"]) >= 1
    assert {e["resource"]["resourceType"] for e in bundle["entry"]} == {"AuditEvent"}
    page.get_by_text("Exported").first.wait_for()
    session.close()


def test_a_role_without_a_scope_neither_sees_nor_calls_the_section(browser, stack, workspace):
    session = Session(browser)
    page = sign_in(session, stack, workspace, workspace.auditor, "#/audit")
    assert [a.inner_text() for a in page.locator("#nav a").all()] == ["Audit"]
    page.locator(".record").first.wait_for()
    token = session.bearer()
    page.evaluate("location.hash = '#/webhooks'")
    page.get_by_role("heading", name="Webhooks: no access").wait_for()
    # A reload forgets the tokens: the page signs in again and comes back to the same place.
    page.reload()
    page.wait_for_url(re.compile(r"/v1/auth/authorize\?"))
    page.fill("#email", workspace.auditor)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Sign in and allow").click()
    page.get_by_role("heading", name="Webhooks: no access").wait_for()
    assert not [r for r in session.requests if "/v1/webhooks" in r.url]
    # Keyboard: back from the page's heading to the menu's one section, and into it.
    page.locator("main h1").focus()
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.textContent") == "Sign out"
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.textContent") == "Audit"
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Audit trail").wait_for()
    # And the API refuses the call the page does not make.
    headers = {"Authorization": f"Bearer {token}"}
    refused = requests.get(f"{stack.url}/v1/webhooks", headers=headers, timeout=30)
    assert refused.status_code == 403 and "webhooks:manage" in refused.json()["error"]["message"]
    assert requests.get(f"{stack.url}/v1/audit", headers=headers, timeout=30).status_code == 200
    session.close()


# -- refused cases --------------------------------------------------------------------------------------


def test_expired_token_refreshed_revoked_grant_ends_session_sign_out_revokes(browser, stack, workspace, db):
    session = Session(browser)
    page = sign_in(session, stack, workspace, workspace.admin, "#/keys")
    page.locator("tr[data-key]").first.wait_for()
    # An expired access token: the API refuses it, the page refreshes (rotation) and carries on.
    old = session.bearer()
    db.document(token_path(old)).update({"expiresAt": datetime.now(UTC) - timedelta(seconds=1)})
    assert requests.get(f"{stack.url}/v1/api-keys", headers={"Authorization": f"Bearer {old}"},
                        timeout=30).status_code == 401
    page.locator("#nav").get_by_role("link", name="Webhooks").click()
    page.get_by_role("heading", name="Webhooks").wait_for()
    page.locator("[data-endpoint], .empty").first.wait_for()
    assert len(session.token_calls("refresh_token")) == 1
    assert session.bearer() != old and page.locator(".error").count() == 0
    nothing_stored(page)

    # A revoked grant: the refresh is refused, the session ends, sign-in returns to the same place.
    grant = session.bearer().split("_")[1]
    db.document(grant_path(grant)).update({"revokedAt": datetime.now(UTC)})
    page.locator("#nav").get_by_role("link", name="API keys").click()
    page.get_by_role("heading", name="Session ended").wait_for()
    assert "Sign in again" in page.locator("main").inner_text()
    assert page.locator("#nav").is_hidden()
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/v1/auth/authorize\?"))
    page.fill("#email", workspace.admin)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Sign in and allow").click()
    page.get_by_role("heading", name="API keys").wait_for()

    # Sign out revokes the grant (RFC 7009): the access token the page held stops working.
    token = session.bearer()
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Signed out").wait_for()
    revocations = [r for r in session.requests if r.url.endswith("/v1/auth/revoke")]
    assert len(revocations) == 1 and "token=brt_" in revocations[0].post_data
    assert requests.get(f"{stack.url}/v1/webhooks", headers={"Authorization": f"Bearer {token}"},
                        timeout=30).status_code == 401
    session.close()


@pytest.fixture(scope="module")
def attacker_site() -> Iterator[str]:
    """A page on another site (``localhost``; the dashboard is on ``127.0.0.1``)."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<!doctype html><title>Win a prize</title><p>Hello</p>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_csrf_forged_callbacks_and_cross_site_calls_are_refused(browser, stack, workspace, attacker_site):
    session = Session(browser)
    page = session.page
    # A callback the page did not start (login CSRF): refused, no code is redeemed.
    page.goto(f"{stack.url}/dashboard/callback?code=bac_{'a' * 52}&state=forged")
    page.get_by_role("heading", name="Not signed in").wait_for()
    assert "did not start in this browser tab" in page.locator("main").inner_text()
    assert session.token_calls("authorization_code") == [] and "code=" not in page.url

    # A sign-in form posted without the browser's CSRF cookie: refused by the authorization server.
    page.goto(f"{stack.url}/dashboard/?workspace={workspace.id}#/keys")
    page.wait_for_url(re.compile(r"/v1/auth/authorize\?"))
    session.context.clear_cookies()
    page.fill("#email", workspace.admin)
    page.fill("#password", PASSWORD)
    with page.expect_response(lambda r: r.url.endswith("/v1/auth/authorize") and r.request.method == "POST") as sent:
        page.get_by_role("button", name="Sign in and allow").click()
    assert sent.value.status == 403 and "did not come from this browser" in page.locator("main").inner_text()

    # Signed in, the browser holds no credential a cross-site page could ride on: a form POST
    # and a credentialed fetch from another site reach the API without one and are refused;
    # nothing is created.
    page = sign_in(session, stack, workspace, workspace.admin, "#/keys")
    keys_before = requests.get(f"{stack.url}/v1/api-keys", headers=workspace.headers, timeout=30).json()["data"]
    attacker = session.context.new_page()
    attacker.goto(attacker_site)  # localhost: another site than 127.0.0.1, and none of our CSP
    statuses = []
    attacker.on("response", lambda r: statuses.append(r.status) if "/v1/api-keys" in r.url else None)
    with attacker.expect_response(lambda r: "/v1/api-keys" in r.url):
        attacker.evaluate("""target => fetch(target, {method: 'POST', mode: 'no-cors', credentials: 'include',
            headers: {'Content-Type': 'text/plain'}, body: JSON.stringify({name: 'csrf', scopes: ['keys:manage']})})
            .catch(() => 'opaque')""", f"{stack.url}/v1/api-keys")
    with attacker.expect_navigation():
        attacker.evaluate("""target => { const f = document.createElement('form');
            f.method = 'POST'; f.action = target; f.enctype = 'text/plain';
            const i = document.createElement('input');
            i.name = '{"name":"csrf","scopes":["keys:manage"],"x":"'; i.value = '"}';
            f.appendChild(i); document.body.appendChild(f); f.submit(); }""", f"{stack.url}/v1/api-keys")
    assert statuses and all(status == 401 for status in statuses), statuses
    keys_after = requests.get(f"{stack.url}/v1/api-keys", headers=workspace.headers, timeout=30).json()["data"]
    assert [k["id"] for k in keys_after] == [k["id"] for k in keys_before]
    attacker.close()
    session.close()


def test_another_tenants_ids_are_not_found(browser, stack, svc, workspace):
    other = make_workspace(svc, stack, 1, seed=SEED + 1, roles=())  # its own study (the same seed: the same UIDs)
    study = requests.get(f"{stack.url}/v1/dicomweb/studies", headers=other.headers, timeout=30).json()[0]
    uid = study["0020000D"]["Value"][0]
    hook = requests.post(f"{stack.url}/v1/webhooks", json={"url": "http://127.0.0.1:9/x", "events": ["study.received"]},
                         headers=other.headers, timeout=30).json()
    session = Session(browser)
    page = sign_in(session, stack, workspace, workspace.admin, f"#/studies/{uid}")
    page.get_by_role("heading", name="Study not found").wait_for()
    assert "another workspace" in page.locator("main").inner_text()
    page.evaluate(f"location.hash = '#/webhooks/{hook['id']}'")
    page.get_by_role("heading", name="Endpoint not found").wait_for()
    calls = [r for r in session.requests if hook["id"] in r.url or uid in r.url]
    assert calls and all(r.response().status in (204, 404) for r in calls)
    session.close()


# -- the sandbox, on a tablet ------------------------------------------------------------------------------


def test_sandbox_seed_and_reset_on_a_tablet(browser, stack, svc, tmp_path):
    empty = make_workspace(svc, stack, 0, roles=("admin",))
    session = Session(browser, TABLET)
    page = sign_in(session, stack, empty, empty.admin, "#/studies")
    page.get_by_text("No studies yet").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.locator("#nav").get_by_role("link", name="Sandbox").click()
    page.get_by_label("How many").select_option("2")
    page.get_by_role("button", name="Add studies").click()
    page.get_by_text("Added 2 studies").wait_for(timeout=60_000)
    # One request per study, so the progress bar moves with each stored study.
    assert len([r for r in session.requests if r.url.endswith("/v1/sandbox/seed")]) == 2
    save_screenshot(page.screenshot(), "dashboard-sandbox.png", tmp_path)
    page.get_by_role("link", name="See them in Studies").click()
    expect(page.locator("table tbody tr")).to_have_count(2)
    expect(page.locator("img.thumb:not([src])")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    save_screenshot(page.screenshot(), "dashboard-tablet.png", tmp_path)

    page.locator("#nav").get_by_role("link", name="Sandbox").click()
    page.get_by_role("button", name="Reset sandbox data").click()
    page.get_by_label(re.compile("Type the workspace name")).fill("not-it")
    page.get_by_role("button", name="Delete studies and shares").click()
    page.locator("dialog .error").get_by_text(f"Type {empty.id} exactly").wait_for()
    page.get_by_label(re.compile("Type the workspace name")).fill(empty.id)
    page.get_by_role("button", name="Delete studies and shares").click()
    page.get_by_text("Deleted 2 studies").wait_for()
    page.locator("#nav").get_by_role("link", name="Studies").click()
    page.get_by_text("No studies yet").wait_for()
    session.close()
