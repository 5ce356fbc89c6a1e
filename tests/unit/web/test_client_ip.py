"""The client's address: the proxy's appended entry of X-Forwarded-For, else the socket's peer."""

from __future__ import annotations

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from beamit.devstack.gateway import forwarded_for
from beamit.settings import SettingsError, load_settings
from beamit.web.context import client_ip


def request(forwarded: str | list[str] | None, peer: str = "10.0.0.9") -> Request:
    headers = [("X-Forwarded-For", v) for v in ([forwarded] if isinstance(forwarded, str) else forwarded or [])]
    return Request(EnvironBuilder(headers=headers, environ_base={"REMOTE_ADDR": peer}).get_environ())


@pytest.mark.parametrize(
    ("forwarded", "hops", "expected"),
    [
        ("198.51.100.4, 34.1.2.3", 2, "198.51.100.4"),  # what the load balancer appends
        ("1.1.1.1, 2.2.2.2, 198.51.100.4, 34.1.2.3", 2, "198.51.100.4"),  # the client's own entries ignored
        (["1.1.1.1", "198.51.100.4, 34.1.2.3"], 2, "198.51.100.4"),  # several header lines are one list
        ("2001:db8::7, 34.1.2.3", 2, "2001:db8::7"),
        ("198.51.100.4", 2, "10.0.0.9"),  # one entry: not through the proxy, the peer is the client
        (None, 2, "10.0.0.9"),
        ("not-an-ip, 34.1.2.3", 2, "10.0.0.9"),
        ("198.51.100.4, 34.1.2.3", 0, "10.0.0.9"),  # no proxy trusted
        ("198.51.100.4, 34.1.2.3, 35.9.9.9", 3, "198.51.100.4"),  # one more trusted proxy in front
    ],
)
def test_client_ip(forwarded, hops, expected):
    assert client_ip(request(forwarded), hops) == expected


def test_the_local_gateway_appends_like_the_load_balancer():
    environ = {"REMOTE_ADDR": "127.5.6.7", "SERVER_NAME": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.1"}
    assert forwarded_for(environ) == "203.0.113.1, 127.5.6.7, 127.0.0.1"
    assert forwarded_for({"REMOTE_ADDR": "127.5.6.7", "SERVER_NAME": "127.0.0.1"}) == "127.5.6.7, 127.0.0.1"
    environ["HTTP_X_FORWARDED_FOR"] = forwarded_for(environ)
    assert client_ip(Request(environ), 2) == "127.5.6.7"


def test_the_hop_count_is_a_setting():
    assert load_settings({}).trusted_proxy_hops == 2
    assert load_settings({"BEAMIT_TRUSTED_PROXY_HOPS": "3"}).trusted_proxy_hops == 3
    with pytest.raises(SettingsError):
        load_settings({"BEAMIT_TRUSTED_PROXY_HOPS": "-1"})
