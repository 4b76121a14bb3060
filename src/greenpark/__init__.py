"""greenpark — energy, carbon and environment accounts of a green industrial park.

Layers (imports point left only)::

    domain core (energy, carbon, air, water, mv) <- reference <- store <- ingest <- cli / api / reports
"""

__version__ = "0.1.0"
