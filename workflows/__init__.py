"""The core. One jurisdiction pack is active per process (workflows.jurisdiction): Kaohsiung's from import."""

from . import jurisdiction as _jurisdiction

_jurisdiction.active()
