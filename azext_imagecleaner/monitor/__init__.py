"""History and coverage from Container Insights: the commands, their queries, their rows, the fan-out."""
