"""Services: join park.toml, the store and the core calculations."""
