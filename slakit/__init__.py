"""slakit: sales and marketing service level agreements kept as code."""

__version__ = "0.1.0"
