"""The operator desk: hotline calls typed into the same intake the bots use.

A small aiohttp application, server-rendered with Jinja2; its only script adds keyboard
shortcuts. See docs/desk.md.
"""

from desk.accounts import ROLES, Account, AccountError, Accounts, Role
from desk.app import LOGIN_RULES, DeskConfig, create_app
from desk.hotline import CHANNEL, Hotline

__all__ = [
    "CHANNEL",
    "LOGIN_RULES",
    "ROLES",
    "Account",
    "AccountError",
    "Accounts",
    "DeskConfig",
    "Hotline",
    "Role",
    "create_app",
]
