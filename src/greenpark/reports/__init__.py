"""Reports rendered from the services' results."""
