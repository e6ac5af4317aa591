"""The audit half of the rules: query logs, reconciliation, sampling, legal bases (001 §9, §11, §12)."""
