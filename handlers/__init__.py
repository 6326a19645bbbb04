"""Slack-facing code: one module per Slack surface, each with register(app, deps)."""
