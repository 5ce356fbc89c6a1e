"""The OHIF Viewer v3 against BeamIt's DICOMweb root, in headless Chromium.

The npm package ``@ohif/app`` (its built ``dist/``, fetched once into ``.beamit/ohif/``) is
served by ``scripts/ohif/serve.py`` with an ``app-config.js`` naming ``<stack>/v1/dicomweb``
and the tenant's API key. A dedicated stack allows exactly the viewer's origin
(``BEAMIT_CORS_ORIGINS``). The viewer must list the seeded studies (QIDO-RS) and render an
image (WADO-RS metadata and frames) in its Cornerstone canvas.

Needs Debian's ``chromium`` (``apt-get install -y chromium``), the ``playwright`` package
(never its downloaded browsers) and ``npm``; skipped with the reason when one is missing.
Screenshots go to the test's tmp dir; ``BEAMIT_UPDATE_SCREENSHOTS=1`` also writes
``docs/screenshots/ohif-*.png``.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from beamit.devstack.stack import LocalStack
from beamit.sandbox import SandboxConfig, generate_studies
from beamit.sandbox.load import seed_sandbox
from scripts.ohif.serve import OHIF_VERSION, OhifServer, OhifUnavailable, fetch_ohif
from tests.browser.screenshots import save_screenshot, settled_screenshot
from tests.support import poll_until

pytestmark = pytest.mark.emulators

CHROMIUM = os.environ.get("BEAMIT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                 "--no-first-run", "--disable-component-update", "--disable-sync"]
SEED = 20260115
COUNT = 2
CONFIG = SandboxConfig(scale=0.25, ct_slices=8, mr_slices=4)
VIEWPORT = {"width": 1280, "height": 720}
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def ohif_dist() -> Path:
    try:
        return fetch_ohif()
    except OhifUnavailable as exc:
        pytest.skip(f"OHIF Viewer (@ohif/app@{OHIF_VERSION}) not available: {exc}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass(frozen=True)
class Seeded:
    uid: str
    family_name: str
    description: str
    modality: str


@dataclass(frozen=True)
class Viewer:
    url: str
    studies: list[Seeded]


def _seeded() -> list[Seeded]:
    out = []
    for study in generate_studies(SEED, COUNT, CONFIG):
        first = next(study.datasets())
        out.append(Seeded(study.study_uid, str(first.PatientName).split("^", 1)[0], str(first.StudyDescription),
                          str(first.Modality)))
    return out


@pytest.fixture(scope="module")
def viewer(ohif_dist: Path, browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Viewer]:
    """OHIF served on a free port, a stack allowing exactly that origin, two seeded studies."""
    server = OhifServer(ohif_dist)
    stack = LocalStack(state_dir=tmp_path_factory.mktemp("ohif-stack"), extra_env={
        "BEAMIT_CORS_ORIGINS": server.url,
        "BEAMIT_STOW_MAX_BYTES": str(32 << 20),  # the session stack's small limit may be in os.environ
    })
    stack.start()
    try:
        def cli(*args: str) -> str:
            return subprocess.run([sys.executable, "-m", "beamit.cli", *args], env=stack.env, check=True,
                                  capture_output=True, text=True, timeout=60).stdout

        cli("tenants", "create", "--id", "ohif", "--name", "OHIF viewer test")
        key = json.loads(cli("keys", "create", "--tenant", "ohif", "--scopes", "studies:read,studies:write",
                             "--name", "ohif"))["key"]
        report = seed_sandbox(stack.url, key, seed=SEED, count=COUNT, config=CONFIG)
        assert report.failed_requests == 0, report
        server.configure(f"{stack.url}/v1/dicomweb", key)
        with server:
            yield Viewer(server.url, _seeded())
    finally:
        stack.stop()
        server.httpd.server_close()


class PageLog:
    """What the page did: its DICOMweb responses and console errors."""

    def __init__(self, page: Any) -> None:
        self.dicomweb: list[tuple[int, str, str]] = []
        self.errors: list[str] = []
        page.on("response", self._response)
        page.on("console", lambda m: self.errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))

    def _response(self, response: Any) -> None:
        if "/v1/dicomweb/" in response.url:
            self.dicomweb.append((response.status, response.request.method, response.url))

    def failed_dicomweb(self) -> list[tuple[int, str, str]]:
        return [r for r in self.dicomweb if r[0] >= 400]


def _open(browser: Any) -> tuple[Any, Any, PageLog]:
    context = browser.new_context(viewport=VIEWPORT)
    # No onboarding tour over the viewport (OHIF shows it once per browser profile).
    context.add_init_script("localStorage.setItem('shownTours', JSON.stringify(['basicViewerTour']))")
    page = context.new_page()
    return context, page, PageLog(page)


def test_study_list_shows_the_seeded_studies(viewer: Viewer, browser: Any, tmp_path: Path) -> None:
    context, page, log = _open(browser)
    try:
        page.goto(f"{viewer.url}/", wait_until="load", timeout=TIMEOUT_MS)
        for study in viewer.studies:
            page.get_by_text(study.family_name).first.wait_for(state="visible", timeout=TIMEOUT_MS)
        page.get_by_text(f"1-{COUNT} of {COUNT}").wait_for(timeout=TIMEOUT_MS)
        save_screenshot(page.screenshot(), "ohif-study-list.png", tmp_path)
        body = page.inner_text("body")
        for study in viewer.studies:
            assert study.description in body and study.modality in body, body
        searches = [r for r in log.dicomweb if "/v1/dicomweb/studies?" in r[2]]
        assert searches and all(status == 200 for status, _, _ in searches), log.dicomweb
        assert not log.failed_dicomweb(), log.failed_dicomweb()
        assert not [e for e in log.errors if "CORS" in e or "blocked" in e], log.errors
    finally:
        context.close()


def _distinct_colors(png: bytes) -> int:
    colors = Image.open(io.BytesIO(png)).convert("L").getcolors(maxcolors=256)
    return 256 if colors is None else len(colors)


def test_viewer_displays_an_image(viewer: Viewer, browser: Any, tmp_path: Path) -> None:
    study = next(s for s in viewer.studies if s.modality in ("CT", "MR"))
    context, page, log = _open(browser)
    try:
        page.goto(f"{viewer.url}/viewer?StudyInstanceUIDs={study.uid}", wait_until="load", timeout=TIMEOUT_MS)
        canvas = page.locator("canvas.cornerstone-canvas").first
        canvas.wait_for(state="visible", timeout=TIMEOUT_MS)
        poll_until(lambda: _distinct_colors(canvas.screenshot()) >= 16, timeout=TIMEOUT_MS / 1000, interval=0.5,
                   what="an image in the viewport canvas (it stayed uniform)")
        page.get_by_text("I:1 (1/").first.wait_for(timeout=TIMEOUT_MS)  # the viewport's image index overlay
        save_screenshot(settled_screenshot(page), "ohif-viewer.png", tmp_path)
        assert any(u.endswith("/metadata") for _, _, u in log.dicomweb), log.dicomweb
        assert any("/frames/" in u and s == 200 for s, _, u in log.dicomweb), log.dicomweb
        assert not log.failed_dicomweb(), log.failed_dicomweb()
        assert not [e for e in log.errors if "CORS" in e or "blocked" in e], log.errors
    finally:
        context.close()
