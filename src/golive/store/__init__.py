"""Durable state: rollouts, the hash-chained event journal, measurements and operator commands."""
