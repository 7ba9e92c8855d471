"""Re-engagement campaigns: holdout experiments with power and measured lift, sunset policies,
and the risk that a contact slips a level."""
