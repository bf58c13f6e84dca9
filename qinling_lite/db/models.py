"""SQLAlchemy models; the migrations in ``migrations/`` must produce exactly this schema."""

import datetime
import json
from typing import Any

import sqlalchemy as sa
from oslo_db.sqlalchemy import models as oslo_models
from oslo_utils import timeutils, uuidutils
from sqlalchemy import orm
from sqlalchemy.dialects import mysql

from qinling_lite import status

# MySQL's TEXT holds 64 KiB; inputs (up to the webhook body limit) and logs need more.
LongText = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")
# MySQL's DATETIME drops fractions of a second, which lists are ordered by.
Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


class JsonEncoded(sa.TypeDecorator):
    """A JSON value stored as text, portable across SQLite, MySQL and PostgreSQL."""

    impl = LongText
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else json.dumps(value)

    def process_result_value(self, value, dialect):
        return None if value is None else json.loads(value)


class Base(orm.DeclarativeBase, oslo_models.ModelBase):
    """Columns every resource has: a UUID id, its project and timestamps."""

    id: orm.Mapped[str] = orm.mapped_column(
        sa.String(36), primary_key=True, default=uuidutils.generate_uuid
    )
    project_id: orm.Mapped[str] = orm.mapped_column(sa.String(80), nullable=False)
    created_at: orm.Mapped[datetime.datetime | None] = orm.mapped_column(
        Timestamp, default=timeutils.utcnow
    )
    updated_at: orm.Mapped[datetime.datetime | None] = orm.mapped_column(
        Timestamp, onupdate=timeutils.utcnow
    )

    def to_dict(self):
        return {c.key: getattr(self, c.key) for c in sa.inspect(self).mapper.column_attrs}


class Runtime(Base):
    __tablename__ = "runtimes"

    name: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))
    description: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))
    image: orm.Mapped[str] = orm.mapped_column(sa.String(255), nullable=False)
    status: orm.Mapped[str] = orm.mapped_column(
        sa.String(32), nullable=False, default=status.CREATING
    )
    status_reason: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    is_public: orm.Mapped[bool] = orm.mapped_column(sa.Boolean, nullable=False, default=True)
    trusted: orm.Mapped[bool] = orm.mapped_column(sa.Boolean, nullable=False, default=True)


class Function(Base):
    __tablename__ = "functions"

    name: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))
    description: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))
    # None for an image function, which runs in a pod of its own.
    runtime_id: orm.Mapped[str | None] = orm.mapped_column(
        sa.String(36), sa.ForeignKey("runtimes.id"), index=True
    )
    code: orm.Mapped[dict[str, Any]] = orm.mapped_column(JsonEncoded, nullable=False)
    entry: orm.Mapped[str | None] = orm.mapped_column(sa.String(80))
    cpu: orm.Mapped[int] = orm.mapped_column(sa.Integer, nullable=False)
    memory_size: orm.Mapped[int] = orm.mapped_column(sa.BigInteger, nullable=False)
    timeout: orm.Mapped[int] = orm.mapped_column(sa.Integer, nullable=False)
    count: orm.Mapped[int] = orm.mapped_column(sa.Integer, nullable=False, default=0)
    latest_version: orm.Mapped[int] = orm.mapped_column(sa.Integer, nullable=False, default=0)
    trust_id: orm.Mapped[str | None] = orm.mapped_column(sa.String(80))
    # Retries of its failed asynchronous executions (None: [execution]
    # default_retry_attempts), the outcomes that retry ("failed,timeout,error", the
    # default when None) and the function that receives the last failure.
    retry_attempts: orm.Mapped[int | None] = orm.mapped_column(sa.Integer)
    retry_on: orm.Mapped[str | None] = orm.mapped_column(sa.String(64))
    dead_letter_function_id: orm.Mapped[str | None] = orm.mapped_column(sa.String(36), index=True)

    runtime: orm.Mapped[Runtime | None] = orm.relationship(Runtime, lazy="joined")


class FunctionVersion(Base):
    """A snapshot of a function's package, numbered from 1."""

    __tablename__ = "function_versions"
    __table_args__ = (
        sa.UniqueConstraint(
            "function_id", "version_number", name="function_versions_function_id_number_key"
        ),
    )

    function_id: orm.Mapped[str] = orm.mapped_column(
        sa.String(36), sa.ForeignKey("functions.id", ondelete="CASCADE"), nullable=False
    )
    version_number: orm.Mapped[int] = orm.mapped_column(sa.Integer, nullable=False)
    description: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))
    count: orm.Mapped[int] = orm.mapped_column(sa.Integer, nullable=False, default=0)
    package_md5: orm.Mapped[str] = orm.mapped_column(sa.String(32), nullable=False)


class FunctionAlias(Base):
    """A project's name for a function version."""

    __tablename__ = "function_aliases"
    __table_args__ = (
        sa.UniqueConstraint("project_id", "name", name="function_aliases_project_id_name_key"),
    )

    name: orm.Mapped[str] = orm.mapped_column(sa.String(255), nullable=False)
    function_id: orm.Mapped[str] = orm.mapped_column(
        sa.String(36), sa.ForeignKey("functions.id"), nullable=False, index=True
    )
    function_version: orm.Mapped[int] = orm.mapped_column(sa.Integer, nullable=False, default=0)
    description: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))


