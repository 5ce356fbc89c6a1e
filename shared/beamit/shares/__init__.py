"""Patient share links: ``POST /v1/shares`` and the ``/s/{shareCode}`` viewer behind them.

- :mod:`~beamit.shares.codes`: share codes (``BM-7K9X2P``) and their keyed digests;
- :mod:`~beamit.shares.fields`: validation of a create request (E.164 phones, ``expiresIn``);
- :mod:`~beamit.shares.share`: the share document and its JSON;
- :mod:`~beamit.shares.service`: create (idempotent), list, get, revoke, extend;
- :mod:`~beamit.shares.access`: the recipient's side: code lookup, one-time SMS code, lockout;
- :mod:`~beamit.shares.sessions`: the short-lived, share-scoped viewer session;
- :mod:`~beamit.shares.expiry`: the scheduled sweep that expires shares (``share.expired``);
- :mod:`~beamit.shares.archive`: the study as a ZIP with a DICOMDIR (patient download).

The design and the event payloads are in ``docs/sharing.md``.
"""
