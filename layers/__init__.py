"""Layer kinds: each gives features for a bbox/time, how the map draws them, and a legend.

Each kind is registered in `registry.LAYER_KINDS` (by `plugins.register_all()`); `layers.base.kind_of(layer)`
returns the kind object for a stored Layer row.
"""
