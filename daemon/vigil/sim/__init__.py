"""Simulated IP cameras for tests, the demo and benchmarks."""
