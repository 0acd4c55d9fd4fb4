"""Metric sources: per-revision cumulative counters and latency histograms."""
