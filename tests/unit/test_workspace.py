"""The persistent workspace: what is saved reopens as the same transactions; owners, damage and deletion."""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest

from clv_core.errors import ClvError
from clv_core.ingest import ColumnMapping, IngestOptions, ingest
from clv_core.workspace import Workspace

CSV = b"""client;when;paid;channel
a;2024-01-05;10;Email
a;2024-02-07;-4;Email
b;2024-01-20;40;Web
c;2024-02-10;5;Email
c;2024-03-03;7;Email
"""
MAPPING = ColumnMapping("client", "when", "paid", attributes=("channel",))


def keep(space: Workspace, data: bytes = CSV, **options):
    chosen = IngestOptions(today="2025-06-30", **options)
    tx = ingest(data, "shop.csv", mapping=MAPPING, options=chosen)
    entry = space.save(
        data,
        file_name="shop.csv",
        label="Shop",
        mapping=tx.mapping,
        options=tx.options,
        rows=len(tx.data),
        customers=tx.customers,
    )
    return entry, tx


def test_a_saved_dataset_reopens_as_the_same_transactions(tmp_path):
    space = Workspace(tmp_path)
    entry, tx = keep(space, returns="drop")
    again = Workspace(tmp_path).get(entry.id)  # another process, or after a restart
    assert again.mapping == MAPPING and again.options.returns == "drop" and again.customers == 3
    reopened = ingest(Workspace(tmp_path).read(entry.id), again.file_name, mapping=again.mapping, options=again.options)
    pd.testing.assert_frame_equal(reopened.data, tx.data)
    assert reopened.content_hash == tx.content_hash


def test_the_same_file_loaded_the_same_way_is_one_entry_and_other_options_another(tmp_path):
    space = Workspace(tmp_path)
    first, _ = keep(space)
    again, _ = keep(space)
    assert again.id == first.id and len(space.entries()) == 1 and again.opened_at >= first.opened_at
    dropped, _ = keep(space, returns="drop")
    assert dropped.id != first.id
    assert [e.id for e in space.entries()] == [dropped.id, first.id]  # the most recently opened first
    space.read(first.id)
    assert space.entries()[0].id == first.id
    assert len(list((tmp_path / "files").iterdir())) == 1  # one file however many ways it was loaded


def test_deleting_removes_the_entry_and_the_file_once_nothing_uses_it(tmp_path):
    space = Workspace(tmp_path)
    net, _ = keep(space)
    drop, _ = keep(space, returns="drop")
    space.delete(net.id)
    assert [e.id for e in space.entries()] == [drop.id]
    assert len(list((tmp_path / "files").iterdir())) == 1
    space.delete(drop.id)
    assert space.entries() == [] and list((tmp_path / "files").iterdir()) == []
    with pytest.raises(ClvError, match="no longer in the workspace"):
        space.read(drop.id)


def test_one_owner_never_sees_another_owners_datasets(tmp_path):
    mine, _ = keep(Workspace(tmp_path, "ann@example.com"))
    theirs = Workspace(tmp_path, "bob@example.com")
    assert theirs.entries() == []
    with pytest.raises(ClvError):
        theirs.read(mine.id)
    with pytest.raises(ClvError):
        theirs.delete(mine.id)
    assert len(Workspace(tmp_path, "ann@example.com").entries()) == 1


def test_a_file_changed_or_missing_on_disk_is_a_message_not_wrong_data(tmp_path):
    space = Workspace(tmp_path)
    entry, _ = keep(space)
    path = tmp_path / "files" / entry.content_hash
    path.write_bytes(CSV.replace(b"40", b"400"))
    with pytest.raises(ClvError, match="changed on disk"):
        space.read(entry.id)
    path.unlink()
    with pytest.raises(ClvError, match="missing"):
        space.read(entry.id)


def test_an_entry_written_by_another_version_is_skipped_and_an_unusable_folder_is_a_message(tmp_path):
    space = Workspace(tmp_path)
    entry, _ = keep(space)
    with sqlite3.connect(tmp_path / "workspace.sqlite") as db:
        db.execute("UPDATE datasets SET options = ? WHERE id = ?", ('{"returns": "refund-later"}', entry.id))
    assert space.entries() == []  # an option this version refuses: listed nowhere, never an error
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(ClvError, match="cannot be used"):
        Workspace(blocker)
