"""The brokers: the cluster, partition logs, replication and the ISR, the controller (leader
election), retention and the network between nodes.

May import: kernel, scenario.
"""
