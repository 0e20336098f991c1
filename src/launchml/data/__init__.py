"""Reading, cleaning, validating and splitting user data."""
