"""The patient's first image: a share link opened in Chromium, to the first image on the canvas.

The CT series stored by :mod:`beamit.bench.stow` is shared (``POST /v1/shares``) with a
random phone number; the link and the one-time code are read from the local SMS outbox, as
the patient reads their phone. Debian's ``/usr/bin/chromium``, driven by Playwright, opens
the link, asks for the code and submits it; the clock runs from the code's submission (the
``submit`` event, in the page's own clock) to the first frame painted after the canvas
first holds an image (``data-ready="true"``, then ``requestAnimationFrame``). Every request
the page makes meanwhile is listed with its start and end (Resource Timing), UIDs replaced
by ``{uid}``. Orthanc has no patient viewer: its cell is empty.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from beamit.bench.context import BenchContext
from beamit.bench.report import Better, Cell, Measure, Row
from beamit.bench.stats import percentile

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic", "--no-first-run",
        "--disable-component-update", "--disable-sync"]
OTP = re.compile(r"\b(\d{6})\b")
UID = re.compile(r"\d+(\.\d+)+")
OUTBOX_WAIT = 10.0
TRIALS = 3
LABEL = "viewer: one-time code submitted -> first image painted (Chromium)"

TIMING_SCRIPT = """
window.__bench = {submitted: null, painted: null};
document.addEventListener('submit', () => { window.__bench.submitted = performance.now(); }, true);
document.addEventListener('DOMContentLoaded', () => {
  const canvas = document.getElementById('image');
  if (!canvas) { return; }
  new MutationObserver(() => {
    if (canvas.dataset.ready === 'true' && window.__bench.painted === null && window.__bench.submitted !== null) {
      window.__bench.painted = -1;
      requestAnimationFrame(() => { window.__bench.painted = performance.now(); });
    }
  }).observe(canvas, {attributes: true});
});
"""

REQUESTS_SCRIPT = """
(since) => performance.getEntriesByType('resource')
  .filter(e => e.startTime >= since)
  .map(e => ({name: e.name, start: e.startTime - since, end: e.responseEnd - since}))
"""


@dataclass(frozen=True)
class ViewerRequest:
    path: str
    start_ms: float
    end_ms: float


@dataclass(frozen=True)
class FirstImage:
    seconds: float
    requests: list[ViewerRequest]


def route_of(url: str) -> str:
    """A request's path with UIDs and share codes as placeholders (no identifiers in the doc)."""
    path = re.sub(r"^https?://[^/]+", "", url).split("?")[0]
    path = re.sub(r"/s/BM-[A-Z0-9]+", "/s/{code}", path)
    return UID.sub("{uid}", path)


def _outbox(ctx: BenchContext, phone: str, purpose: str) -> list[dict[str, Any]]:
    from beamit.storage import Filter, Query

    with ctx.stack_services() as svc:
        deadline = time.monotonic() + OUTBOX_WAIT
        while True:
            found = [doc.data for doc in svc.metadata.query(Query("sms_outbox", filters=(Filter("to", "==", phone),)))
                     if doc.data.get("purpose") == purpose]
            if found or time.monotonic() > deadline:
                return sorted(found, key=lambda m: m["createdAt"])
            time.sleep(0.1)


def _share_link(ctx: BenchContext, phone: str) -> str:
    response = requests.post(f"{ctx.stack.url}/v1/shares", timeout=30,
                             headers={"Authorization": f"Bearer {ctx.api_key}"},
                             json={"studyId": ctx.ct_study_uid, "recipientPhone": phone,
                                   "message": "Your images are ready", "expiresIn": "1d"})
    response.raise_for_status()
    messages = _outbox(ctx, phone, "share_link")
    if not messages:
        raise RuntimeError("no share link SMS in the outbox")
    return str(messages[-1]["body"].splitlines()[-1])


@contextmanager
def _browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def first_image(ctx: BenchContext, browser: Any) -> FirstImage:
    """One patient: a new share, its link opened in a fresh browser context, the code entered."""
    phone = f"+1415{random.randint(2, 9)}{random.randint(0, 999999):06d}"
    link = _share_link(ctx, phone)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.add_init_script(TIMING_SCRIPT)
        page.goto(link)
        page.get_by_role("button", name="Text me a code").click()
        page.wait_for_selector("#otp-form:not([hidden])", timeout=20_000)
        messages = _outbox(ctx, phone, "verification")
        match = OTP.search(messages[-1]["body"]) if messages else None
        if match is None:
            raise RuntimeError("no one-time code in the outbox")
        page.fill("#otp", match.group(1))
        page.get_by_role("button", name="View images").click()
        page.wait_for_function("() => window.__bench.painted > 0", timeout=30_000)  # functions: the CSP forbids eval
        timing = page.evaluate("() => window.__bench")
        entries = page.evaluate(REQUESTS_SCRIPT, timing["submitted"])
    finally:
        context.close()
    requests_made = [ViewerRequest(route_of(e["name"]), e["start"], e["end"]) for e in entries]
    return FirstImage((timing["painted"] - timing["submitted"]) / 1000, requests_made)


def phase_viewer(ctx: BenchContext, seconds: float) -> None:
    deadline = ctx.deadline.within(seconds)
    cell: Cell
    if not CHROMIUM.exists():
        cell = "not measured (no /usr/bin/chromium)"
    elif not ctx.ct_study_uid:
        cell = "not measured (no study stored)"
    else:
        results: list[FirstImage] = []
        try:
            with _browser() as browser:
                for _ in range(TRIALS):
                    if deadline.expired():
                        break
                    results.append(first_image(ctx, browser))
        except Exception as exc:
            ctx.findings.note(f"viewer first image failed: {type(exc).__name__}: {exc}")
        if results:
            median = percentile([r.seconds for r in results], 50)
            cell = Measure(median * 1000, "ms", f"median of {len(results)}")
            typical = min(results, key=lambda r: abs(r.seconds - median))
            ctx.findings.sections["Viewer: requests from the one-time code to the first image"] = [
                f"`{r.path}`: {r.start_ms:.0f} -> {r.end_ms:.0f} ms" for r in typical.requests
            ] + [f"first image painted at {typical.seconds * 1000:.0f} ms (the median trial; times from the "
                 "code's submission, Resource Timing of the page)"]
            print(f"  viewer first image: {', '.join(f'{r.seconds * 1000:.0f} ms' for r in results)}", flush=True)
        else:
            cell = "failed"
    ctx.findings.rows.append(Row(LABEL, cell, None, Better.LOWER))
