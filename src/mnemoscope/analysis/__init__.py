"""Statistics and analyses shared by the studies."""
