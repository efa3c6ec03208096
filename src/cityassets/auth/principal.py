"""cityassets.auth.principal: who is calling, and what their role and scope allow."""

from __future__ import annotations

from dataclasses import dataclass

from cityassets.catalogue import Collection
from cityassets.errors import Forbidden

ROLES = ("reader", "surveyor", "planner", "admin")


@dataclass(frozen=True)
class AuthPrincipal:
    """The caller: a role plus an optional owner and district scope (surveyors)."""

    name: str
    role: str | None  # None = anonymous
    owner: str | None = None
    districts: tuple[str, ...] | None = None

    @property
    def is_anonymous(self) -> bool:
        """No token was presented."""
        return self.role is None

    def can_write(self, collection: Collection) -> bool:
        """The role may write this collection at all."""
        return self.role in collection.write_roles

    def require_write(self, collection: Collection) -> None:
        """Forbidden unless the role may write this collection."""
        if not self.can_write(collection):
            who = "anonymous callers" if self.is_anonymous else f"role '{self.role}'"
            allowed = ", ".join(sorted(collection.write_roles))
            raise Forbidden(f"{who} may not write '{collection.id}' (allowed: {allowed})")

    def scope_problem(self, collection: Collection, owner: str | None, district: str | None) -> str | None:
        """Why a record with this owner/district is outside the caller's scope, or None."""
        if self.owner and collection.scope_owner_field and owner != self.owner:
            return f"owner '{owner}' is outside your scope (you may edit assets of '{self.owner}' only)"
        if self.districts and collection.scope_district_field and district not in self.districts:
            return f"district '{district}' is outside your scope ({', '.join(self.districts)})"
        return None

    def require_scope(self, collection: Collection, owner: str | None, district: str | None) -> None:
        """Forbidden when the record is outside the caller's owner/district scope."""
        problem = self.scope_problem(collection, owner, district)
        if problem:
            raise Forbidden(problem)


ANONYMOUS = AuthPrincipal(name="anonymous", role=None)
SYSTEM = AuthPrincipal(name="system", role="admin")
