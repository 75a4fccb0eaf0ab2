"""Security: how a broker decides whether a principal may do an operation on a resource.

May import: kernel, scenario.
"""
