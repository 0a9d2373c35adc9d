"""Real-time alerts: online detectors fed from new prediction rows, between window checks.

``detectors`` is the pure part (chunks, statistics, the anomaly family's detectors and their
state); ``tick`` reads new rows since a persisted cursor and raises streaming alerts through the
ordinary alert lifecycle and notifications; ``confirm`` lets the window check, which stays the
authority, keep or resolve them. See docs/alerts-and-recovery.md, "Real-time alerts".
"""
