"""The webhook address policy (SSRF): which URLs may be registered and which addresses called."""

from __future__ import annotations

import ipaddress

import pytest

from beamit.settings import load_settings
from beamit.webhooks.destinations import (
    DestinationPolicy,
    RefusedDestination,
    address_refusal,
    check_url,
    resolve_destination,
)

PRODUCTION = DestinationPolicy.for_settings(
    load_settings({"BEAMIT_ENV": "production", "GOOGLE_CLOUD_PROJECT": "acme-prod"})
)
SANDBOX = DestinationPolicy.for_settings(load_settings({"BEAMIT_ENV": "sandbox", "GOOGLE_CLOUD_PROJECT": "acme-sbx"}))
LOCAL = DestinationPolicy.for_settings(load_settings({}))


def test_policies_follow_the_environment():
    # sandbox runs on Google Cloud like production: a private address there is the project's VPC
    assert not PRODUCTION.allow_internal and not SANDBOX.allow_internal
    assert LOCAL.allow_internal


@pytest.mark.parametrize("url", ["http://127.0.0.1:9000/hook", "https://10.1.2.3/hook", "https://localhost/hook"])
def test_sandbox_refuses_internal_destinations(url):
    with pytest.raises(RefusedDestination):
        check_url(url, SANDBOX)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("169.254.169.254", "the metadata server"),
        ("169.254.170.2", "the metadata server"),
        ("fd00:ec2::254", "the metadata server"),
        ("169.254.1.1", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("10.0.0.1", "a private or non-public address"),
        ("10.255.255.255", "a private or non-public address"),
        ("172.16.5.4", "a private or non-public address"),
        ("192.168.1.10", "a private or non-public address"),
        ("100.64.0.1", "a private or non-public address"),  # carrier-grade NAT
        ("127.0.0.1", "a loopback address"),
        ("127.8.9.10", "a loopback address"),
        ("::1", "a loopback address"),
        ("fc00::1", "a private or non-public address"),
        ("fd12:3456::1", "a private or non-public address"),
        ("0.0.0.0", "an unspecified address"),
        ("::", "an unspecified address"),
        ("224.0.0.1", "a multicast address"),
        ("::ffff:169.254.169.254", "the metadata server"),  # IPv4-mapped
        ("::ffff:10.0.0.1", "a private or non-public address"),
        ("64:ff9b::a9fe:a9fe", "the metadata server"),  # NAT64 of 169.254.169.254
        ("2002:7f00:1::", "a loopback address"),  # 6to4 of 127.0.0.1
        ("192.0.2.1", "a private or non-public address"),  # documentation range
    ],
)
def test_internal_addresses_are_refused_in_production(address, reason):
    assert address_refusal(ipaddress.ip_address(address), PRODUCTION) == reason


@pytest.mark.parametrize("address", ["8.8.8.8", "142.250.72.14", "2607:f8b0:4005:80b::200e", "::ffff:8.8.8.8"])
def test_public_addresses_are_allowed(address):
    assert address_refusal(ipaddress.ip_address(address), PRODUCTION) is None


@pytest.mark.parametrize("policy", [LOCAL])
def test_local_allows_loopback_and_private_but_never_the_metadata_server(policy):
    for allowed in ("127.0.0.1", "::1", "10.0.0.1", "192.168.1.10", "fc00::1"):
        assert address_refusal(ipaddress.ip_address(allowed), policy) is None, allowed
    for refused in ("169.254.169.254", "169.254.1.1", "fe80::1", "0.0.0.0", "::ffff:169.254.169.254"):
        assert address_refusal(ipaddress.ip_address(refused), policy) is not None, refused


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://hooks.example.com/x", "must be an https URL"),
        ("http://127.0.0.1:9000/x", "must be an https URL"),
        ("ftp://hooks.example.com/x", "must be an https URL"),
        ("https://169.254.169.254/computeMetadata/v1/", "the metadata server"),
        ("https://metadata.google.internal/computeMetadata/v1/", "the metadata server"),
        ("https://METADATA.google.internal./x", "not a valid DNS name"),
        ("https://10.1.2.3/hook", "a private or non-public address"),
        ("https://127.0.0.1/hook", "a loopback address"),
        ("https://[::1]/hook", "a loopback address"),
        ("https://[fc00::1]/hook", "a private or non-public address"),
        ("https://[::ffff:127.0.0.1]/hook", "a loopback address"),
        ("https://localhost/hook", "not a public DNS name"),
        ("https://db.internal/hook", "not a public DNS name"),
        ("https://intranet/hook", "not a public DNS name"),
        ("https://user:pass@hooks.example.com/x", "credentials"),
        ("https://hooks.example.com/x#frag", "fragment"),
        ("https://hooks.example.com:99999/x", "invalid port"),
        ("https:///x", "no host"),
        ("https://hooks.exämple.com/x", "ASCII"),
        ("https://hooks.example.com/a b", "ASCII"),
        ("https://" + "a" * 2050 + ".com/", "limited to 2048"),
        ("", "non-empty string"),
        (42, "non-empty string"),
    ],
)
def test_check_url_refuses_in_production(url, message):
    with pytest.raises(RefusedDestination, match=message):
        check_url(url, PRODUCTION)


