"""Retention and destruction: what is kept how long, the yearly destruction list and its approval, legal holds."""
