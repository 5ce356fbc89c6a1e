"""Pub/Sub implementation of :class:`~beamit.storage.protocols.EventBus`."""

from __future__ import annotations

from google.api_core import exceptions as gexc
from google.cloud import pubsub_v1  # type: ignore[attr-defined]


class PubSubEventBus:
    """Publishes to topics of one project (topic ids, not full names)."""

    def __init__(self, publisher: pubsub_v1.PublisherClient, project_id: str) -> None:
        self._publisher = publisher
        self._project = project_id

    def publish(self, topic: str, data: bytes, attributes: dict[str, str] | None = None) -> str:
        future = self._publisher.publish(self._publisher.topic_path(self._project, topic), data, **(attributes or {}))
        return str(future.result(timeout=30))

    def topic_exists(self, topic: str) -> bool:
        try:
            self._publisher.get_topic(request={"topic": self._publisher.topic_path(self._project, topic)})
        except gexc.NotFound:
            return False
        return True
