"""Parsers for the text the Datadog CLIs print inside their pods (`status`, `metamap`, `agent status`).
Pure: text in, plain data out. Formats: ../shared/reference/datadog-agent.md sections 1.4, 2.3, 4."""
