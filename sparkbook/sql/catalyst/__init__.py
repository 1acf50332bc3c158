"""The planner: expressions, logical plans, the parser of expression text, and the analyzer
that resolves names and types (Spark's Catalyst, in its words)."""
