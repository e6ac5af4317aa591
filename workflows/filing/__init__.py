"""An application from filing to its end: submit, amend, withdraw, decide, claim and reassign, and its reads."""
