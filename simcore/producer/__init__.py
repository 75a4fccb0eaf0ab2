"""Producer clients (Java and librdkafka): the record accumulator, partitioners, the sender
with its in-flight requests, retries and idempotence.

May import: kernel, scenario, broker.
"""
