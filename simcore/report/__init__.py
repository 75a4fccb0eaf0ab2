"""What a run tells: the Result, the ledger of every message's fate, the narrative, playback
tables, figures, exports and the answers to a scenario's questions.

May import: everything above (kernel, scenario, broker, groups, producer, consumer, run).
"""
