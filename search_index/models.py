"""The full-text index; the only package that imports whoosh (arrives with the search issue)."""
