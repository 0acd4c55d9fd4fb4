"""The rollout's vocabulary, below the engine: state, events, results, actions."""
