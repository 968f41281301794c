"""The agent API: what support agents do with tickets."""
