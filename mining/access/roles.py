"""Who may do what: two roles, and the actions only a lead may take.

Why a fixed list of actions rather than per-page rules: the same power (say, writing files on the
server) is reachable from several pages, and a page asks `can(role, action)` for the action it is
about to take, so a page added later cannot forget a rule that lives here.
"""

from __future__ import annotations

from typing import Literal, get_args

Role = Literal["reviewer", "lead"]
ROLES: tuple[Role, ...] = get_args(Role)

# What a reviewer may not do. A reviewer works the queue: reads records, failures and modes, reviews,
# claims and undoes their own actions. Everything that changes what others see or touches the server
# (files, endpoints, the workspace itself) is a lead's.
LEAD_ACTIONS: dict[str, str] = {
    "adjudicate": "settle disputed reviews",
    "taxonomy": "change the failure tags",
    "bulk_review": "judge many records at once",
    "annotations": "import or export annotations",
    "second_review": "change the second-review share",
    "export": "export datasets and manage the golden set",
    "evaluate": "start evaluation runs and change checks",
    "train": "train models on exports",
    "settings": "change signal settings and rules",
    "ingest": "load logs",
    "cluster": "find failure modes and rename them",
    "workspace": "switch workspaces",
}


def can(role: Role, action: str | None) -> bool:
    """Whether `role` may take `action` (a key of LEAD_ACTIONS; None or anything else: what a reviewer may do)."""
    if role == "lead":
        return True
    return action not in LEAD_ACTIONS


def parse_role(value: object) -> Role:
    """A role from a config file; anything but a known role name is refused with the list."""
    if value not in ROLES:
        raise ValueError(f"unknown role {value!r}: use one of {', '.join(ROLES)}")
    return value  # type: ignore[return-value]
