"""Settings resolution and URL rules: all before any network call."""

from __future__ import annotations

import pytest

from iqm_client_async._config import is_loopback_host, normalize_server_url, resolve_settings
from iqm_client_async._errors import ClientConfigurationError


def settings(
    url: str | None = "https://example.com", environ: dict[str, str] | None = None, **kwargs: object
):
    args: dict[str, object] = dict(
        quantum_computer=None,
        token=None,
        tokens_file=None,
        client_signature=None,
        timeout=None,
        max_retries=None,
    )
    args.update(kwargs)
    return resolve_settings(url, environ=environ or {}, **args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "root"),
    [
        ("https://example.com", "https://example.com"),
        ("https://Example.COM/", "https://example.com"),
        ("http://localhost:8000/", "http://localhost:8000"),
        (
            "http://127.0.0.1:9/x/",
            "http://127.0.0.1:9/x",
        ),  # the reference mangles this to http://127.0.0.1//x:9
        ("https://host:8443/prefix/api/", "https://host:8443/prefix/api"),
        ("http://[::1]:8000/", "http://[::1]:8000"),  # the reference rejects [::1]
        ("https://user:pw@example.com/", "https://example.com"),
    ],
)
def test_url_normalization(url: str, root: str) -> None:
    assert normalize_server_url(url) == root


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        (
            "xyz://example.com",
            "The URL scheme has to be http or https. Incorrect scheme in URL: xyz://example.com",
        ),
        ("https://exämple.com", "Non-ASCII characters in URL"),
        ("https://example.com/garnet", "reads as a quantum computer name"),
        ("https://example.com/garnet:timeslot", "reads as a quantum computer name"),
        ("http://127.0.0.1:8000/api/v1", "must not include the API path"),
        ("http://127.0.0.1:8000/api/v1/", "the client adds /api/v1 itself"),
        ("https://example.com/:timeslot", "timeslot URLs are obsolete"),
        ("https://cocos.example.com/", "CoCoS API is obsolete"),
        ("https://", "has no host name"),
    ],
)
def test_bad_urls(url: str, fragment: str) -> None:
    with pytest.raises(ClientConfigurationError, match=fragment.replace("(", r"\(").replace(".", r"\.")):
        normalize_server_url(url)


def test_url_missing() -> None:
    with pytest.raises(ClientConfigurationError, match="IQM Server URL must be provided"):
        settings(None)


def test_keyword_beats_environment_beats_default() -> None:
    env = {
        "IQM_SERVER_URL": "https://env.example.com",
        "IQM_QUANTUM_COMPUTER": "env-qc",
        "IQM_CLIENT_REQUESTS_TIMEOUT": "7",
    }
    s = settings(None, env)
    assert (s.root_url, s.quantum_computer, s.timeout) == ("https://env.example.com", "env-qc", 7.0)
    s = settings("https://kw.example.com", env, quantum_computer="kw-qc", timeout=3.0)
    assert (s.root_url, s.quantum_computer, s.timeout) == ("https://kw.example.com", "kw-qc", 3.0)
    s = settings("https://kw.example.com", {})
    assert s.timeout == 120.0 and s.max_retries == 4


def test_auth_sources_must_not_mix() -> None:
    with pytest.raises(
        ClientConfigurationError, match="both as initialisation args and as environment variables"
    ):
        settings(token="abc", environ={"IQM_TOKENS_FILE": "/tmp/x"})
    with pytest.raises(ClientConfigurationError, match="No more than one authentication parameter"):
        settings(token="abc", tokens_file="/tmp/x")
    with pytest.raises(ClientConfigurationError, match="No more than one authentication parameter"):
        settings(environ={"IQM_TOKEN": "abc", "IQM_TOKENS_FILE": "/tmp/x"})


def test_empty_strings_are_not_given() -> None:
    s = settings(token="", environ={"IQM_TOKEN": "from-env"})
    assert s.token == "from-env"


def test_token_hidden_from_repr() -> None:
    s = settings(token="s3cr3t-token")
    assert "s3cr3t-token" not in repr(s)


def test_auth_over_plain_http_to_remote_host_refused() -> None:
    with pytest.raises(ClientConfigurationError, match="Insecure HTTP"):
        settings("http://example.com", token="abc")
    # loopback is fine, and so is a remote host without credentials
    assert settings("http://127.0.0.1:8000", token="abc").token == "abc"
    assert settings("http://example.com").root_url == "http://example.com"
    assert settings(
        "http://example.com", {"INSECURE_ALLOW_NON_HTTPS_AUTH": "TRUE"}, token="a"
    ).allow_insecure_auth


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("[::1]", True),
        ("example.com", False),
        ("10.0.0.1", False),
    ],
)
def test_loopback(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


def test_bad_numbers() -> None:
    with pytest.raises(ClientConfigurationError, match="IQM_CLIENT_REQUESTS_TIMEOUT must be a number"):
        settings(environ={"IQM_CLIENT_REQUESTS_TIMEOUT": "soon"})
    with pytest.raises(ClientConfigurationError, match="timeout must be positive"):
        settings(timeout=0)
    with pytest.raises(ClientConfigurationError, match="max_retries"):
        settings(max_retries=-1)


def test_user_agent_has_signature() -> None:
    agent = settings(client_signature="my-app 1.0").user_agent
    assert "python" in agent and "iqm-client-async" in agent and agent.endswith(", my-app 1.0")


def test_iqm_client_debug_is_read_with_the_settings() -> None:
    common = {
        "quantum_computer": None,
        "token": None,
        "tokens_file": None,
        "client_signature": None,
        "timeout": None,
        "max_retries": None,
    }
    assert resolve_settings("http://127.0.0.1:9/", environ={"IQM_CLIENT_DEBUG": "1"}, **common).debug
    assert not resolve_settings("http://127.0.0.1:9/", environ={}, **common).debug
