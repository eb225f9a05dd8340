"""Output: Markdown, HTML and text for people, JSON for machines."""
