"""Pure classification: intents, urgency, consent, routing and business hours."""
