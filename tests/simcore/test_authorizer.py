"""The ACL authorizer against Kafka's own cases (StandardAuthorizerTest) and the rules of
its documentation (security, "Authorization and ACLs"): the decision, and the rule that
made it."""

import pytest

from simcore.security.authorizer import Acl, Authorizer, misreadings, parse_super_users


def acl(kind, name, pattern, principal, operation, permission, host="*"):
    return Acl(kind, name, pattern, principal, host, operation, permission)


def foo(operation, permission):  # StandardAuthorizerTest.newFooAcl
    return acl("TOPIC", "foo_", "PREFIXED", "User:bob", operation, permission)


def bar(operation, permission):  # StandardAuthorizerTest.newBarAcl
    return acl("GROUP", "bar", "LITERAL", "User:*", operation, permission)


def decide(acls, principal, operation, kind, name, **settings):
    return Authorizer(acls, **settings).authorize(
        f"User:{principal}", "10.0.0.1", operation, kind, name
    )


@pytest.mark.parametrize("implying", ["DESCRIBE", "READ", "WRITE", "DELETE", "ALTER"])
def test_read_write_delete_and_alter_allow_describe(implying):
    assert decide([foo(implying, "ALLOW")], "bob", "DESCRIBE", "TOPIC", "foo_bar").allowed


def test_create_does_not_imply_describe():
    decision = decide([foo("CREATE", "ALLOW")], "bob", "DESCRIBE", "TOPIC", "foo_bar")
    assert (decision.allowed, decision.rule) == (False, "NoMatchingAcl")


@pytest.mark.parametrize("denied", ["READ", "WRITE", "DELETE", "ALTER"])
def test_a_deny_implies_nothing(denied):
    """A DENY on READ does not deny DESCRIBE: with an ALLOW DESCRIBE beside it, DESCRIBE
    is allowed."""
    acls = [foo(denied, "DENY"), foo("DESCRIBE", "ALLOW")]
    assert decide(acls, "bob", "DESCRIBE", "TOPIC", "foo_bar").allowed
    assert not decide(acls, "bob", denied, "TOPIC", "foo_bar").allowed


def test_describe_configs_is_implied_by_alter_configs_only_when_allowed():
    assert decide(
        [foo("ALTER_CONFIGS", "ALLOW")], "bob", "DESCRIBE_CONFIGS", "TOPIC", "foo_x"
    ).allowed
    assert decide(
        [foo("DESCRIBE_CONFIGS", "ALLOW")], "bob", "DESCRIBE_CONFIGS", "TOPIC", "foo_x"
    ).allowed
    denied = decide([foo("ALTER_CONFIGS", "DENY")], "bob", "DESCRIBE_CONFIGS", "TOPIC", "foo_x")
    assert denied.rule == "NoMatchingAcl"  # the DENY does not match; the resource has ACLs
    assert (
        decide([foo("DESCRIBE", "DENY")], "bob", "DESCRIBE", "TOPIC", "foo_x").rule == "MatchingAcl"
    )


def test_principals_match_exactly_or_by_the_wildcard():
    assert decide([foo("READ", "ALLOW")], "bob", "READ", "TOPIC", "foo_bar").allowed
    assert not decide([foo("READ", "ALLOW")], "alice", "READ", "TOPIC", "foo_bar").allowed
    denied = decide([bar("READ", "DENY")], "alice", "READ", "GROUP", "bar")
    assert (denied.allowed, denied.acl) == (False, bar("READ", "DENY"))


def test_simple_authorizations():
    acls = [foo("READ", "ALLOW"), foo("WRITE", "ALLOW"), bar("DESCRIBE_CONFIGS", "ALLOW")]
    acls.append(bar("ALTER_CONFIGS", "ALLOW"))
    assert decide(acls, "bob", "READ", "TOPIC", "foo_").allowed  # a prefix covers itself
    assert decide(acls, "fred", "ALTER_CONFIGS", "GROUP", "bar").allowed


