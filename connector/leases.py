"""Named leases in the database, so several workers share periodic jobs without doing them twice."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from connector.store.tables import Lease


def acquire(session: Session, name: str, owner: str, now: datetime, seconds: float) -> bool:
    """Take or renew the lease ``name`` for ``owner`` unless another owner holds an unexpired one."""
    until = now + timedelta(seconds=seconds)
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    inserted = session.execute(
        insert(Lease)
        .values(name=name, owner=owner, until=until)
        .on_conflict_do_nothing(index_elements=["name"])
        .returning(Lease.name)
    ).scalar()
    if inserted is not None:
        return True
    taken = session.execute(
        update(Lease)
        .where(Lease.name == name, or_(Lease.owner == owner, Lease.until < now))
        .values(owner=owner, until=until)
    )
    return bool(getattr(taken, "rowcount", 0))


def release(session: Session, name: str, owner: str) -> None:
    session.execute(delete(Lease).where(Lease.name == name, Lease.owner == owner))
