"""cityassets.auth: bearer tokens, roles and owner/district scopes."""

from cityassets.auth.principal import ANONYMOUS, ROLES, SYSTEM, AuthPrincipal

__all__ = ["ANONYMOUS", "ROLES", "SYSTEM", "AuthPrincipal"]
