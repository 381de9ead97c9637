"""Running cases: the runtime that fires triggers, deciding, case actions, scheduling timers, the
desk's moves, version moves and the read-side queries pages ask."""
