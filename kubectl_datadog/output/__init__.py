"""Presentation: one view model and one renderer for table, wide, json and yaml."""
