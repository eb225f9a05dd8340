"""The typed agreement and every figure derived from it: no I/O, built from validated data."""