def test_operation_all():
    acls = [
        acl("TOPIC", "foo", "LITERAL", "User:*", "ALL", "ALLOW"),
        acl("TOPIC", "bar", "PREFIXED", "User:alice", "ALL", "ALLOW"),
        acl("TOPIC", "baz", "LITERAL", "User:bob", "ALL", "ALLOW"),
    ]
    asks = {
        "alice": [("WRITE", "foo"), ("DESCRIBE_CONFIGS", "bar"), ("DESCRIBE", "baz")],
        "bob": [("WRITE", "foo"), ("READ", "bar"), ("DESCRIBE", "baz")],
        "malory": [("DESCRIBE", "foo"), ("WRITE", "bar"), ("READ", "baz")],
    }
    got = {
        who: [decide(acls, who, op, "TOPIC", name).allowed for op, name in pairs]
        for who, pairs in asks.items()
    }
    assert got == {
        "alice": [True, True, False],
        "bob": [True, False, True],
        "malory": [True, False, False],
    }


MANY = [
    acl("TOPIC", "green2", "LITERAL", "User:*", "READ", "ALLOW"),
    acl("TOPIC", "green", "PREFIXED", "User:bob", "READ", "ALLOW"),
    acl("TOPIC", "betamax4", "LITERAL", "User:bob", "READ", "ALLOW"),
    acl("TOPIC", "betamax", "LITERAL", "User:bob", "READ", "ALLOW"),
    acl("TOPIC", "beta", "PREFIXED", "User:*", "READ", "ALLOW"),
    acl("TOPIC", "alpha", "PREFIXED", "User:*", "READ", "ALLOW"),
    acl("TOPIC", "alp", "PREFIXED", "User:bob", "READ", "DENY"),
    acl("GROUP", "*", "LITERAL", "User:bob", "WRITE", "ALLOW"),
    acl("GROUP", "wheel", "LITERAL", "User:*", "WRITE", "DENY"),
]


@pytest.mark.parametrize(
    ("operation", "kind", "name", "allowed", "rule"),
    [
        ("READ", "TOPIC", "green1", True, "MatchingAcl"),  # PREFIXED green, for bob
        ("WRITE", "GROUP", "wheel", False, "MatchingAcl"),  # DENY for everyone beats * ALLOW
        ("READ", "TOPIC", "alpha", False, "MatchingAcl"),  # DENY prefix alp beats ALLOW alpha
        ("WRITE", "GROUP", "arbitrary", True, "MatchingAcl"),  # the LITERAL * group
        ("READ", "TOPIC", "ala", False, "DefaultDeny"),  # no ACL covers "ala"
        ("READ", "TOPIC", "betamax", True, "MatchingAcl"),
        ("READ", "TOPIC", "betamax3", True, "MatchingAcl"),  # LITERAL betamax does not; beta does
    ],
)
def test_many_acls(operation, kind, name, allowed, rule):
    decision = decide(MANY, "bob", operation, kind, name)
    assert (decision.allowed, decision.rule) == (allowed, rule)


def test_a_literal_acl_covers_only_its_exact_name():
    acls = [acl("TOPIC", "orders", "LITERAL", "User:*", "READ", "ALLOW")]
    assert decide(acls, "ann", "READ", "TOPIC", "orders").allowed
    assert decide(acls, "ann", "READ", "TOPIC", "orders-eu").rule == "DefaultDeny"


def test_the_default_applies_only_to_a_resource_without_any_acl():
    """allow.everyone.if.no.acl.found=true opens resources nobody wrote an ACL for — not a
    resource whose ACLs name someone else (a common misreading of the setting)."""
    acls = [acl("TOPIC", "payments", "LITERAL", "User:billing", "READ", "ALLOW")]
    open_ = {"allow_everyone_if_no_acl_found": True}
    assert decide(acls, "ann", "READ", "TOPIC", "orders", **open_).rule == "DefaultAllow"
    closed = decide(acls, "ann", "READ", "TOPIC", "payments", **open_)
    assert (closed.allowed, closed.rule) == (False, "NoMatchingAcl")
    assert decide(acls, "ann", "READ", "TOPIC", "orders").rule == "DefaultDeny"


