"""The core: use cases over the engine and the models. Never imports Flask."""
