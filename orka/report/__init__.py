"""The reports of a spike run, made from reports/results.json alone: the comparison page, JUnit for Bamboo."""
