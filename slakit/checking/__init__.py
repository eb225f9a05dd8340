"""Checking: the schema and the semantic rules, every problem of every file in one result."""
