"""Benchmarks of issue 6 (see bench/README.md); `bench.settings` and `bench.urls` serve them under gunicorn."""
