"""Load generators and the table they print: ``python -m benchmarks`` (run by hand)."""
