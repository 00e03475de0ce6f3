"""What Eraser writes and what it means, all pure: its messages as data, the live report, the coverage rules."""
