"""Whether a client's connection to a listener succeeds, and what each client family then
reports and does — the TLS and SASL half of security, as connection outcomes.

A listener has a security protocol (``PLAINTEXT``, ``SSL``, ``SASL_PLAINTEXT``,
``SASL_SSL``) and, for SASL, its enabled mechanisms (``sasl.enabled.mechanisms``, default
GSSAPI). The client has ``security.protocol`` (default PLAINTEXT), ``sasl.mechanism``
(default GSSAPI), credentials that are right or wrong, and sees a server certificate that
is valid, expired, signed by a CA it does not trust, or issued for another host name.

Sources (the messages are Kafka's and librdkafka's own):
- [J] ``SaslClientAuthenticator.handleSaslHandshakeResponse``: UNSUPPORTED_SASL_MECHANISM →
  ``UnsupportedSaslMechanismException("Client SASL mechanism '%s' not enabled in the
  server, enabled mechanisms are %s")``; ILLEGAL_SASL_STATE → ``IllegalSaslStateException``.
- [J] ``KafkaApis.handleSaslHandshakeRequest``: a SaslHandshake on a listener without SASL
  is answered ILLEGAL_SASL_STATE with no mechanisms.
- [J] ``SaslServerAuthenticator``: a failed SCRAM exchange answers "Authentication failed
  during authentication due to invalid credentials with SASL mechanism <m>" (the server's
  own reason is not sent); ``PlainSaslServer`` rejects with "Authentication failed: Invalid
  username or password".
- [J] ``SslTransportLayer``: a failed handshake is ``SslAuthenticationException("SSL
  handshake failed")`` with the JSSE cause (PKIX path building failed, certificate expired,
  no subject alternative name matching the host — ``ssl.endpoint.identification.algorithm``
  is ``https`` by default since Kafka 2.0, KIP-294).
- [J] ``NetworkClient``: a connection closed before it is ready is logged "Bootstrap broker
  <host> (id: -1 rack: null) disconnected" and retried after ``reconnect.backoff.ms``; an
  ``AuthenticationException`` is not retriable: ``poll()`` / ``send()`` raise it.
- librdkafka ``rdkafka_broker.c`` / ``rdkafka_ssl.c`` / ``rdkafka_sasl.c``: "Disconnected
  while requesting ApiVersion: might be caused by incorrect security.protocol configuration
  (connecting to a SSL listener?) …", "SSL handshake failed: Disconnected: connecting to a
  PLAINTEXT broker listener?", "SASL authentication error: <broker message>"; errors go to
  the error callback (``RD_KAFKA_RESP_ERR__AUTHENTICATION``, ``__SSL``, ``__TRANSPORT``)
  and the client keeps reconnecting; messages then fail after ``message.timeout.ms``.
"""

from __future__ import annotations

