"""Layer kinds: each gives features for a bbox/time, how the map draws them, and a legend.

`layers.registry.kind_of(layer)` returns the kind object for a stored Layer row.
"""
