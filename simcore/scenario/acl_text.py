"""ACLs in and out as people have them: ``kafka-acls --list`` output, or a YAML/JSON list.

``kafka-acls --list`` prints each resource pattern, then its entries
(``AclCommand.printResourceAcls``)::

    Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=o, patternType=LITERAL)`:
        (principal=User:alice, host=*, operation=READ, permissionType=ALLOW)

(``Adding ACLs for resource`` blocks, as ``--add`` prints them, read the same.) The YAML
form is a list of mappings with the fields of ``Acl``; ``pattern`` defaults to LITERAL,
``host`` to ``*`` and ``permission`` to ALLOW, as ``kafka-acls --add`` does. Errors name
the line or the field and the allowed values, like a scenario's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from simcore.kernel.errors import ScenarioError
from simcore.scenario.checks import as_list, as_mapping, check_keys, get_enum, get_text, join
from simcore.security.authorizer import (
    OPERATIONS,
    PATTERN_TYPES,
    PERMISSIONS,
    RESOURCE_TYPES,
    Acl,
)

MAX_ACLS = 500
MAX_TEXT = 100_000
FIELDS = ("resource_type", "name", "pattern", "principal", "host", "operation", "permission")
_HEADER = re.compile(
    r"(?:Current|Adding) ACLs for resource `ResourcePattern\(resourceType=(\w+), "
    r"name=(.*), patternType=(\w+)\)`:?"
)
_ENTRY = re.compile(r"\(principal=([^,]+), host=([^,]+), operation=(\w+), permissionType=(\w+)\)")


def parse_acls(text: str, path: str = "acls") -> tuple[Acl, ...]:
    """The ACLs in ``text``: kafka-acls output when it has a ``ResourcePattern`` header,
    a YAML/JSON list otherwise. Errors name ``path`` (a field, or its line)."""
    if len(text) > MAX_TEXT:
        raise ScenarioError(path, f"must be at most {MAX_TEXT} characters, got {len(text)}")
    if "ResourcePattern(" in text:
        return _parse_listing(text, path)
    try:
        data = yaml.safe_load(text) if text.strip() else []
    except (yaml.YAMLError, RecursionError) as exc:  # RecursionError: "[" * 50,000
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        message = "is neither kafka-acls output nor a YAML list"
        raise ScenarioError(path, message, line=line) from None
    return parse_acl_data(data, path)


def parse_acl_data(data: Any, path: str) -> tuple[Acl, ...]:
    """ACLs given as a list of mappings (already read from YAML or JSON)."""
    if data is None:
        return ()
    items = as_list(data, path, MAX_ACLS, "ACLs")
    return tuple(_parse_item(item, join(path, k)) for k, item in enumerate(items))


def _parse_item(raw: Any, path: str) -> Acl:
    data = as_mapping(raw, path, "an ACL")
    check_keys(data, path, FIELDS, "ACL")
    resource_type = get_enum(data, "resource_type", path, RESOURCE_TYPES)
    principal = get_text(data, "principal", path, 200)
    _check_principal(principal, join(path, "principal"))
    return Acl(
        resource_type=resource_type,
        name=_name(get_text(data, "name", path, 255), join(path, "name")),
        pattern=get_enum(data, "pattern", path, PATTERN_TYPES, default="LITERAL"),
        principal=principal,
        host=get_text(data, "host", path, 100, default="*") or "*",
        operation=get_enum(data, "operation", path, OPERATIONS),
        permission=get_enum(data, "permission", path, PERMISSIONS, default="ALLOW"),
    )


def _parse_listing(text: str, path: str) -> tuple[Acl, ...]:
    out: list[Acl] = []
    resource: tuple[str, str, str] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("ACLs for principal"):
            continue
        where = f"{path} line {number}"
        header = _HEADER.fullmatch(line)
        if header is not None:
            kind, name, pattern = header.groups()
            _one_of(kind, RESOURCE_TYPES, where, "resourceType")
            _one_of(pattern, PATTERN_TYPES, where, "patternType")
            resource = (kind, _name(name, where), pattern)
            continue
        entry = _ENTRY.fullmatch(line)
        if entry is None:
            raise ScenarioError(
                where,
                "is not an ACL line as kafka-acls --list prints it",
                allowed="(principal=User:<name>, host=<host>, operation=<OP>,"
                " permissionType=ALLOW|DENY)",
            )
        if resource is None:
            raise ScenarioError(where, "comes before any 'Current ACLs for resource' header")
        principal, host, operation, permission = entry.groups()
        _check_principal(principal, where)
        _one_of(operation, OPERATIONS, where, "operation")
        _one_of(permission, PERMISSIONS, where, "permissionType")
        out.append(
            Acl(resource[0], resource[1], resource[2], principal, host, operation, permission)
        )
        if len(out) > MAX_ACLS:
            raise ScenarioError(path, f"must hold at most {MAX_ACLS} ACLs")
    return tuple(out)


def _one_of(value: str, allowed: tuple[str, ...], where: str, what: str) -> None:
    if value not in allowed:
        raise ScenarioError(
            where,
            f"{what} must be one of {', '.join(allowed)}, got {value!r}",
            allowed=", ".join(allowed),
        )


def _name(name: str, where: str) -> str:
    if not name:
        raise ScenarioError(where, "the resource name must not be empty")
    return name


def _check_principal(principal: str, where: str) -> None:
    if ":" not in principal or principal.startswith(":"):
        raise ScenarioError(
            where,
            f"a principal is Type:name, such as User:alice or User:*, got {principal!r}",
            allowed="User:<name>, User:*",
        )


def listing(acls: Iterable[Acl]) -> str:
    """The ACLs as ``kafka-acls --list`` prints them, one block per resource pattern in the
    order the patterns first appear."""
    blocks: dict[tuple[str, str, str], list[Acl]] = {}
    for acl in acls:
        blocks.setdefault((acl.resource_type, acl.name, acl.pattern), []).append(acl)
    parts = []
    for (kind, name, pattern), entries in blocks.items():
        lines = [
            f"Current ACLs for resource `ResourcePattern(resourceType={kind}, name={name},"
            f" patternType={pattern})`: "
        ]
        lines += [
            f" \t(principal={a.principal}, host={a.host}, operation={a.operation},"
            f" permissionType={a.permission})"
            for a in entries
        ]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + ("\n" if parts else "")


def to_data(acls: Iterable[Acl]) -> list[Mapping[str, str]]:
    """The YAML form of the ACLs (every field written)."""
    return [{name: getattr(acl, name) for name in FIELDS} for acl in acls]
