"""Signed webhooks: endpoints, fan-out of domain events, retries, the delivery log.

- :mod:`~beamit.webhooks.endpoints`: a tenant's endpoints (``tenants/{t}/webhooks/{whk_id}``),
  their KMS-encrypted signing secrets and rotation.
- :mod:`~beamit.webhooks.destinations`: which URLs and addresses may be called (SSRF policy).
- :mod:`~beamit.webhooks.signatures`: ``X-BeamIt-Signature`` and the Standard Webhooks headers.
- :mod:`~beamit.webhooks.transport`: one POST to a pinned, checked address; no redirects.
- :mod:`~beamit.webhooks.schedule`: the retry schedule (about three days), jitter, ``Retry-After``.
- :mod:`~beamit.webhooks.deliveries`: delivery records (one per event and endpoint) and the
  retry queue.
- :mod:`~beamit.webhooks.dispatch`: fan-out of one event, due retries, redelivery.
- :mod:`~beamit.webhooks.push`: the Pub/Sub push envelope and its OIDC token.

``docs/webhooks.md`` is the receiver's side of the same contract.
"""
