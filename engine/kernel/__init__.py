"""The kernel: errors, YAML with lines, typed fields, CEL expressions, the history chain, the
records the store keeps, frozen specs, settings and accounts. It imports no other engine package."""
