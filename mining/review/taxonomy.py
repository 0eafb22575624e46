"""The failure taxonomy: the tags reviewers put on a failure to say why the model failed.

Why tags have an id apart from their name: reviews store tag ids, so a rename changes what every
old review shows without rewriting history, and the old name stays findable (`resolve_tag` accepts
it, `tag_history` lists it). Retiring a tag keeps it on the reviews that used it but stops offering
it for new ones. Every change is one row in `tag_events`, with who and when.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from mining.store import Workspace


class UnknownTag(ValueError):
    """A tag id or name the taxonomy does not hold, or one that cannot be used; message for a person."""


@dataclass(frozen=True)
class Tag:
    """One tag as it is now."""

    tag_id: str
    name: str
    description: str
    retired: bool
    created_at: datetime
    updated_at: datetime


_COLUMNS = "tag_id, name, description, retired, created_at, updated_at"


def _clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise UnknownTag("a tag's name cannot be empty")
    return name


def _tag(row: tuple) -> Tag:
    return Tag(*row)


def list_tags(workspace: Workspace, include_retired: bool = True) -> list[Tag]:
    """The taxonomy by name; without retired tags when offering tags for a new review."""
    where = "" if include_retired else "WHERE NOT retired"
    rows = workspace.cursor().execute(f"SELECT {_COLUMNS} FROM tags {where} ORDER BY name").fetchall()
    return [_tag(row) for row in rows]


def resolve_tag(workspace: Workspace, key: str, cursor: duckdb.DuckDBPyConnection | None = None) -> Tag:
    """The tag an id, a current name or a former name (case-insensitive) points to.

    A current name wins over a former one, so a name reused after a rename finds the new tag.
    """
    cursor = cursor or workspace.cursor()
    row = cursor.execute(f"""
        SELECT {_COLUMNS} FROM tags t
        WHERE t.tag_id = $key OR lower(t.name) = lower($key)
           OR t.tag_id IN (SELECT tag_id FROM tag_events WHERE action = 'rename' AND lower(before) = lower($key))
        ORDER BY t.tag_id = $key DESC, lower(t.name) = lower($key) DESC, t.tag_id LIMIT 1""", {"key": key.strip()}).fetchone()
    if row is None:
        raise UnknownTag(f"no tag {key!r} in the taxonomy")
    return _tag(row)


def _new_id(cursor: duckdb.DuckDBPyConnection, name: str) -> str:
    """A readable id from the first name, made unique: ids never change, names may."""
    base = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "tag"
    taken = {row[0] for row in cursor.execute("SELECT tag_id FROM tags WHERE tag_id LIKE ? || '%'", [base]).fetchall()}
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}_{n}", n + 1
    return candidate


def _log(cursor: duckdb.DuckDBPyConnection, tag_id: str, by: str | None, action: str,
         before: str | None, after: str | None) -> None:
    cursor.execute("INSERT INTO tag_events (tag_id, changed_at, changed_by, action, before, after)"
                   " VALUES (?, now(), ?, ?, ?, ?)", [tag_id, by, action, before, after])


def _name_free(cursor: duckdb.DuckDBPyConnection, name: str, tag_id: str | None = None) -> None:
    row = cursor.execute("SELECT tag_id FROM tags WHERE lower(name) = lower(?) AND tag_id IS DISTINCT FROM ?",
                         [name, tag_id]).fetchone()
    if row is not None:
        raise UnknownTag(f"there is already a tag named {name!r}")


def add_tag(workspace: Workspace, name: str, description: str = "", by: str | None = None) -> Tag:
    """A new tag, offered for reviews at once."""
    name = _clean_name(name)
    with workspace.transaction() as cursor:
        _name_free(cursor, name)
        tag_id = _new_id(cursor, name)
        cursor.execute("INSERT INTO tags (tag_id, name, description) VALUES (?, ?, ?)", [tag_id, name, description])
        _log(cursor, tag_id, by, "add", None, name)
    return resolve_tag(workspace, tag_id)


def _change(workspace: Workspace, key: str, by: str | None, action: str, column: str, value: Any) -> Tag:
    """Set one column of a tag and log the change, in one transaction."""
    with workspace.transaction() as cursor:
        tag = resolve_tag(workspace, key, cursor)
        before = getattr(tag, column)
        if column == "name":
            _name_free(cursor, value, tag.tag_id)
        cursor.execute(f"UPDATE tags SET {column} = ?, updated_at = now() WHERE tag_id = ?", [value, tag.tag_id])
        _log(cursor, tag.tag_id, by, action, str(before), str(value))
    return resolve_tag(workspace, tag.tag_id)


def rename_tag(workspace: Workspace, key: str, new_name: str, by: str | None = None) -> Tag:
    """Give a tag a new name; old reviews show the new name, and the old one stays in the history."""
    return _change(workspace, key, by, "rename", "name", _clean_name(new_name))


def describe_tag(workspace: Workspace, key: str, description: str, by: str | None = None) -> Tag:
    """Set what a tag means, shown to reviewers beside it."""
    return _change(workspace, key, by, "describe", "description", description.strip())


def retire_tag(workspace: Workspace, key: str, by: str | None = None, retired: bool = True) -> Tag:
    """Stop offering a tag for new reviews (it stays on old ones); retired=False brings it back."""
    return _change(workspace, key, by, "retire" if retired else "restore", "retired", retired)


def tag_history(workspace: Workspace, key: str) -> list[dict[str, Any]]:
    """Every change to one tag, oldest first: changed_at, changed_by, action, before, after."""
    tag = resolve_tag(workspace, key)
    cursor = workspace.cursor().execute(
        "SELECT changed_at, changed_by, action, before, after FROM tag_events WHERE tag_id = ? ORDER BY changed_at, rowid",
        [tag.tag_id])
    columns = [column[0] for column in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]


def tag_ids_for_review(workspace: Workspace, keys: list[str], keep: frozenset[str] = frozenset(),
                       cursor: duckdb.DuckDBPyConnection | None = None) -> list[str]:
    """The sorted, de-duplicated tag ids for a review; a retired tag is refused unless it is in `keep`.

    `keep` holds the tags the review already had, so re-saving an old review keeps a retired tag.
    """
    ids = set()
    for key in keys:
        tag = resolve_tag(workspace, key, cursor)
        if tag.retired and tag.tag_id not in keep:
            raise UnknownTag(f"tag {tag.name!r} is retired and cannot be put on new reviews")
        ids.add(tag.tag_id)
    return sorted(ids)
