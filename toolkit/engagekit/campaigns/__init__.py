"""Re-engagement campaigns: holdout experiments with power before the send and measured lift
after it."""
