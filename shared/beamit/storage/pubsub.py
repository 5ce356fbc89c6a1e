"""Pub/Sub implementation of :class:`~beamit.storage.protocols.EventBus`."""

from __future__ import annotations

import time
from collections.abc import Sequence

from google.api_core import exceptions as gexc
from google.cloud import pubsub_v1  # type: ignore[attr-defined]


class PubSubEventBus:
    """Publishes to topics of one project (topic ids, not full names)."""

    def __init__(self, publisher: pubsub_v1.PublisherClient, project_id: str) -> None:
        self._publisher = publisher
        self._project = project_id

    def publish(self, topic: str, data: bytes, attributes: dict[str, str] | None = None) -> str:
        return self.publish_many(topic, [(data, attributes or {})])[0]

    def publish_many(
        self, topic: str, messages: Sequence[tuple[bytes, dict[str, str]]], *, timeout: float = 30.0
    ) -> list[str]:
        path = self._publisher.topic_path(self._project, topic)
        futures = [self._publisher.publish(path, data, **attributes) for data, attributes in messages]
        deadline = time.monotonic() + timeout
        ids: list[str] = []
        failure: Exception | None = None
        for future in futures:
            try:
                ids.append(str(future.result(timeout=max(0.0, deadline - time.monotonic()))))
            except Exception as exc:
                failure = failure or exc
        if failure is not None:
            raise failure
        return ids

    def topic_exists(self, topic: str) -> bool:
        try:
            self._publisher.get_topic(request={"topic": self._publisher.topic_path(self._project, topic)})
        except gexc.NotFound:
            return False
        return True