def test_super_users_bypass_every_acl_even_a_deny():
    acls = [acl("TOPIC", "*", "LITERAL", "User:*", "ALL", "DENY")]
    supers = parse_super_users("User:admin")
    assert decide(acls, "admin", "WRITE", "TOPIC", "orders", super_users=supers).rule == "SuperUser"
    assert not decide(acls, "ann", "WRITE", "TOPIC", "orders", super_users=supers).allowed


def test_hosts_match_exactly_or_by_the_wildcard():
    only_there = [acl("TOPIC", "orders", "LITERAL", "User:ann", "READ", "ALLOW", host="10.0.0.9")]
    authorizer = Authorizer(only_there)
    assert authorizer.authorize("User:ann", "10.0.0.9", "READ", "TOPIC", "orders").allowed
    assert not authorizer.authorize("User:ann", "10.0.0.1", "READ", "TOPIC", "orders").allowed


@pytest.mark.parametrize(
    ("text", "users"),
    [
        ("", set()),
        (" ", set()),
        ("User:bob;User:alice ", {"User:bob", "User:alice"}),
        (";  User:bob  ;  User:alice ", {"User:bob", "User:alice"}),
    ],
)
def test_super_users_parse_as_kafka_does(text, users):
    assert parse_super_users(text) == users


def test_a_super_user_without_a_type_is_an_error():
    with pytest.raises(ValueError, match="principalType:principalName but got bob"):
        parse_super_users("bob;:alice")


def test_every_decision_says_why():
    decisions = [
        decide(MANY, "bob", "READ", "TOPIC", "alpha"),
        decide(MANY, "bob", "READ", "TOPIC", "ala"),
        decide([foo("CREATE", "ALLOW")], "bob", "DESCRIBE", "TOPIC", "foo_bar"),
        decide([], "x", "READ", "TOPIC", "t", allow_everyone_if_no_acl_found=True),
    ]
    texts = [d.why() for d in decisions]
    assert "permissionType=DENY" in texts[0] and "name=alp, patternType=PREFIXED" in texts[0]
    assert "allow.everyone.if.no.acl.found is false" in texts[1]
    assert "none allows" in texts[2]
    assert "is true" in texts[3]


def notes_for(acls, operation, kind, name, principal="ann", **settings):
    authorizer = Authorizer(acls, **settings)
    decision = authorizer.authorize(f"User:{principal}", "10.0.0.1", operation, kind, name)
    return misreadings(authorizer, decision, operation, kind, name)


def test_it_corrects_the_open_default_misreading_only_when_it_applies():
    others = [acl("TOPIC", "payments", "LITERAL", "User:billing", "READ", "ALLOW")]
    open_ = {"allow_everyone_if_no_acl_found": True}
    (note,) = notes_for(others, "READ", "TOPIC", "payments", **open_)
    assert "applies the setting only to a resource without any ACL" in note
    assert notes_for(others, "READ", "TOPIC", "orders", **open_) == []  # no ACL: it is open
    assert notes_for(others, "READ", "TOPIC", "payments") == []  # the setting is off


def test_it_explains_implied_describe_and_that_a_deny_implies_nothing():
    acls = [
        acl("TOPIC", "orders", "LITERAL", "User:ann", "READ", "ALLOW"),
        acl("TOPIC", "orders", "LITERAL", "User:ann", "WRITE", "DENY"),
    ]
    notes = notes_for(acls, "DESCRIBE", "TOPIC", "orders")
    assert any("the ALLOW for READ implies it" in n for n in notes)
    assert any("A DENY of WRITE does not deny DESCRIBE" in n for n in notes)
    assert notes_for(acls, "READ", "TOPIC", "orders") == []  # asked what the ACL names


def test_it_warns_that_a_prefixed_star_is_not_the_wildcard():
    acls = [acl("TOPIC", "*", "PREFIXED", "User:ann", "READ", "ALLOW")]
    assert not decide(acls, "ann", "READ", "TOPIC", "orders").allowed
    assert any("LITERAL '*'" in n for n in notes_for(acls, "READ", "TOPIC", "orders"))
