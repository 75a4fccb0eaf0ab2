"""ACL authorization as Kafka's StandardAuthorizer decides it (KRaft clusters).

Sources: [J] ``metadata/.../authorizer/StandardAuthorizerData.java`` (``authorize``,
``findAclRule``, ``checkSection``, ``findResult``, ``MatchingRuleBuilder``) and
``StandardAuthorizer.getConfiguredSuperUsers`` / ``getDefaultResult``; the cases of
``StandardAuthorizerTest`` are the decision table in ``tests/simcore/test_authorizer.py``.

The rules, in the order Kafka applies them:

1. A principal listed in ``super.users`` (``User:alice;User:bob``) may do anything.
2. The ACLs that apply to the resource are those of its type whose pattern matches its name:
   ``LITERAL`` equal to the name, ``LITERAL`` ``*`` (any name), or ``PREFIXED`` with a name
   the resource's name starts with.
3. Among them, an ACL matches the request when its principal is the caller's or ``User:*``,
   its host is the caller's address or ``*``, and its operation is the one asked, or ``ALL``
   — or, for an ALLOW ACL only, one that implies it: READ, WRITE, DELETE and ALTER imply
   DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS. (A DENY on READ does not deny DESCRIBE.)
4. Any matching DENY wins; otherwise any matching ALLOW allows.
5. Nothing matched: if *some* ACL applies to the resource (for anybody, any operation), the
   request is denied; only a resource with no ACL at all falls to
   ``allow.everyone.if.no.acl.found`` (default false: denied).

When several ACLs match, Kafka's audit log names the one its index met last; here the first
in the scenario's order is named. The decision is the same.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

RESOURCE_TYPES = ("TOPIC", "GROUP", "CLUSTER", "TRANSACTIONAL_ID", "DELEGATION_TOKEN", "USER")
PATTERN_TYPES = ("LITERAL", "PREFIXED")
PERMISSIONS = ("ALLOW", "DENY")
OPERATIONS = (
    "ALL",
    "READ",
    "WRITE",
    "CREATE",
    "DELETE",
    "ALTER",
    "DESCRIBE",
    "CLUSTER_ACTION",
    "DESCRIBE_CONFIGS",
    "ALTER_CONFIGS",
    "IDEMPOTENT_WRITE",
    "CREATE_TOKENS",
    "DESCRIBE_TOKENS",
)
WILDCARD = "*"
WILDCARD_PRINCIPAL = "User:*"
# what an ALLOW ACL for the key also allows (StandardAuthorizerData.IMPLIES_*)
IMPLIED_BY = {
    "DESCRIBE": frozenset({"DESCRIBE", "READ", "WRITE", "DELETE", "ALTER"}),
    "DESCRIBE_CONFIGS": frozenset({"DESCRIBE_CONFIGS", "ALTER_CONFIGS"}),
}


@dataclass(frozen=True)
class Acl:
    """One ACL binding: a resource pattern and an access control entry."""

    resource_type: str
    name: str
    pattern: str  # LITERAL or PREFIXED
    principal: str  # "User:alice" or "User:*"
    host: str  # an address or "*"
    operation: str
    permission: str  # ALLOW or DENY

    def applies_to(self, resource_type: str, name: str) -> bool:
        """The resource part of rule 2: does this ACL's pattern cover the resource?"""
        if self.resource_type != resource_type:
            return False
        if self.pattern == "PREFIXED":
            return name.startswith(self.name)
        return self.name == name or self.name == WILDCARD

    def result(self, principal: str, host: str, operation: str) -> bool | None:
        """Rule 3 (``findResult``): True/False when this ACL allows/denies, None when it
        does not match the caller, its host or the operation."""
        if self.principal not in (principal, WILDCARD_PRINCIPAL):
            return None
        if self.host not in (WILDCARD, host):
            return None
        if self.operation != "ALL":
            if self.permission == "ALLOW":
                if self.operation not in IMPLIED_BY.get(operation, frozenset({operation})):
                    return None
            elif self.operation != operation:
                return None
        return self.permission == "ALLOW"

    def text(self) -> str:
        """As ``kafka-acls --list`` prints the entry and its pattern."""
        return (
            f"(principal={self.principal}, host={self.host}, operation={self.operation},"
            f" permissionType={self.permission}) on ResourcePattern(resourceType="
            f"{self.resource_type}, name={self.name}, patternType={self.pattern})"
        )


