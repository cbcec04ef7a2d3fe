"""Building blocks written from the lectures' equations."""
