"""casework engine: workflow specs, runtime and history. Only engine/store knows SQL; no HTTP."""