from dataclasses import dataclass

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("GSSAPI", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER")
CERTIFICATES = ("valid", "expired", "untrusted", "wrong-host")
FAMILIES = ("java", "librdkafka")


@dataclass(frozen=True)
class Listener:
    protocol: str = "PLAINTEXT"
    mechanisms: tuple[str, ...] = ("GSSAPI",)  # sasl.enabled.mechanisms
    certificate: str = "valid"  # the broker's certificate, as this client sees it


@dataclass(frozen=True)
class Client:
    family: str = "java"
    protocol: str = "PLAINTEXT"  # security.protocol
    mechanism: str = "GSSAPI"  # sasl.mechanism
    credentials_ok: bool = True


@dataclass(frozen=True)
class Outcome:
    connected: bool
    stage: str  # where it ends: connected, TLS handshake, SASL handshake, ...
    reported: str  # the exception (Java) or error (librdkafka) the application sees
    then: str  # what the client does next
    because: str  # why, in a sentence

    @property
    def fatal(self) -> bool:
        """The Java client raises it from poll() / send() (an AuthenticationException);
        otherwise the client keeps reconnecting and the application sees no exception."""
        return self.then == _JAVA_FATAL


def _tls(listener: Listener) -> bool:
    return listener.protocol in ("SSL", "SASL_SSL")


def _sasl(protocol: str) -> bool:
    return protocol in ("SASL_PLAINTEXT", "SASL_SSL")


_JAVA_RETRY = (
    "reconnects after reconnect.backoff.ms (50 ms, growing to 1 s); the producer's send()"
    " blocks max.block.ms (60 s) and fails with TimeoutException: Topic … not present in"
    " metadata after 60000 ms; the consumer's poll() returns nothing, without an error"
)
_JAVA_FATAL = (
    "raises it from poll() / send() (an AuthenticationException is not retriable): the"
    " application must fix its configuration or credentials; the client tries that broker"
    " again only after reconnect.backoff.ms"
)
_RDK_RETRY = (
    "reports it to the error callback and keeps reconnecting (reconnect.backoff.ms); produced"
    " messages fail after message.timeout.ms (300 s) with Local: Message timed out; the"
    " consumer receives nothing"
)


def connect(listener: Listener, client: Client) -> Outcome:
    """The first connection of ``client`` to ``listener``."""
    java = client.family == "java"
    if _tls(listener) and client.protocol in ("PLAINTEXT", "SASL_PLAINTEXT"):
        # the client speaks Kafka in clear text; the broker expects a TLS ClientHello
        return Outcome(
            False,
            "TLS handshake (broker side)",
            "Bootstrap broker … (id: -1 rack: null) disconnected (a warning, no exception)"
            if java
            else "Disconnected while requesting ApiVersion: might be caused by incorrect"
            " security.protocol configuration (connecting to a SSL listener?)",
            _JAVA_RETRY if java else _RDK_RETRY,
            f"the listener is {listener.protocol} and the client's security.protocol is"
            f" {client.protocol}: the broker fails the TLS handshake and closes the connection",
        )
    if not _tls(listener) and client.protocol in ("SSL", "SASL_SSL"):
        return Outcome(
            False,
            "TLS handshake (client side)",
            "SslAuthenticationException: SSL handshake failed"
            if java
            else "SSL handshake failed: Disconnected: connecting to a PLAINTEXT broker listener?",
            _JAVA_FATAL if java else _RDK_RETRY,
            f"the client starts TLS ({client.protocol}) but the listener is"
            f" {listener.protocol}: the broker reads the TLS ClientHello as a request and"
            " closes the connection",
        )
    if _tls(listener) and listener.certificate != "valid":
        cause = {
            "expired": (
                "CertificateExpiredException",
                "certificate verify failed (certificate has expired)",
            ),
            "untrusted": (
                "PKIX path building failed: unable to find valid certification path to"
                " requested target",
                "certificate verify failed: broker certificate could not be verified, verify"
                " that ssl.ca.location is correctly configured or root CA certificates are"
                " installed",
            ),
            "wrong-host": (
                "CertificateException: No subject alternative … matching the broker's host",
                "… (the broker's certificate does not match its host name)",
            ),
        }[listener.certificate]
        return Outcome(
            False,
            "TLS handshake (certificate)",
            f"SslAuthenticationException: SSL handshake failed (caused by {cause[0]})"
            if java
            else f"SSL handshake failed: {cause[1]}",
            _JAVA_FATAL if java else _RDK_RETRY,
            {
                "expired": "the broker's certificate is past its validity",
                "untrusted": "the broker's certificate is not signed by a CA in the client's"
                " truststore (ssl.truststore.location / ssl.ca.location)",
                "wrong-host": "ssl.endpoint.identification.algorithm=https (the default since"
                " Kafka 2.0 and librdkafka 1.9) checks the broker's host name against the"
                " certificate",
            }[listener.certificate],
        )
    listener_sasl, client_sasl = _sasl(listener.protocol), _sasl(client.protocol)
    if client_sasl and not listener_sasl:
        return Outcome(
            False,
            "SASL handshake",
            f"IllegalSaslStateException: Unexpected handshake request with client mechanism"
            f" {client.mechanism}, enabled mechanisms are []"
            if java
            else "SASL authentication error (the broker answers the SASL handshake with"
            " ILLEGAL_SASL_STATE)",
            _JAVA_FATAL if java else _RDK_RETRY,
            f"the client authenticates with SASL but the listener is {listener.protocol}: the"
            " broker answers the SaslHandshake with ILLEGAL_SASL_STATE",
        )
    if listener_sasl and not client_sasl:
        return Outcome(
            False,
            "SASL handshake (broker side)",
            "Bootstrap broker … (id: -1 rack: null) disconnected (a warning, no exception)"
            if java
            else "Disconnected (the broker closes the connection after ApiVersion)",
            _JAVA_RETRY if java else _RDK_RETRY,
            f"the listener is {listener.protocol}: the broker expects a SaslHandshake after"
            " ApiVersions, gets a Metadata request, and closes the connection",
        )
    if listener_sasl and client.mechanism not in listener.mechanisms:
        enabled = "[" + ", ".join(listener.mechanisms) + "]"
        return Outcome(
            False,
            "SASL handshake",
            f"UnsupportedSaslMechanismException: Client SASL mechanism '{client.mechanism}'"
            f" not enabled in the server, enabled mechanisms are {enabled}"
            if java
            else f"SASL authentication error: Client SASL mechanism '{client.mechanism}' not"
            f" enabled in the server, enabled mechanisms are {enabled}",
            _JAVA_FATAL if java else _RDK_RETRY,
            f"sasl.mechanism={client.mechanism} is not in the listener's"
            f" sasl.enabled.mechanisms {enabled}",
        )
    if listener_sasl and not client.credentials_ok:
        message = (
            "Authentication failed: Invalid username or password"
            if client.mechanism == "PLAIN"
            else "Authentication failed during authentication due to invalid credentials with"
            f" SASL mechanism {client.mechanism}"
        )
        return Outcome(
            False,
            "SASL authentication",
            f"SaslAuthenticationException: {message}"
            if java
            else f"SASL authentication error: {message}",
            _JAVA_FATAL if java else _RDK_RETRY,
            "the broker rejects the credentials (a wrong password, an unknown user, or a user"
            f" without a {client.mechanism} credential)",
        )
    return Outcome(
        True,
        "connected",
        "—",
        "sends its requests; each is then authorized against the ACLs (see /acls)",
        f"the client speaks {listener.protocol}"
        + (f" with {client.mechanism}" if listener_sasl else "")
        + (", and trusts the broker's certificate" if _tls(listener) else ""),
    )
