"""Scale benchmarks: generated tiers, measured side by side against floors and peers."""
