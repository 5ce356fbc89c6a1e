"""Dependency health: is each backing service reachable right now?"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from beamit.storage import Services


def _checks(svc: Services) -> dict[str, Callable[[], object]]:
    settings = svc.settings

    def storage() -> None:
        if not svc.blobs.bucket_exists(settings.bucket("dicom")):
            raise RuntimeError("DICOM bucket missing")

    def pubsub() -> None:
        if not svc.events.topic_exists(settings.topic("events")):
            raise RuntimeError("events topic missing")

    return {
        "firestore": svc.metadata.ping,
        "storage": storage,
        "pubsub": pubsub,
        "kms": lambda: svc.keys.ping("secrets"),
    }


def check_dependencies(svc: Services, timeout: float = 5.0) -> dict[str, str]:
    """``{"firestore": "ok", "storage": "unavailable", ...}``, checked in parallel."""
    checks = _checks(svc)
    results: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=len(checks)) as pool:
        futures = {name: pool.submit(fn) for name, fn in checks.items()}
        for name, future in futures.items():
            try:
                future.result(timeout=timeout)
                results[name] = "ok"
            except Exception:
                results[name] = "unavailable"
    return results
