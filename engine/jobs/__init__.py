"""Work the engine does on its own: the timer worker, SLA escalation, tiering, opening cycles and
reviews, sending the outbox."""
