"""File formats: readers and writers that convert datasets to and from the columnar arrays."""
