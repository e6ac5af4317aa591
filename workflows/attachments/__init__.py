"""Files an application or a step carries (a citizen's signed consent, a proxy authorisation letter)."""
