"""Measuring: commitments held against what happened (CRM exports), period by period."""
