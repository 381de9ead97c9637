"""The command line, `casework ...`: above the engine and web/, the one place that starts a
server."""
