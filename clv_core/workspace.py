"""A persistent workspace: loaded datasets and the options they were loaded with, kept in a folder so that nothing
is lost on a refresh or a restart, listed newest first, reopened without uploading again, deleted on request.

The folder holds ``workspace.sqlite`` (one row per dataset: its label, file name, content hash, sheet, column
mapping and cleaning options as JSON, and what it held) and ``files/<sha256>``, the file's bytes exactly as
loaded, stored once however many entries use them. Nothing is pickled or evaluated: bytes are read back through
the same loader as an upload, and their SHA-256 is checked first. Entries belong to an owner (the signed-in
user's email, or ``local`` without sign-in): one owner never sees another's datasets.

>>> import tempfile
>>> from clv_core.ingest import ColumnMapping, IngestOptions
>>> space = Workspace(tempfile.mkdtemp())
>>> csv = b"customer_id,date,amount\\na,2024-01-05,10\\n"
>>> entry = space.save(csv, file_name="t.csv", label="t.csv", mapping=ColumnMapping("customer_id", "date", "amount"),
...                    options=IngestOptions(), rows=1, customers=1)
>>> [e.label for e in space.entries()], space.read(entry.id) == csv
(['t.csv'], True)
>>> space.delete(entry.id); space.entries()
[]
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import re
import sqlite3
import tempfile
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from clv_core.errors import ClvError
from clv_core.ingest import ColumnMapping, IngestOptions

_SCHEMA = """
CREATE TABLE IF NOT EXISTS datasets (
    id TEXT NOT NULL,
    owner TEXT NOT NULL,
    label TEXT NOT NULL,
    file_name TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    sheet TEXT,
    mapping TEXT NOT NULL,
    options TEXT NOT NULL,
    rows INTEGER NOT NULL,
    customers INTEGER NOT NULL,
    saved_at TEXT NOT NULL,
    opened_at TEXT NOT NULL,
    PRIMARY KEY (owner, id)
)
"""
_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Entry:
    """One saved dataset: the file and the choices that turn it into the same transactions again."""

    id: str
    label: str
    file_name: str
    content_hash: str
    sheet: str | None
    mapping: ColumnMapping
    options: IngestOptions
    rows: int
    customers: int
    saved_at: str
    opened_at: str


def entry_id(content_hash: str, sheet: str | None, mapping: ColumnMapping, options: IngestOptions) -> str:
    """The same file loaded the same way is one entry: 16 hex digits of a hash of all four."""
    text = json.dumps([content_hash, sheet, _mapping_json(mapping), _options_json(options)], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Workspace:
    """The datasets of one ``owner`` in ``folder`` (created when missing)."""

    def __init__(self, folder: str | os.PathLike, owner: str = "local") -> None:
        self.folder = Path(folder)
        self.owner = owner
        try:
            (self.folder / "files").mkdir(parents=True, exist_ok=True)
            with closing(self._connect()) as db, db:
                db.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise ClvError(f"The workspace folder {self.folder} cannot be used ({exc}).") from exc

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.folder / "workspace.sqlite", timeout=10)
        db.row_factory = sqlite3.Row
        return db

    def save(
        self,
        data: bytes,
        *,
        file_name: str,
        label: str,
        mapping: ColumnMapping,
        options: IngestOptions,
        rows: int,
        customers: int,
        sheet: str | None = None,
    ) -> Entry:
        """Keep ``data`` and how it was loaded; saving the same file loaded the same way again only marks it
        opened now."""
        content_hash = hashlib.sha256(data).hexdigest()
        path = self.folder / "files" / content_hash
        if not path.exists():  # write then rename: a reader never sees half a file
            with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as tmp:
                tmp.write(data)
            os.replace(tmp.name, path)
        now = _now()
        key = entry_id(content_hash, sheet, mapping, options)
        with closing(self._connect()) as db, db:
            db.execute(
                "INSERT INTO datasets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (owner, id) DO UPDATE SET opened_at = excluded.opened_at, label = excluded.label",
                (
                    key,
                    self.owner,
                    label,
                    file_name,
                    content_hash,
                    sheet,
                    json.dumps(_mapping_json(mapping)),
                    json.dumps(_options_json(options)),
                    int(rows),
                    int(customers),
                    now,
                    now,
                ),
            )
        return self.get(key)

    def entries(self) -> list[Entry]:
        """This owner's datasets, the most recently opened first."""
        with closing(self._connect()) as db:
            rows = db.execute(
                "SELECT * FROM datasets WHERE owner = ? ORDER BY opened_at DESC, saved_at DESC", (self.owner,)
            ).fetchall()
        out = []
        for row in rows:
            try:
                out.append(_entry(row))
            except (ClvError, TypeError, ValueError):  # written by another version of the app: skip, never fail
                continue
        return out

    def get(self, key: str) -> Entry:
        with closing(self._connect()) as db:
            row = db.execute("SELECT * FROM datasets WHERE owner = ? AND id = ?", (self.owner, key)).fetchone()
        if row is None:
            raise ClvError("That dataset is no longer in the workspace; load the file again.")
        return _entry(row)

    def read(self, key: str) -> bytes:
        """The saved file's bytes, checked against their SHA-256; marks the entry opened now."""
        entry = self.get(key)
        if not _HEX.fullmatch(entry.content_hash):
            raise ClvError("The workspace entry is damaged; delete it and load the file again.")
        try:
            data = (self.folder / "files" / entry.content_hash).read_bytes()
        except OSError as exc:
            raise ClvError(f"The saved file of {entry.label!r} is missing; delete it and load it again.") from exc
        if hashlib.sha256(data).hexdigest() != entry.content_hash:
            raise ClvError(f"The saved file of {entry.label!r} has changed on disk; delete it and load it again.")
        with closing(self._connect()) as db, db:
            db.execute("UPDATE datasets SET opened_at = ? WHERE owner = ? AND id = ?", (_now(), self.owner, key))
        return data

    def delete(self, key: str) -> None:
        """Remove the entry, and its file when no entry of any owner uses it any more."""
        entry = self.get(key)
        with closing(self._connect()) as db, db:
            db.execute("DELETE FROM datasets WHERE owner = ? AND id = ?", (self.owner, key))
            left = db.execute("SELECT COUNT(*) FROM datasets WHERE content_hash = ?", (entry.content_hash,))
            still_used = left.fetchone()[0] > 0
        if not still_used and _HEX.fullmatch(entry.content_hash):
            (self.folder / "files" / entry.content_hash).unlink(missing_ok=True)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def _mapping_json(mapping: ColumnMapping) -> dict:
    out = dataclasses.asdict(mapping)
    out["attributes"] = list(mapping.attributes)
    return out


def _options_json(options: IngestOptions) -> dict:
    return dataclasses.asdict(options)


def _entry(row: sqlite3.Row) -> Entry:
    mapping = json.loads(row["mapping"])
    mapping["attributes"] = tuple(mapping.get("attributes", ()))
    fields = {f.name for f in dataclasses.fields(IngestOptions)}
    options = {k: v for k, v in json.loads(row["options"]).items() if k in fields}  # saved by an older version
    return Entry(
        id=row["id"],
        label=row["label"],
        file_name=row["file_name"],
        content_hash=row["content_hash"],
        sheet=row["sheet"],
        mapping=ColumnMapping(**mapping),
        options=IngestOptions(**options),
        rows=row["rows"],
        customers=row["customers"],
        saved_at=row["saved_at"],
        opened_at=row["opened_at"],
    )
