"""Scenarios: the validated specification of a run, its parser, the catalogue of Kafka
settings, the built-in library (YAML files in library/), courses and questions.

May import: kernel.
"""
