"""Pure calculations over tables: no SQL, no files, no park.toml."""
