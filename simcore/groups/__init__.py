"""The group coordinator: the classic protocol (eager and cooperative rebalances) and
KIP-848 consumer groups with server-side assignors.

May import: kernel, scenario.
"""
