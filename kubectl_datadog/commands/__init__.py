"""Thin Click commands: parse -> collect -> diagnose -> render."""
