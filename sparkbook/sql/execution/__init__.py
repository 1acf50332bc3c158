"""Execution: physical operators that become RDDs of Arrow record batches, and the
vectorised kernels they run per batch."""
