"""OAuth 2.0 authorization server (RFC 6749, 7636, 7009, 7662, 8414) built on Authlib.

- :mod:`~beamit.auth.oauth.clients`: registered clients (public or confidential)
- :mod:`~beamit.auth.oauth.tokens`: codes, grants (refresh token families), access and
  refresh tokens in Firestore, and resolving a Bearer access token to a principal
- :mod:`~beamit.auth.oauth.server`: Authlib's server components over those records
- :mod:`~beamit.auth.oauth.requests`: our Flask request as Authlib's ``OAuth2Request``
- :mod:`~beamit.auth.oauth.consent`: the sign-in and consent page (CSRF, headers)
"""
