"""OAuth client registration: redirect URIs, scopes, authentication methods."""

from __future__ import annotations

import pytest

from beamit.auth.oauth.clients import (
    InvalidClientSpec,
    create_client,
    find_client,
    get_client,
    list_clients,
    validate_redirect_uri,
)
from beamit.auth.scopes import ALL_SCOPES, UnknownScope
from beamit.errors import Forbidden, NotFound
from beamit.tenancy import TenantScope
from tests.memory_store import MemoryStore

ACME = TenantScope("acme")


@pytest.mark.parametrize("uri", [
    "https://app.example.org/cb", "https://app.example.org/cb?x=1", "http://127.0.0.1:8765/cb",
    "http://localhost/cb", "http://[::1]:9000/cb", "com.example.app:/oauth2redirect",
])
def test_accepted_redirect_uris(uri):
    assert validate_redirect_uri(uri) == uri


@pytest.mark.parametrize("uri", [
    "", "/cb", "http://app.example.org/cb", "https://app.example.org/cb#frag", "javascript:alert(1)",
    "ftp://example.org/x", " https://app.example.org/cb",
])
def test_refused_redirect_uris(uri):
    with pytest.raises(InvalidClientSpec):
        validate_redirect_uri(uri)


def test_confidential_client_secret_is_shown_once_and_stored_hashed():
    store = MemoryStore()
    issued = create_client(store, ACME, name="EHR", redirect_uris=["https://ehr.example/cb"], public=False,
                           created_by="t")
    client = issued.client
    assert issued.client_secret and issued.client_secret.startswith("bcs_")
    assert issued.client_secret not in str(store.docs)
    assert client.check_client_secret(issued.client_secret) and not client.check_client_secret("bcs_x")
    assert client.check_endpoint_auth_method("client_secret_basic", "token")
    assert not client.check_endpoint_auth_method("none", "token")
    assert client.scopes == ALL_SCOPES
    assert find_client(store, client.client_id) == client
    assert get_client(store, ACME, client.client_id) == client and list_clients(store, ACME) == [client]
    with pytest.raises(NotFound):
        get_client(store, TenantScope("other"), client.client_id)
    assert "clientSecret" not in client.to_json()


def test_public_client_and_scopes():
    store = MemoryStore()
    client = create_client(store, ACME, name="Viewer", redirect_uris=["https://v.example/cb", "https://v.example/b"],
                           public=True, scopes="studies:read,shares:read", created_by="t").client
    assert client.check_endpoint_auth_method("none", "token")
    assert not client.check_client_secret("")
    assert client.get_default_redirect_uri() is None  # two registered: the request must name one
    assert client.check_redirect_uri("https://v.example/cb") and not client.check_redirect_uri("https://v.example/cb/")
    assert client.get_allowed_scope(None) == "shares:read studies:read"
    assert client.get_allowed_scope("studies:read studies:write") == "studies:read"
    assert client.get_allowed_scope("studies:write") is None
    assert client.check_response_type("code") and not client.check_response_type("token")
    assert client.check_grant_type("refresh_token") and not client.check_grant_type("client_credentials")


def test_registration_refusals():
    store = MemoryStore()
    with pytest.raises(InvalidClientSpec):
        create_client(store, ACME, name="x", redirect_uris=[], public=True, created_by="t")
    with pytest.raises(UnknownScope):
        create_client(store, ACME, name="x", redirect_uris=["https://a.example/cb"], public=True, scopes="root",
                      created_by="t")
    with pytest.raises(Forbidden):
        create_client(store, ACME, name="x", redirect_uris=["https://a.example/cb"], public=True,
                      scopes="audit:read", created_by="t", grantor_scopes=frozenset({"keys:manage"}))
    bounded = create_client(store, ACME, name="x", redirect_uris=["https://a.example/cb"], public=True,
                            created_by="t", grantor_scopes=frozenset({"keys:manage", "studies:read"})).client
    assert bounded.scopes == {"keys:manage", "studies:read"}
    assert find_client(store, "cli_unknown") is None and find_client(store, None) is None
