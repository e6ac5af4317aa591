"""The core. One jurisdiction pack is active per process (workflows.jurisdiction): Kaohsiung's from import."""

from . import jurisdiction as _jurisdiction

_jurisdiction.active()

from . import agency_rules as _agency_rules  # noqa: E402, F401 - the pack's agency layers, installed on activation
