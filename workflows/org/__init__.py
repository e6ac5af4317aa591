"""The organisation as administrators keep it: agencies and their kinds, the unit tree, people, role holdings,
delegates, and the personnel office's spreadsheet import."""
