"""ACLs read from kafka-acls --list output and from YAML, and written back the same way."""

import pytest

from simcore import ScenarioError
from simcore.scenario.acl_text import listing, parse_acls, to_data
from simcore.security.authorizer import Acl

# as kafka-acls prints it: header and entry lines end with a blank
LISTED = "\n".join(
    [
        "Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=orders,"
        " patternType=PREFIXED)`: ",
        " \t(principal=User:shop, host=*, operation=WRITE, permissionType=ALLOW)",
        " \t(principal=User:*, host=10.0.0.9, operation=DESCRIBE, permissionType=DENY) ",
        "",
        "Adding ACLs for resource `ResourcePattern(resourceType=GROUP, name=billing,"
        " patternType=LITERAL)`:",
        "    (principal=User:billing, host=*, operation=READ, permissionType=ALLOW)",
    ]
)


def test_it_reads_kafka_acls_output():
    assert parse_acls(LISTED) == (
        Acl("TOPIC", "orders", "PREFIXED", "User:shop", "*", "WRITE", "ALLOW"),
        Acl("TOPIC", "orders", "PREFIXED", "User:*", "10.0.0.9", "DESCRIBE", "DENY"),
        Acl("GROUP", "billing", "LITERAL", "User:billing", "*", "READ", "ALLOW"),
    )


def test_its_listing_reads_back_to_the_same_acls():
    acls = parse_acls(LISTED)
    text = listing(acls)
    assert text.startswith(
        "Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=orders,"
        " patternType=PREFIXED)`: \n \t(principal=User:shop, host=*, operation=WRITE,"
    )
    assert parse_acls(text) == acls


def test_it_reads_yaml_with_kafka_acls_defaults():
    text = "- {resource_type: TOPIC, name: orders, principal: 'User:ann', operation: READ}"
    (acl,) = parse_acls(text)
    assert (acl.pattern, acl.host, acl.permission) == ("LITERAL", "*", "ALLOW")
    assert parse_acls("[]") == () and parse_acls("") == ()
    assert to_data([acl])[0]["principal"] == "User:ann"


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        (
            "- {resource_type: TOPICS, name: o, principal: 'User:a', operation: READ}",
            "acls[0].resource_type",
            "TOPIC, GROUP",
        ),
        (
            "- {resource_type: TOPIC, name: o, principal: 'User:a', operation: SEND}",
            "acls[0].operation",
            "READ",
        ),
        (
            "- {resource_type: TOPIC, name: o, principal: alice, operation: READ}",
            "acls[0].principal",
            "User:alice",
        ),
        (
            "- {resource_type: TOPIC, name: o, principal: 'User:a', operation: READ, color: red}",
            "acls[0].color",
            "resource_type",
        ),
        ("(principal=User:a, host=*, operation=READ, permissionType=ALLOW)", "acls", "list"),
        (LISTED.replace("operation=WRITE", "operation=PUBLISH"), "acls line 2", "PUBLISH"),
        (
            LISTED.replace("\t(principal=User:shop", "\t(user=User:shop"),
            "acls line 2",
            "kafka-acls --list",
        ),
        ("- [unclosed", "acls", "YAML"),
    ],
)
def test_a_bad_acl_names_its_place_and_the_allowed_values(text, field, words):
    with pytest.raises(ScenarioError) as caught:
        parse_acls(text)
    assert caught.value.field == field
    assert words in f"{caught.value} {caught.value.allowed}"
