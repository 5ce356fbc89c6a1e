"""The local stand-in for Cloud Scheduler: call each scheduled function's trigger."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import TYPE_CHECKING

from beamit.deployment import load_manifest

if TYPE_CHECKING:
    from beamit.devstack.stack import LocalStack


EVENT_SWEEP = "event-sweep"


def tick(stack: LocalStack, only: tuple[str, ...] | None = None) -> dict[str, int]:
    """POST to every ``scheduler`` function (or those named in ``only``) once, as Cloud
    Scheduler would; statuses by name."""
    statuses: dict[str, int] = {}
    for spec in load_manifest().functions:
        if spec.trigger.type != "scheduler" or (only is not None and spec.name not in only):
            continue
        request = urllib.request.Request(
            f"{stack.url}/_triggers/{spec.name}",
            data=b"{}",
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                statuses[spec.name] = response.status
        except urllib.error.HTTPError as err:
            statuses[spec.name] = err.code
        except OSError:
            statuses[spec.name] = 0
    return statuses
