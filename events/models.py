"""Events: venues, salons, seminars and tea talks (models arrive with the events issue)."""
