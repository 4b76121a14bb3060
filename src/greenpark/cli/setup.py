"""`greenpark init` and `greenpark demo`."""
