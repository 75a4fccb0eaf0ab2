"""Connection outcomes of TLS and SASL set-ups, with the messages each client family shows
(simcore.security.connections)."""

import pytest

from simcore.security.connections import (
    CERTIFICATES,
    FAMILIES,
    PROTOCOLS,
    Client,
    Listener,
    connect,
)


def test_matching_settings_connect():
    for protocol in PROTOCOLS:
        listener = Listener(protocol, ("SCRAM-SHA-512",))
        client = Client("java", protocol, "SCRAM-SHA-512")
        assert connect(listener, client).connected, protocol


def test_a_plaintext_client_on_a_tls_listener_loops_on_disconnects_without_an_exception():
    java = connect(Listener("SSL"), Client("java", "PLAINTEXT"))
    assert (java.connected, java.stage) == (False, "TLS handshake (broker side)")
    assert "disconnected" in java.reported and "no exception" in java.reported
    assert "not present in metadata after 60000 ms" in java.then
    rdk = connect(Listener("SASL_SSL"), Client("librdkafka", "SASL_PLAINTEXT"))
    assert "connecting to a SSL listener?" in rdk.reported


def test_a_tls_client_on_a_plaintext_listener_fails_its_handshake():
    assert connect(Listener("PLAINTEXT"), Client("java", "SSL")).reported == (
        "SslAuthenticationException: SSL handshake failed"
    )
    rdk = connect(Listener("SASL_PLAINTEXT"), Client("librdkafka", "SASL_SSL"))
    assert "connecting to a PLAINTEXT broker listener?" in rdk.reported


def test_the_mechanism_must_be_enabled_on_the_listener():
    outcome = connect(Listener("SASL_SSL", ("SCRAM-SHA-512",)), Client("java", "SASL_SSL", "PLAIN"))
    assert outcome.reported == (
        "UnsupportedSaslMechanismException: Client SASL mechanism 'PLAIN' not enabled in the"
        " server, enabled mechanisms are [SCRAM-SHA-512]"
    )
    assert "not retriable" in outcome.then
    default = connect(Listener("SASL_PLAINTEXT", ("PLAIN",)), Client("java", "SASL_PLAINTEXT"))
    assert "'GSSAPI' not enabled" in default.reported  # sasl.mechanism's default


@pytest.mark.parametrize(
    ("mechanism", "message"),
    [
        ("SCRAM-SHA-256", "Authentication failed during authentication due to invalid"
         " credentials with SASL mechanism SCRAM-SHA-256"),
        ("PLAIN", "Authentication failed: Invalid username or password"),
    ],
)  # fmt: skip
def test_wrong_credentials(mechanism, message):
    listener = Listener("SASL_SSL", (mechanism,))
    java = connect(listener, Client("java", "SASL_SSL", mechanism, credentials_ok=False))
    assert java.reported == f"SaslAuthenticationException: {message}"
    rdk = connect(listener, Client("librdkafka", "SASL_SSL", mechanism, credentials_ok=False))
    assert rdk.reported == f"SASL authentication error: {message}"
    assert "keeps reconnecting" in rdk.then


def test_sasl_on_a_listener_without_it_is_an_illegal_state():
    outcome = connect(Listener("PLAINTEXT"), Client("java", "SASL_PLAINTEXT", "PLAIN"))
    assert outcome.reported == (
        "IllegalSaslStateException: Unexpected handshake request with client mechanism PLAIN,"
        " enabled mechanisms are []"
    )


def test_no_sasl_on_a_sasl_listener_is_a_disconnect():
    outcome = connect(Listener("SASL_PLAINTEXT", ("PLAIN",)), Client("java", "PLAINTEXT"))
    assert not outcome.connected and "disconnected" in outcome.reported


@pytest.mark.parametrize("certificate", [c for c in CERTIFICATES if c != "valid"])
@pytest.mark.parametrize("family", FAMILIES)
def test_a_bad_certificate_fails_the_tls_handshake(certificate, family):
    outcome = connect(Listener("SSL", certificate=certificate), Client(family, "SSL"))
    assert outcome.stage == "TLS handshake (certificate)"
    assert "SSL handshake failed" in outcome.reported
    # a certificate is only checked where TLS is spoken
    assert connect(Listener("PLAINTEXT", certificate=certificate), Client(family)).connected
