"""The requests each client sends, the ACL operation and resource each needs, and the error a
denied request gets — Kafka's documentation, "Operations and Resources on Protocols"
(docs/security.html#operations_resources_and_protocols), and the error codes of
[J] ``common/protocol/Errors.java``.

Since Kafka 2.8 (KIP-679) an idempotent producer needs WRITE on a topic, not
IDEMPOTENT_WRITE on the cluster, so a producer's Produce row covers both.
"""

from __future__ import annotations

# (request, operation, resource type, which name: "topic" or "group")
CONSUMER_REQUESTS = (
    ("Metadata", "DESCRIBE", "TOPIC", "topic"),
    ("FindCoordinator", "DESCRIBE", "GROUP", "group"),
    ("JoinGroup / SyncGroup / Heartbeat", "READ", "GROUP", "group"),
    ("OffsetFetch", "DESCRIBE", "GROUP", "group"),
    ("Fetch", "READ", "TOPIC", "topic"),
    ("OffsetCommit (group)", "READ", "GROUP", "group"),
    ("OffsetCommit (topic)", "READ", "TOPIC", "topic"),
)
PRODUCER_REQUESTS = (
    ("Metadata", "DESCRIBE", "TOPIC", "topic"),
    ("Produce", "WRITE", "TOPIC", "topic"),
)
# what a producer with a transactional.id sends first (KIP-98): FindCoordinator for its
# transaction coordinator, then InitProducerId; AddPartitionsToTxn and EndTxn also need
# WRITE on the transactional id, which InitProducerId has already checked
TRANSACTIONAL_REQUESTS = (
    ("FindCoordinator (transaction)", "DESCRIBE", "TRANSACTIONAL_ID", "transactional_id"),
    ("InitProducerId", "WRITE", "TRANSACTIONAL_ID", "transactional_id"),
)
# A denied request on each resource type: Kafka's error code, the Java client's exception
# and its message ([J] clients/.../errors/*AuthorizationException, as the clients build
# them from the response), and librdkafka's error string ([R] src/rdkafka.c, the
# RD_KAFKA_RESP_ERR_*_AUTHORIZATION_FAILED descriptions)
DENIED = {
    "TOPIC": (
        "TOPIC_AUTHORIZATION_FAILED",
        "TopicAuthorizationException: Not authorized to access topics: [{name}]",
        "Broker: Topic authorization failed",
    ),
    "GROUP": (
        "GROUP_AUTHORIZATION_FAILED",
        "GroupAuthorizationException: Not authorized to access group: {name}",
        "Broker: Group authorization failed",
    ),
    "CLUSTER": (
        "CLUSTER_AUTHORIZATION_FAILED",
        "ClusterAuthorizationException: Cluster authorization failed.",
        "Broker: Cluster authorization failed",
    ),
    "TRANSACTIONAL_ID": (
        "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
        "TransactionalIdAuthorizationException: Transactional Id authorization failed.",
        "Broker: Transactional Id authorization failed",
    ),
}
# as /acls shows it: the error code and the Java exception's name
DENIED_AS = {kind: f"{code} ({java.split(':')[0]})" for kind, (code, java, _r) in DENIED.items()}


def denied_error(resource_type: str, name: str, family: str) -> str:
    """What the application sees when a request on ``resource_type`` ``name`` is denied."""
    _code, java, librdkafka = DENIED[resource_type]
    return java.format(name=name) if family == "java" else librdkafka
