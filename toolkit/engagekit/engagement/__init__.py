"""Engagement: features, tiers, levels, transitions, the report and explanations (pure functions)."""
