"""Running an application: its diagram, its engine state kept in step with the inbox, who holds and who sees it."""
