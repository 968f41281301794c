"""Chat and messaging webhooks: signed intake from platforms, and answers in the conversation."""
