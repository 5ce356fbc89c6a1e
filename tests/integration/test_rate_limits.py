"""Throttles and budgets through HTTP: guesses sent truly in parallel are counted before they are
checked, so no more pass than the policy allows; an API key gets its tenant's budget and no more;
answers say where the caller stands (RateLimit-Policy and RateLimit fields) and 429s when to come
back (Retry-After)."""

from __future__ import annotations

import json
import random
import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from beamit import cli
from beamit.auth.throttle import ACCOUNT_POLICY, ThrottlePolicy
from beamit.clock import utcnow
from beamit.shares.access import CODE_LOOKUP_POLICY
from tests.oauth_flow import authorize_url, create_client, create_user
from tests.oauth_flow import browser as oauth_browser
from tests.support import client_session

LIMIT = re.compile(r'^"(?P<name>[a-z-]+)";r=(?P<r>\d+)(;t=(?P<t>\d+))?$')


def allowed_within(policy: ThrottlePolicy, seconds: float) -> int:
    """How many attempts the policy lets through in ``seconds`` from the first."""
    return sum(1 for n in range(1, policy.lockout_after + 1)
               if (delay := policy.delay(n)) is not None and delay.total_seconds() <= seconds)


def in_parallel(calls: int, call):
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=calls) as pool:
        responses = list(pool.map(lambda _: call(), range(calls)))
    return responses, time.monotonic() - started


def standing(response, name: str) -> dict[str, int | None]:
    """The RateLimit item of policy ``name``: {"r": ..., "t": ...}."""
    for item in response.headers["RateLimit"].split(", "):
        match = LIMIT.match(item)
        assert match, item
        if match["name"] == name:
            return {"r": int(match["r"]), "t": int(match["t"]) if match["t"] else None}
    raise AssertionError(f"no {name} in {response.headers['RateLimit']}")


def test_parallel_share_code_guesses_pass_no_more_than_the_policy(api):
    """24 guesses at once from one client: before, every one read 'not blocked' and was checked."""
    address = client_session().source_address
    url = f"{api.base_url}/s/api/verification"

    def guess():
        code = "BM-" + "".join(random.choices("23456789ABCDEFGHJKMNPQRSTUVWXYZ", k=6))
        return client_session(address).post(url, json={"code": code}, timeout=60)

    responses, elapsed = in_parallel(24, guess)
    checked = [r for r in responses if r.status_code == 404]
    refused = [r for r in responses if r.status_code == 429]
    assert len(checked) + len(refused) == 24
    assert CODE_LOOKUP_POLICY.free_attempts <= len(checked) <= allowed_within(CODE_LOOKUP_POLICY, elapsed)
    for response in refused:
        assert 1 <= int(response.headers["Retry-After"]) <= 3600
        assert response.headers["RateLimit-Policy"] == '"share-code-ip";q=30;w=3600'
    # Every checked guess was counted first; those refused from the read were not (no write).
    assert 30 - 24 <= min(standing(r, "share-code-ip")["r"] for r in responses) <= 30 - len(checked)


def test_parallel_sign_in_guesses_are_counted_before_the_password_is_checked(api, stack, tenant):
    user = create_user(api, tenant.headers, f"ana-{tenant.id}@example.org", "clinician")
    app = create_client(api, tenant.headers, public=False)
    browser = oauth_browser(stack)
    page = browser.open(authorize_url(stack, app.client_id, state="st"))
    address = browser.session.source_address

    def submit(password: str):
        # Each guess from the same address, on a connection of its own, with the page's CSRF cookie.
        return oauth_browser(stack, ip=address, cookies=browser.session.cookies).submit(page, user.email, password)

    responses, elapsed = in_parallel(10, lambda: submit("not the password, guessing"))
    checked = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code == 429]
    assert len(checked) + len(refused) == 10
    assert ACCOUNT_POLICY.free_attempts <= len(checked) <= allowed_within(ACCOUNT_POLICY, elapsed)
    for response in refused:  # the same page, not checked, and when to come back
        assert "We could not sign you in" in response.text and int(response.headers["Retry-After"]) >= 1
    assert '"sign-in-account";q=10;w=900' in responses[0].headers["RateLimit-Policy"]
    assert min(standing(r, "sign-in-account")["r"] for r in responses) <= 10 - len(checked)


@pytest.fixture
def budgeted(svc, make_tenant, capsys):
    """A tenant whose API keys may make 5 requests an hour (no window turn during the test), set as
    an operator would."""
    if 3600 - utcnow().timestamp() % 3600 < 30:
        time.sleep(31)
    tenant = make_tenant()
    assert cli.main(["tenants", "rate-limit", "--id", tenant.id, "--requests", "5", "--window-seconds", "3600"]) == 0
    assert json.loads(capsys.readouterr().out)["apiKeyRateLimit"] == {"requests": 5, "windowSeconds": 3600}
    return tenant


def test_an_api_key_gets_its_tenants_budget_and_no_more(api, svc, budgeted, make_tenant):
    """Twelve creates at once, across the gateway's processes: exactly five are served."""
    body = {"url": "https://hooks.example.com/beamit", "events": ["study.received"]}
    responses, _ = in_parallel(12, lambda: api.post("/v1/webhooks", json=body, headers=budgeted.headers))
    assert sorted(r.status_code for r in responses) == [201] * 5 + [429] * 7
    for response in responses:
        assert response.headers["RateLimit-Policy"] == '"api-key";q=5;w=3600'
        assert standing(response, "api-key")["t"] <= 3600
    refused = next(r for r in responses if r.status_code == 429)
    assert refused.json()["error"]["type"] == "rate_limited"
    assert standing(refused, "api-key")["r"] == 0
    assert abs(int(refused.headers["Retry-After"]) - standing(refused, "api-key")["t"]) <= 1
    # Nothing was done for the refused ones; another key of the tenant has a budget of its own.
    from beamit.auth.api_keys import create_key
    from beamit.auth.scopes import ALL_SCOPES

    second = create_key(svc.metadata, env_prefix=svc.settings.api_key_prefix, tenant=budgeted.scope,
                        name="second", scopes=ALL_SCOPES, created_by="pytest").token
    listed = api.get("/v1/webhooks", headers={"Authorization": f"Bearer {second}"})
    assert listed.status_code == 200 and len(listed.json()["data"]) == 5
    assert standing(listed, "api-key")["r"] == 4
    # Other tenants' keys are not affected; every answer to an API key carries its standing.
    other = make_tenant()
    missing = api.get("/v1/dicomweb/studies/1.2.3/metadata", headers=other.headers)
    assert missing.status_code == 404 and missing.headers["RateLimit-Policy"].startswith('"api-key";q=')
    assert timedelta(seconds=standing(missing, "api-key")["t"]) <= timedelta(minutes=1)
