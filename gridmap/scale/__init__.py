"""Runs too large for one process: coverage cut into parts (by district or square tiles),
walked on a Dask cluster and gathered, with the same figures as one process."""
