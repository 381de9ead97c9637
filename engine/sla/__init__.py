"""Business calendars, their loading, and SLA clocks that count business time."""
