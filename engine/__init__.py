"""casework engine: workflow specs, rules, runtime and history. Imports neither web nor SQL."""
