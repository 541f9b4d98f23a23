"""Talking to the outside: files shipped or uploaded, demo feeds, brokers."""