def test_check_url_accepts_public_https():
    for url in ("https://hooks.example.com/beamit", "https://hooks.example.com:8443/a?b=c", "https://8.8.8.8/x"):
        assert check_url(url, PRODUCTION) == url


@pytest.mark.parametrize("policy", [LOCAL])
def test_loopback_http_only_in_local(policy):
    for url in ("http://127.0.0.1:9000/hook", "http://[::1]:9000/hook", "http://localhost:9000/hook"):
        assert check_url(url, policy) == url
    with pytest.raises(RefusedDestination, match="https"):
        check_url("http://10.0.0.1/hook", policy)  # plain http: loopback only
    with pytest.raises(RefusedDestination, match="https"):
        check_url("http://hooks.example.com/hook", policy)
    with pytest.raises(RefusedDestination, match="metadata"):
        check_url("https://169.254.169.254/", policy)


def fake_resolver(answers):
    def resolve(host, port):
        return answers[host]

    return resolve


def test_resolution_checks_every_address_and_pins_them():
    resolver = fake_resolver({"hooks.example.com": ["93.184.216.34", "2606:2800:220:1::1"]})
    destination = resolve_destination("https://hooks.example.com/in?x=1", PRODUCTION, resolver)
    assert destination.addresses == ("93.184.216.34", "2606:2800:220:1::1")
    assert (destination.host, destination.port, destination.target) == ("hooks.example.com", 443, "/in?x=1")
    assert destination.host_header == "hooks.example.com"


@pytest.mark.parametrize(
    "answers",
    [
        ["169.254.169.254"],  # a public name pointing at the metadata server
        ["93.184.216.34", "10.0.0.5"],  # one bad answer among good ones (DNS rebinding)
        ["127.0.0.1"],
        ["::1"],
        ["fc00::5"],
        ["fe80::1%eth0"],
    ],
)
def test_a_name_resolving_to_an_internal_address_is_refused(answers):
    resolver = fake_resolver({"evil.example.com": answers})
    with pytest.raises(RefusedDestination, match="resolves to"):
        resolve_destination("https://evil.example.com/x", PRODUCTION, resolver)


def test_metadata_google_internal_is_refused_even_where_loopback_is_allowed():
    resolver = fake_resolver({"metadata.google.internal": ["169.254.169.254"]})
    for policy in (PRODUCTION, SANDBOX, LOCAL):
        with pytest.raises(RefusedDestination, match="metadata"):
            resolve_destination("https://metadata.google.internal/computeMetadata/v1/", policy, resolver)


def test_local_resolution_of_loopback_is_allowed_with_port_in_host_header():
    destination = resolve_destination("http://127.0.0.1:8099/hook", LOCAL)
    assert destination.addresses == ("127.0.0.1",)
    assert destination.host_header == "127.0.0.1:8099"
    assert resolve_destination("http://[::1]:8099/", LOCAL).host_header == "[::1]:8099"


def test_a_name_without_addresses_is_an_error():
    with pytest.raises(OSError):
        resolve_destination("https://empty.example.com/", PRODUCTION, fake_resolver({"empty.example.com": []}))
