"""Domain events: recorded with the change they report, published at least once, delivered once.

- :mod:`~beamit.events.event`: the event types, an event and its Pub/Sub message;
- :mod:`~beamit.events.outbox`: the transactional outbox (``tenants/{t}/outbox/{evt_id}``),
  the fast-path publish and the sweep of what is left unpublished;
- :mod:`~beamit.events.arrivals`: ``study.received`` once per study arrival, after a quiet
  window (from the arrival state :mod:`beamit.catalog.arrivals` keeps);
- :mod:`~beamit.events.sweep`: the ``event-sweep`` scheduled function's operation.

``docs/webhooks.md`` ("Events", "When study.received is sent") is the receiver's side.
"""

from beamit.events.event import EVENT_TYPES, SHARE_ACCESSED, SHARE_EXPIRED, STUDY_RECEIVED, STUDY_SHARED, Event
from beamit.events.outbox import publish, publish_event, record

__all__ = [
    "EVENT_TYPES",
    "SHARE_ACCESSED",
    "SHARE_EXPIRED",
    "STUDY_RECEIVED",
    "STUDY_SHARED",
    "Event",
    "publish",
    "publish_event",
    "record",
]
