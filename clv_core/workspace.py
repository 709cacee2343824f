"""A persistent workspace: loaded datasets and the options they were loaded with, kept in a folder so that nothing
is lost on a refresh or a restart, listed newest first, reopened without uploading again, deleted on request.

The folder holds ``workspace.sqlite`` (one row per dataset: its label, file name, content hash, sheet, column
mapping and cleaning options as JSON, and what it held) and ``files/<sha256>``, the file's bytes exactly as
loaded, stored once however many entries use them. Nothing is pickled or evaluated: bytes are read back through
the same loader as an upload, and their SHA-256 is checked first. Entries belong to an owner (an opaque key: the
signed-in user's identity at their sign-in provider, or ``local`` without sign-in): one owner never sees another's
datasets. An owner may be given a quota on the bytes of their stored files.

Every change (saving, deleting, marking opened) holds the database's write lock, and the file is written or removed
while the lock is held, so a save and a delete of entries sharing one file never leave an entry without its file
or a file without an entry, whichever threads or processes run them.

A row this version cannot read (written by another version, or damaged on disk) is never an exception in the
listing: :meth:`Workspace.listing` sets it apart so the page can say so and offer to delete it.

>>> import tempfile
>>> from clv_core.ingest import ColumnMapping, IngestOptions
>>> space = Workspace(tempfile.mkdtemp(), quota_bytes=1_000_000)
>>> csv = b"customer_id,date,amount\\na,2024-01-05,10\\n"
>>> entry = space.save(csv, file_name="t.csv", label="t.csv", mapping=ColumnMapping("customer_id", "date", "amount"),
...                    options=IngestOptions(), rows=1, customers=1)
>>> [e.label for e in space.entries()], space.read(entry.id) == csv, space.used_bytes()
(['t.csv'], True, 40)
>>> space.delete(entry.id); space.entries(), space.listing().skipped
([], 0)
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
import typing
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from clv_core.errors import ClvError
from clv_core.ingest import ColumnMapping, IngestOptions
from clv_core.ingest.limits import DEFAULT_MAX_CELL_CHARS, DEFAULT_MAX_COLUMNS

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
_MAPPING_TYPES = typing.get_type_hints(ColumnMapping)
_OPTION_TYPES = typing.get_type_hints(IngestOptions)
_MB = 1_000_000
_GONE = "That dataset is no longer in the workspace; load the file again."
_ONE = "SELECT * FROM datasets WHERE owner = ? AND id = ?"


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


@dataclass(frozen=True)
class Damaged:
    """A saved row this version cannot read back; :meth:`Workspace.delete` of its ``id`` removes it.

    Attributes
    ----------
    id : str or None
        The entry's id (None only when even the id is unreadable).
    label : str
        Its label when readable, else a placeholder, for the message.
    """

    id: str | None
    label: str


@dataclass(frozen=True)
class Listing:
    """One owner's datasets as :meth:`Workspace.listing` found them.

    Attributes
    ----------
    entries : tuple of Entry
        The readable ones, the most recently opened first.
    damaged : tuple of Damaged
        Rows skipped because they cannot be read back (another version's options, a damaged column).
    """

    entries: tuple[Entry, ...]
    damaged: tuple[Damaged, ...] = ()

    @property
    def skipped(self) -> int:
        """How many rows the listing left out."""
        return len(self.damaged)

    @property
    def message(self) -> str | None:
        """What the page should say about the skipped rows (None when there are none).

        >>> Listing((), (Damaged("1", "Shop"),)).message
        "1 saved dataset cannot be read and is not listed ('Shop'); delete it and load the file again."
        """
        if not self.damaged:
            return None
        names = ", ".join(repr(d.label) for d in self.damaged[:3]) + (", …" if self.skipped > 3 else "")
        if self.skipped == 1:
            return f"1 saved dataset cannot be read and is not listed ({names}); delete it and load the file again."
        return (
            f"{self.skipped} saved datasets cannot be read and are not listed ({names}); "
            "delete them and load the files again."
        )


#: Read options added to IngestOptions after entries were first saved: left out of an entry's id while they have
#: their defaults, so a file saved before they existed is still the same entry.
_LATER_LIMITS = {
    "max_columns": DEFAULT_MAX_COLUMNS,
    "max_cell_chars": DEFAULT_MAX_CELL_CHARS,
    "encoding": None,
    "delimiter": None,
}


def entry_id(content_hash: str, sheet: str | None, mapping: ColumnMapping, options: IngestOptions) -> str:
    """The same file loaded the same way is one entry: 16 hex digits of a hash of all four."""
    chosen = {k: v for k, v in _options_json(options).items() if _LATER_LIMITS.get(k, object()) != v}
    text = json.dumps([content_hash, sheet, _mapping_json(mapping), chosen], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Workspace:
    """The datasets of one ``owner`` in ``folder`` (created when missing).

    Parameters
    ----------
    folder : str or os.PathLike
        Where the database and the files live; shared by every owner.
    owner : str
        Whose datasets these are: an opaque key, compared exactly.
    quota_bytes : int, optional
        Most bytes this owner's stored files (each distinct file once) may take; None for no limit.
    """

    def __init__(self, folder: str | os.PathLike, owner: str = "local", *, quota_bytes: int | None = None) -> None:
        if quota_bytes is not None and (isinstance(quota_bytes, bool) or not isinstance(quota_bytes, int)):
            raise ClvError(f"The workspace quota must be a whole number of bytes or None, not {quota_bytes!r}.")
        if quota_bytes is not None and quota_bytes < 0:
            raise ClvError(f"The workspace quota cannot be negative ({quota_bytes} bytes); use 0 or more.")
        self.folder = Path(folder)
        self.owner = owner
        self.quota_bytes = quota_bytes
        try:
            (self.folder / "files").mkdir(parents=True, exist_ok=True)
            with closing(self._connect()) as db:
                db.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise ClvError(f"The workspace folder {self.folder} cannot be used ({exc}).") from exc

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: no implicit transactions; _writing() opens the only ones there are
        db = sqlite3.connect(self.folder / "workspace.sqlite", timeout=10, isolation_level=None)
        db.row_factory = sqlite3.Row
        return db

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """A connection holding the write lock until the block ends, committed then (rolled back if it raises).
        Files written or removed inside the block are therefore changed atomically with the rows that use them,
        with respect to every other writer in any thread or process."""
        with closing(self._connect()) as db:
            try:
                db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise ClvError(f"The workspace is busy ({exc}); try again in a moment.") from exc
            try:
                yield db
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

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
        opened now (and repairs its row if it was damaged).

        Raises
        ------
        ClvError
            When the owner's quota would be exceeded: stored files already count once, so re-saving never does.
        """
        content_hash = hashlib.sha256(data).hexdigest()
        key = entry_id(content_hash, sheet, mapping, options)
        now = _now()
        with self._writing() as db:
            if self.quota_bytes is not None:
                self._check_quota(db, content_hash, len(data), file_name)
            created = self._store(content_hash, data)
            try:
                before = db.execute(
                    "SELECT content_hash FROM datasets WHERE owner = ? AND id = ?", (self.owner, key)
                ).fetchone()
                db.execute(
                    "INSERT INTO datasets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (owner, id) DO UPDATE SET label = excluded.label, file_name = excluded.file_name, "
                    "content_hash = excluded.content_hash, sheet = excluded.sheet, mapping = excluded.mapping, "
                    "options = excluded.options, rows = excluded.rows, customers = excluded.customers, "
                    "saved_at = CASE WHEN typeof(saved_at) = 'text' THEN saved_at ELSE excluded.saved_at END, "
                    "opened_at = excluded.opened_at",
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
                if before is not None and before[0] != content_hash:  # a damaged row pointed elsewhere
                    self._drop_if_unused(db, before[0])
                row = db.execute(_ONE, (self.owner, key)).fetchone()
                return _entry(row)
            except BaseException:
                if created:  # nothing committed uses it: leave the folder as it was
                    (self.folder / "files" / content_hash).unlink(missing_ok=True)
                raise

    def _store(self, content_hash: str, data: bytes) -> bool:
        """Write the file unless it is there; whether it was written. Called with the write lock held."""
        path = self.folder / "files" / content_hash
        if path.exists():
            return False
        tmp = None
        try:  # write then rename: a reader never sees half a file
            with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".saving-", delete=False) as tmp:
                tmp.write(data)
            os.replace(tmp.name, path)
        except OSError as exc:
            if tmp is not None:
                Path(tmp.name).unlink(missing_ok=True)
            raise ClvError(
                f"The file cannot be kept in the workspace ({exc}); check that its folder is writable and has room."
            ) from exc
        return True

    def _drop_if_unused(self, db: sqlite3.Connection, content_hash: object) -> None:
        """Remove a stored file no entry of any owner uses any more. Called with the write lock held."""
        if not (isinstance(content_hash, str) and _HEX.fullmatch(content_hash)):
            return  # a damaged hash names no file of ours
        left = db.execute("SELECT COUNT(*) FROM datasets WHERE content_hash = ?", (content_hash,)).fetchone()[0]
        if left == 0:
            try:
                (self.folder / "files" / content_hash).unlink(missing_ok=True)
            except OSError as exc:
                raise ClvError(f"The saved file cannot be removed ({exc}); check the workspace folder.") from exc

    def _stored(self, db: sqlite3.Connection) -> dict[str, int]:
        """Size in bytes of each distinct file this owner's entries use (0 when missing on disk)."""
        hashes = db.execute("SELECT DISTINCT content_hash FROM datasets WHERE owner = ?", (self.owner,)).fetchall()
        sizes = {}
        for (content_hash,) in hashes:
            if isinstance(content_hash, str) and _HEX.fullmatch(content_hash):
                try:
                    sizes[content_hash] = (self.folder / "files" / content_hash).stat().st_size
                except OSError:
                    sizes[content_hash] = 0
        return sizes

    def _check_quota(self, db: sqlite3.Connection, content_hash: str, size: int, file_name: str) -> None:
        stored = self._stored(db)
        if content_hash in stored:  # kept already: saving it again takes no room
            return
        used = sum(stored.values())
        if used + size > self.quota_bytes:
            raise ClvError(
                f"{file_name!r} ({_mb(size)}) does not fit in your workspace: {_mb(used)} of {_mb(self.quota_bytes)} "
                "used. Delete datasets you no longer need, then load the file again."
            )

    def used_bytes(self) -> int:
        """Bytes this owner's stored files take, each distinct file once (what the quota counts)."""
        with closing(self._connect()) as db:
            return sum(self._stored(db).values())

    def listing(self) -> Listing:
        """This owner's datasets, the most recently opened first, and the rows that cannot be read back."""
        with closing(self._connect()) as db:
            rows = db.execute(
                "SELECT * FROM datasets WHERE owner = ? ORDER BY opened_at DESC, saved_at DESC", (self.owner,)
            ).fetchall()
        entries, damaged = [], []
        for row in rows:
            try:
                entries.append(_entry(row))
            except ClvError:  # written by another version, or damaged: set apart, never fail the listing
                key = _raw(row, "id")
                damaged.append(Damaged(key if isinstance(key, str) else None, _label(row)))
        return Listing(tuple(entries), tuple(damaged))

    def entries(self) -> list[Entry]:
        """This owner's readable datasets, the most recently opened first (see :meth:`listing` for the rest)."""
        return list(self.listing().entries)

    def get(self, key: str) -> Entry:
        """The entry ``key``; a ClvError when it is gone or damaged."""
        with closing(self._connect()) as db:
            row = db.execute(_ONE, (self.owner, key)).fetchone()
        if row is None:
            raise ClvError(_GONE)
        return _entry(row)

    def read(self, key: str) -> bytes:
        """The saved file's bytes, checked against their SHA-256; marks the entry opened now."""
        entry = self.get(key)
        path = self.folder / "files" / entry.content_hash
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            with self._writing() as db:  # a delete may have removed entry and file since get(): ask when it is done
                if db.execute(_ONE, (self.owner, key)).fetchone() is None:
                    raise ClvError(_GONE) from None
                data = _read_saved(path, entry.label)
        except OSError as exc:
            raise ClvError(
                f"The saved file of {entry.label!r} cannot be read ({exc}); check the workspace folder."
            ) from exc
        if hashlib.sha256(data).hexdigest() != entry.content_hash:
            raise ClvError(f"The saved file of {entry.label!r} has changed on disk; delete it and load it again.")
        with self._writing() as db:
            db.execute("UPDATE datasets SET opened_at = ? WHERE owner = ? AND id = ?", (_now(), self.owner, key))
        return data

    def delete(self, key: str | None) -> None:
        """Remove the entry, damaged or not, and its file when no entry of any owner uses it any more."""
        with self._writing() as db:
            row = db.execute(
                "SELECT content_hash FROM datasets WHERE owner = ? AND id IS ?", (self.owner, key)
            ).fetchone()
            if row is None:
                raise ClvError(_GONE)
            db.execute("DELETE FROM datasets WHERE owner = ? AND id IS ?", (self.owner, key))
            self._drop_if_unused(db, row[0])


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def _read_saved(path: Path, label: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ClvError(f"The saved file of {label!r} is missing; delete it and load it again.") from exc


def _mb(size: int) -> str:
    return f"{size / _MB:,.1f} MB"


def _mapping_json(mapping: ColumnMapping) -> dict:
    out = dataclasses.asdict(mapping)
    out["attributes"] = list(mapping.attributes)
    return out


def _options_json(options: IngestOptions) -> dict:
    return dataclasses.asdict(options)


class _Unreadable(ValueError):
    """A value in a row is not what this version wrote."""


def _entry(row: sqlite3.Row) -> Entry:
    """The row as an :class:`Entry`; a ClvError naming it when any column is not what :meth:`Workspace.save`
    writes (so callers never see TypeError, KeyError or AttributeError from a damaged row)."""
    try:
        mapping = _json_object(row, "mapping")
        if set(mapping) - set(_MAPPING_TYPES):  # a role this version does not know: it would load differently
            raise _Unreadable("mapping")
        options = _json_object(row, "options")  # options an older version had and this one dropped are ignored
        content_hash = _column(row, "content_hash", str)
        if not _HEX.fullmatch(content_hash):
            raise _Unreadable("content_hash")
        return Entry(
            id=_column(row, "id", str),
            label=_column(row, "label", str),
            file_name=_column(row, "file_name", str),
            content_hash=content_hash,
            sheet=_column(row, "sheet", str | None),
            mapping=ColumnMapping(**{k: _decode(v, _MAPPING_TYPES[k]) for k, v in mapping.items()}),
            options=IngestOptions(**{k: _decode(v, t) for k, v in options.items() if (t := _OPTION_TYPES.get(k))}),
            rows=_column(row, "rows", int),
            customers=_column(row, "customers", int),
            saved_at=_column(row, "saved_at", str),
            opened_at=_column(row, "opened_at", str),
        )
    # ClvError: an option value this version refuses; ValueError: also an integer too long to read (json refuses
    # more than 4,300 digits); RecursionError: JSON nested deeper than Python goes
    except (_Unreadable, ValueError, RecursionError, ClvError) as exc:
        raise ClvError(f"The saved dataset {_label(row)!r} is damaged; delete it and load the file again.") from exc


def _raw(row: sqlite3.Row, name: str) -> object:
    return row[name] if name in row.keys() else None  # noqa: SIM118 (`in row` looks among the values)


def _label(row: sqlite3.Row) -> str:
    label = _raw(row, "label")
    return label if isinstance(label, str) else "(no name)"


def _column(row: sqlite3.Row, name: str, hint: object):
    if name not in row.keys():  # noqa: SIM118 (`in row` looks among the values)
        raise _Unreadable(name)
    return _decode(row[name], hint)


def _json_object(row: sqlite3.Row, name: str) -> dict:
    text = _column(row, name, str)
    value = json.loads(text)
    if not isinstance(value, dict):
        raise _Unreadable(name)
    return value


def _decode(value: object, hint: object):
    """``value`` as read from SQLite or JSON, checked against a field's type (``str``, ``int``, ``float``, a union
    with None, ``tuple[str, ...]`` stored as a list); an int stands for a float, a bool for neither.

    >>> _decode(["channel"], tuple[str, ...]), _decode(None, str | None), _decode(1, float)
    (('channel',), None, 1)
    """
    if typing.get_origin(hint) is tuple:
        if not isinstance(value, list):
            raise _Unreadable(value)
        return tuple(_decode(v, typing.get_args(hint)[0]) for v in value)
    choices = typing.get_args(hint) or (hint,)
    if value is None and type(None) in choices:
        return None
    for choice in choices:
        if choice in (int, float) and isinstance(value, bool):
            continue
        if isinstance(value, choice) or (choice is float and isinstance(value, int) and not isinstance(value, bool)):
            return value
    raise _Unreadable(value)
