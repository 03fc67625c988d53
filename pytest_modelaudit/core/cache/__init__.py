"""The cache of computed arrays: in memory and on disk, keyed by the content everything depends on."""
