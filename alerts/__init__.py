"""Alert rules and mail (issue 5)."""
