"""Our Flask request as Authlib's :class:`~authlib.oauth2.rfc6749.OAuth2Request`.

The token, revocation and introspection endpoints take the parameters of RFC 6749 as
``application/x-www-form-urlencoded`` (the standard, what every OAuth library sends) or as
a JSON object (BeamIt's documented ``POST /v1/auth/token`` body); both become the same
form. The authorization endpoint takes its parameters from the query (``GET``) or from
the sign-in form (``POST``). The request URI Authlib sees is built from
``BEAMIT_PUBLIC_URL``, never from the Host header.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from authlib.oauth2.rfc6749 import InvalidRequestError, OAuth2Payload, OAuth2Request
from flask import Request
from werkzeug.datastructures import MultiDict

MAX_BODY_BYTES = 16 * 1024


class FormPayload(OAuth2Payload):  # type: ignore[misc]
    def __init__(self, values: MultiDict[str, str]) -> None:
        self._values = values

    @property
    def data(self) -> MultiDict[str, str]:
        return self._values

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        out: defaultdict[str, list[str]] = defaultdict(list)
        for key in self._values:
            out[key].extend(self._values.getlist(key))
        return out


class BeamItOAuth2Request(OAuth2Request):  # type: ignore[misc]
    def __init__(self, method: str, uri: str, headers: Any, args: MultiDict[str, str],
                 form: MultiDict[str, str]) -> None:
        super().__init__(method, uri, headers=headers)
        self._args = args
        self._form = form
        self.payload = FormPayload(args if method == "GET" else form)

    @property
    def args(self) -> MultiDict[str, str]:
        return self._args

    @property
    def form(self) -> MultiDict[str, str]:
        return self._form


def body_parameters(request: Request) -> MultiDict[str, str]:
    """The OAuth parameters of a POST body, form-encoded or JSON; ``invalid_request`` else."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise InvalidRequestError(f"Request bodies are limited to {MAX_BODY_BYTES} bytes.")
    if request.mimetype == "application/x-www-form-urlencoded":
        return MultiDict(request.form.items(multi=True))
    if request.mimetype == "application/json":
        raw = request.get_data(cache=True)
        if len(raw) > MAX_BODY_BYTES:
            raise InvalidRequestError(f"Request bodies are limited to {MAX_BODY_BYTES} bytes.")
        try:
            body = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise InvalidRequestError("The body is not valid JSON.") from None
        if not isinstance(body, dict) or not all(isinstance(v, str) for v in body.values()):
            raise InvalidRequestError("The JSON body must be an object of string parameters.")
        return MultiDict(body)
    raise InvalidRequestError("Send the parameters as application/x-www-form-urlencoded or application/json.")


def oauth_request(request: Request, public_base_url: str) -> BeamItOAuth2Request:
    """Authlib's view of ``request``; a bad body raises Authlib's ``InvalidRequestError``
    (the caller renders it with the server's ``handle_error_response``)."""
    uri = public_base_url + request.path
    args: MultiDict[str, str] = MultiDict(request.args.items(multi=True))
    form: MultiDict[str, str] = MultiDict() if request.method == "GET" else body_parameters(request)
    return BeamItOAuth2Request(request.method, uri, request.headers, args, form)


def bare_request(request: Request, public_base_url: str) -> BeamItOAuth2Request:
    """An ``OAuth2Request`` without parameters: to render an error for a body that failed."""
    return BeamItOAuth2Request(request.method, public_base_url + request.path, request.headers, MultiDict(),
                               MultiDict())