@dataclass(frozen=True)
class Decision:
    allowed: bool
    rule: str  # SuperUser, MatchingAcl, NoMatchingAcl (ACLs exist), DefaultAllow, DefaultDeny
    acl: Acl | None = None

    def why(self) -> str:
        """One sentence for the event log: which rule decided."""
        if self.rule == "SuperUser":
            return "a super user (super.users) may do anything"
        if self.acl is not None:
            verb = "allows" if self.allowed else "denies"
            return f"the ACL {self.acl.text()} {verb} it"
        if self.rule == "NoMatchingAcl":
            return "ACLs exist for this resource but none allows this principal, host and operation"
        setting = "true" if self.allowed else "false (the default)"
        return f"no ACL exists for this resource and allow.everyone.if.no.acl.found is {setting}"


class Authorizer:
    def __init__(
        self,
        acls: Iterable[Acl],
        super_users: Iterable[str] = (),
        allow_everyone_if_no_acl_found: bool = False,
    ) -> None:
        self.acls = tuple(acls)
        self.super_users = frozenset(super_users)
        self.default_allows = allow_everyone_if_no_acl_found

    def authorize(
        self, principal: str, host: str, operation: str, resource_type: str, name: str
    ) -> Decision:
        """May ``principal`` (``User:alice``) connecting from ``host`` do ``operation`` on
        the resource ``resource_type`` ``name`` (a literal name, as every request asks)?"""
        if principal in self.super_users:
            return Decision(True, "SuperUser")
        found = False
        allow: Acl | None = None
        for acl in self.acls:
            if not acl.applies_to(resource_type, name):
                continue
            found = True
            result = acl.result(principal, host, operation)
            if result is False:
                return Decision(False, "MatchingAcl", acl)  # a DENY wins at once
            if result and allow is None:
                allow = acl
        if allow is not None:
            return Decision(True, "MatchingAcl", allow)
        if found:
            return Decision(False, "NoMatchingAcl")
        rule = "DefaultAllow" if self.default_allows else "DefaultDeny"
        return Decision(self.default_allows, rule)


def parse_super_users(text: str) -> frozenset[str]:
    """``super.users``: principals separated by ``;``, blanks trimmed, empty parts skipped
    (``StandardAuthorizer.getConfiguredSuperUsers``); each must hold a ``:`` between its
    type and name (``SecurityUtils.parseKafkaPrincipal`` splits once and checks only that)."""
    out = set()
    for part in text.split(";"):
        principal = part.strip()
        if not principal:
            continue
        if ":" not in principal:
            raise ValueError(
                f"expected a string in format principalType:principalName but got {principal}"
            )
        out.add(principal)
    return frozenset(out)


def misreadings(
    authorizer: Authorizer,
    decision: Decision,
    operation: str,
    resource_type: str,
    name: str,
) -> list[str]:
    """Popular readings of ACLs that this decision contradicts, each said kindly — shown
    next to the answer when they apply to it."""
    notes = []
    applying = [a for a in authorizer.acls if a.applies_to(resource_type, name)]
    if decision.rule == "NoMatchingAcl" and authorizer.default_allows:
        notes.append(
            "allow.everyone.if.no.acl.found=true does not open this resource: it has ACLs"
            " (for other principals or operations), and Kafka applies the setting only to"
            " a resource without any ACL at all."
        )
    implied_by = decision.acl.operation if decision.acl is not None else operation
    if decision.allowed and operation in IMPLIED_BY and implied_by not in (operation, "ALL"):
        notes.append(
            f"No ACL names {operation}: the ALLOW for {implied_by} implies it (READ, WRITE,"
            " DELETE and ALTER imply DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS) — an"
            " ALLOW only: a DENY implies nothing."
        )
    denied_other = [
        a for a in applying if a.permission == "DENY" and a.operation not in (operation, "ALL")
    ]
    if decision.allowed and operation in IMPLIED_BY and denied_other:
        notes.append(
            f"A DENY of {denied_other[0].operation} does not deny {operation}: only an ALLOW"
            " implies other operations."
        )
    if any(a.pattern == "PREFIXED" and a.name == WILDCARD for a in authorizer.acls):
        notes.append(
            "A PREFIXED pattern '*' matches only names that begin with the character '*';"
            " the wildcard for every name is LITERAL '*'."
        )
    return notes
