"""``modelwatch demo``: a churn classifier, its traffic, and the trouble a team meets in production."""
