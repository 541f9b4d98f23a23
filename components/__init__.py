"""Reusable UI pieces: data in, Dash components out."""
