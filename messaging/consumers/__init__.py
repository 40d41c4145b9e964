"""Socket consumers: ``chat`` (the user socket /ws/); meetings add their own module."""
