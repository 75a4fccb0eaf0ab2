"""The scenario's ``security:`` section: listener, SASL users, ``super.users``,
``allow.everyone.if.no.acl.found`` and ACLs (``kafka-acls --list`` text or a YAML list).

    security:
      listener:
        protocol: SASL_SSL                      # the listener's security protocol
        sasl.enabled.mechanisms: [SCRAM-SHA-512]
        certificate: valid                      # as clients see it: valid, expired, ...
      users: {orders-app: s3cret}               # SCRAM / PLAIN credentials on the brokers
      super.users: "User:admin"
      allow.everyone.if.no.acl.found: false
      acls: |
        Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=orders, ...)`:
            (principal=User:orders-app, host=*, operation=WRITE, permissionType=ALLOW)

Without ``acls`` (and without ``authorizer: true``) no authorizer is configured: every
request is allowed once connected, as in a cluster without ``authorizer.class.name``.
"""

from __future__ import annotations

from typing import Any

from simcore.kernel.errors import ScenarioError
from simcore.scenario.acl_text import parse_acl_data, parse_acls
from simcore.scenario.checks import as_list, as_mapping, check_keys, get_bool, get_enum, join
from simcore.scenario.spec import SecuritySpec
from simcore.security.authorizer import parse_super_users
from simcore.security.connections import CERTIFICATES, MECHANISMS, PROTOCOLS, Listener

SECURITY_KEYS = (
    "listener",
    "users",
    "super.users",
    "allow.everyone.if.no.acl.found",
    "acls",
    "authorizer",
)
LISTENER_KEYS = ("protocol", "sasl.enabled.mechanisms", "certificate")
MAX_USERS = 100


def parse_security(raw: Any) -> SecuritySpec | None:
    if raw is None:
        return None
    path = "security"
    data = as_mapping(raw, path, "the security section")
    check_keys(data, path, SECURITY_KEYS, "security section")
    acls_raw = data.get("acls")
    acls_path = join(path, "acls")
    if isinstance(acls_raw, str):
        acls = parse_acls(acls_raw, acls_path)
    else:
        acls = parse_acl_data(acls_raw, acls_path)
    try:
        super_users = parse_super_users(_text(data.get("super.users", ""), path, "super.users"))
    except ValueError as exc:
        raise ScenarioError(join(path, "super.users"), str(exc)) from None
    return SecuritySpec(
        listener=_listener(data.get("listener"), join(path, "listener")),
        users=_users(data.get("users"), join(path, "users")),
        super_users=super_users,
        allow_everyone_if_no_acl_found=get_bool(
            data, "allow.everyone.if.no.acl.found", path, False
        ),
        acls=acls,
        authorizer=get_bool(data, "authorizer", path, bool(acls_raw)),
    )


def _text(value: Any, path: str, key: str) -> str:
    if not isinstance(value, str):
        raise ScenarioError(join(path, key), "must be text (principals separated by ';')")
    return value


def _listener(raw: Any, path: str) -> Listener:
    if raw is None:
        return Listener()
    data = as_mapping(raw, path, "the listener")
    check_keys(data, path, LISTENER_KEYS, "listener")
    protocol = get_enum(data, "protocol", path, PROTOCOLS, "PLAINTEXT")
    mechanisms_raw = data.get("sasl.enabled.mechanisms", ["GSSAPI"])
    where = join(path, "sasl.enabled.mechanisms")
    if isinstance(mechanisms_raw, str):
        mechanisms_raw = [m.strip() for m in mechanisms_raw.split(",")]
    items = as_list(mechanisms_raw, where, len(MECHANISMS), "mechanisms")
    mechanisms = []
    for k, item in enumerate(items):
        if item not in MECHANISMS:
            raise ScenarioError(
                join(where, k), f"is not a SASL mechanism: {item!r}", allowed=", ".join(MECHANISMS)
            )
        if item not in mechanisms:
            mechanisms.append(item)
    if not mechanisms:
        raise ScenarioError(
            where, "must name at least one mechanism", allowed=", ".join(MECHANISMS)
        )
    certificate = get_enum(data, "certificate", path, CERTIFICATES, "valid")
    return Listener(protocol, tuple(mechanisms), certificate)


def _users(raw: Any, path: str) -> tuple[tuple[str, str], ...]:
    if raw is None:
        return ()
    data = as_mapping(raw, path, "user names and their passwords")
    if len(data) > MAX_USERS:
        raise ScenarioError(path, f"must list at most {MAX_USERS} users")
    out = []
    for name, password in data.items():
        if not isinstance(name, str) or not name or len(name) > 200:
            raise ScenarioError(path, f"user names must be text of 1..200 characters, got {name!r}")
        if not isinstance(password, str) or len(password) > 200:
            raise ScenarioError(join(path, name), "must be the user's password, as text")
        out.append((name, password))
    return tuple(sorted(out))
