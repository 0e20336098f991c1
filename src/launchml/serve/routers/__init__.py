"""One router per resource: predictions, models, and the operational endpoints."""
