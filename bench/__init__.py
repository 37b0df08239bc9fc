"""Benchmarks of airflow-provider-sentry: run with ``make bench`` (see docs/performance.md).

One module per measure (``p1_idle_poke`` ... ``p7_latency``), each with ``run(ctx) -> list[Row]``;
:mod:`bench.run` runs them all against an emulator in a separate process and prints one table.
Every measure is bounded in count and time and stops by itself.
"""
