"""What each command does once its flags are parsed: its pipeline, collect -> diagnose -> the View to render.

Kept apart from kubectl_datadog/commands/ (the Click definitions) so that building the CLI, and so
`--help`, `--version` and completion, imports none of the collection, diagnosis or rendering code:
each command imports its pipeline module inside its body (a static import, visible to PyInstaller).
"""
