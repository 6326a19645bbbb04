"""Everything that is not Slack: parsing, the policy evaluator, AWS gathering, checks and remediation."""
