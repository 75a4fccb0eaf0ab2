"""Consumer clients (Java and librdkafka): fetching and polling, offset commits, group
membership for both protocols and the client-side assignors.

May import: kernel, scenario, broker, groups.
"""
