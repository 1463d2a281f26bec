"""Local stand-ins for external services (messenger APIs), used by tests and benchmarks."""
