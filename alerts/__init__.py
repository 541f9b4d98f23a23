"""Alert rules and mail."""
