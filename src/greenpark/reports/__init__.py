"""Reports rendered from the services' results.

Self-contained HTML (and other documents) built from the JSON-ready results of the services.

Layer: an edge. May import services and everything below them; nothing imports reports but
other edges.
"""
