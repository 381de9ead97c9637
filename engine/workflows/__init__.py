"""Workflows: loading the YAML (fields, actions, starts, timers), the shared transitions machine per
version, diagrams, and the registry of loaded definitions and who published which version."""
