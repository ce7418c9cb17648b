"""The ``tenantry`` command line: thin wrappers over the library."""
