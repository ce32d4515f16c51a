"""The booking core: domain values, rules and use cases. Standard library only — no web, AWS or Twilio."""
