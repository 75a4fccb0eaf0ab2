"""The kernel: the discrete-event engine, the timeline of what happened, errors and shared types.

Imports nothing from the rest of simcore.
"""
