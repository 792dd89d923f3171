"""`make bench`: the pipeline's throughput, freshness, build times and memory on the local
stack, each figure beside a baseline measured in the same run (see docs/benchmarks.md)."""
