"""Comparing: what changed in meaning between two versions, and across Git history."""