class Job(Base):
    """Runs a function on a cron pattern or once, ``count`` times (None: unlimited)."""

    __tablename__ = "jobs"
    __table_args__ = (
        sa.Index("jobs_status_next_execution_time_idx", "status", "next_execution_time"),
    )

    name: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))
    function_id: orm.Mapped[str | None] = orm.mapped_column(
        sa.String(36), sa.ForeignKey("functions.id"), index=True
    )
    function_alias: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))
    function_version: orm.Mapped[int] = orm.mapped_column(sa.Integer, nullable=False, default=0)
    function_input: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    status: orm.Mapped[str] = orm.mapped_column(sa.String(32), nullable=False)
    pattern: orm.Mapped[str | None] = orm.mapped_column(sa.String(32))
    count: orm.Mapped[int | None] = orm.mapped_column(sa.Integer)
    first_execution_time: orm.Mapped[datetime.datetime | None] = orm.mapped_column(Timestamp)
    next_execution_time: orm.Mapped[datetime.datetime] = orm.mapped_column(
        Timestamp, nullable=False
    )


class Execution(Base):
    __tablename__ = "executions"
    __table_args__ = (
        sa.Index("executions_project_id_created_at_idx", "project_id", "created_at"),
        sa.Index("executions_status_created_at_idx", "status", "created_at"),
        sa.Index("executions_status_lease_expires_at_idx", "status", "lease_expires_at"),
        sa.Index("executions_status_not_before_idx", "status", "not_before"),
        # Admission counts a function's pending executions (its backlog) on this index.
        sa.Index("executions_function_id_status_idx", "function_id", "status"),
    )

    function_id: orm.Mapped[str] = orm.mapped_column(sa.String(36), nullable=False, index=True)
    function_version: orm.Mapped[int] = orm.mapped_column(sa.Integer, nullable=False, default=0)
    function_alias: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))
    description: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))
    sync: orm.Mapped[bool] = orm.mapped_column(sa.Boolean, nullable=False, default=True)
    input: orm.Mapped[Any | None] = orm.mapped_column(JsonEncoded)
    status: orm.Mapped[str] = orm.mapped_column(
        sa.String(32), nullable=False, default=status.PENDING
    )
    result: orm.Mapped[Any | None] = orm.mapped_column(JsonEncoded)
    logs: orm.Mapped[str | None] = orm.mapped_column(LongText)
    # The engine running it holds a lease it renews; when the lease runs out (the
    # engine died) another engine takes the execution over.
    engine_id: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))
    lease_expires_at: orm.Mapped[datetime.datetime | None] = orm.mapped_column(Timestamp)
    # Claims of this row (an attempt that found no worker is claimed again), not retries.
    attempts: orm.Mapped[int] = orm.mapped_column(
        sa.Integer, nullable=False, default=0, server_default="0"
    )
    # A retry is a row of its own: the execution it retries (one retry each, which the
    # unique index guards), its number (0: the first run), and the time before which no
    # engine claims it (its backoff).
    retry_of: orm.Mapped[str | None] = orm.mapped_column(sa.String(36), index=True, unique=True)
    retry_attempt: orm.Mapped[int] = orm.mapped_column(
        sa.Integer, nullable=False, default=0, server_default="0"
    )
    not_before: orm.Mapped[datetime.datetime | None] = orm.mapped_column(Timestamp)
    # The failed execution a dead-letter execution, and each retry of it, reports; they
    # never dead-letter themselves.
    dead_letter_of: orm.Mapped[str | None] = orm.mapped_column(sa.String(36), index=True)


class Webhook(Base):
    __tablename__ = "webhooks"

    # How invocations authenticate: "none" (the URL is the secret), "token" or "hmac".
    auth: orm.Mapped[str] = orm.mapped_column(
        sa.String(16), nullable=False, default="none", server_default="none"
    )
    # The method's key: the HMAC key of "hmac" webhooks.
    secret: orm.Mapped[str | None] = orm.mapped_column(sa.String(64))
    # Invocations per minute (None: unlimited), counted in rate_window, a minute number.
    rate_limit: orm.Mapped[int | None] = orm.mapped_column(sa.Integer)
    rate_window: orm.Mapped[int | None] = orm.mapped_column(sa.BigInteger)
    rate_count: orm.Mapped[int] = orm.mapped_column(
        sa.Integer, nullable=False, default=0, server_default="0"
    )
    # Whether an invocation waits for the function and answers its output (else 202).
    sync: orm.Mapped[bool] = orm.mapped_column(
        sa.Boolean, nullable=False, default=False, server_default="0"
    )
    # {argument name: JSON Pointer or "trait:NAME"} picking the input from the body
    # (services/input_templates.py); None: the body is the input.
    input_template: orm.Mapped[dict[str, str] | None] = orm.mapped_column(JsonEncoded)

    function_id: orm.Mapped[str | None] = orm.mapped_column(
        sa.String(36), sa.ForeignKey("functions.id"), index=True
    )
    function_version: orm.Mapped[int | None] = orm.mapped_column(sa.Integer)
    function_alias: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))
    description: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))
