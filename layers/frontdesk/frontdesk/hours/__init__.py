"""Opening hours: business calendars, holidays, and business-time arithmetic."""
