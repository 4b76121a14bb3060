"""API routes, one module per resource.

Each module serves one resource (auth, users, park, readings, energy, environment, carbon,
targets, mv, imports, audit, health, catalogue); shared helpers are in ``_shared`` and the access
dependencies in :mod:`greenpark.api.deps`.

Layer: the API edge (see :mod:`greenpark.api`): never cli.
"""
