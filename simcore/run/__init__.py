"""A run: the simulation that assembles every part, the frames recorded at each step, the
invariants checked after events, and the lag model.

May import: kernel, scenario, broker, groups, producer, consumer.
"""
