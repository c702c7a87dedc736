"""Statements compiled once for each dialect and run straight on the DBAPI cursor: for the few that every change
runs (a note's rows, its outbox event, its audit entry), where SQLAlchemy's work per execution costs more than the
database's."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Connection, exc, literal_column
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement, visitors
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter

Processor = Callable[[Any], Any] | None


class Statement:
    """A Core statement compiled once for each dialect and run straight on the DBAPI cursor of a connection, inside
    its transaction.

    For the statements every post runs (its rows, its outbox event, its audit entry): SQLAlchemy's work for each
    execution (cache key, execution context, result object) costs several times what the database does, about
    45 us a statement on SQLite. Values still go through each column type's bind processor and results through its
    result processor, and errors come out as SQLAlchemy's exceptions; what is skipped is engine events (so
    `before_cursor_execute` does not see these) and echo. Plain bound values only: an IN list is refused.

    A value written into the statement (`status == "active"`) is written into its SQL, not bound: SQLite prepares
    a statement again on every run when a bound value may decide whether a partial index applies (45 us here).
    """

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: dict[tuple[str, str, object], _Compiled] = {}

    def rows(self, connection: Connection, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """Run it and return its rows (a SELECT, or a statement with RETURNING)."""
        compiled = self._for(connection.dialect)
        cursor = connection.connection.cursor()
        try:
            compiled.execute(cursor, connection.dialect, [compiled.values(params or {})])
            found = cursor.fetchall()
        finally:
            cursor.close()
        processors = compiled.results
        if not any(processors):
            return [tuple(row) for row in found]
        return [tuple(p(v) if p else v for p, v in zip(processors, row, strict=True)) for row in found]

    def run(self, connection: Connection, params: Mapping[str, Any] | None = None) -> int:
        """Run it and return how many rows it touched."""
        compiled = self._for(connection.dialect)
        cursor = connection.connection.cursor()
        try:
            compiled.execute(cursor, connection.dialect, [compiled.values(params or {})])
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def run_many(self, connection: Connection, many: Sequence[Mapping[str, Any]]) -> None:
        """Run it once for each set of values (an INSERT of several rows)."""
        if not many:
            return
        compiled = self._for(connection.dialect)
        cursor = connection.connection.cursor()
        try:
            compiled.execute(cursor, connection.dialect, [compiled.values(p) for p in many])
        finally:
            cursor.close()

    def _for(self, dialect: Dialect) -> _Compiled:
        key = (dialect.name, dialect.driver, dialect.server_version_info)
        found = self._compiled.get(key)
        if found is None:
            found = self._compiled[key] = _Compiled(self.statement, dialect)
        return found


class _Compiled:
    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = _inline_constants(statement, dialect).compile(dialect=dialect)
        if not isinstance(compiled, SQLCompiler):
            raise TypeError("Statement takes a SELECT, INSERT, UPDATE or DELETE")
        if compiled.escaped_bind_names:
            raise ValueError("Statement takes bind names that need no quoting")
        self.sql = compiled.string
        self.positional = compiled.positional
        by_name = {name: bind for bind, name in compiled.bind_names.items()}
        names = list(compiled.positiontup or ()) if compiled.positional else list(by_name)
        # (name it is rendered as, key the caller gives, fixed value or None, bind processor)
        self.binds: list[tuple[str, str | None, Any, Processor]] = []
        for name in names:
            bind = by_name[name]
            if bind.expanding or bind.literal_execute:
                raise ValueError(f"Statement cannot run {name!r}: an IN list or a literal is compiled per call")
            caller_key = bind.key if bind.required else None  # else a value written into the statement
            fixed = None if bind.required else bind.effective_value
            self.binds.append((name, caller_key, fixed, bind.type.dialect_impl(dialect).bind_processor(dialect)))
        columns = getattr(statement, "exported_columns", ())
        self.results: list[Processor] = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns]

    def values(self, params: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        out = []
        for name, key, fixed, processor in self.binds:
            if key is None:
                value = fixed
            elif key in params:
                value = params[key]
            else:
                raise exc.ArgumentError(f"Statement needs a value for {name!r}")
            out.append(processor(value) if processor is not None else value)
        if self.positional:
            return tuple(out)
        return {name: value for (name, *_), value in zip(self.binds, out, strict=True)}

    def execute(self, cursor: Any, dialect: Dialect, values: list[tuple[Any, ...] | dict[str, Any]]) -> None:
        try:
            if len(values) == 1:
                cursor.execute(self.sql, values[0])
            else:
                cursor.executemany(self.sql, values)
        except dialect.loaded_dbapi.Error as error:
            raise exc.DBAPIError.instance(self.sql, values, error, dialect.loaded_dbapi.Error) from error


def _inline_constants(statement: ClauseElement, dialect: Dialect) -> ClauseElement:
    """The statement with each value it was written with (not the caller's) as a literal of this dialect."""

    def literal(element: Any, **_: Any) -> Any:
        if not isinstance(element, BindParameter) or element.required or element.expanding:
            return None
        render = element.type.dialect_impl(dialect).literal_processor(dialect)
        if render is None:
            return None  # dates and the like stay bound
        return literal_column(render(element.effective_value), type_=element.type)

    traversible = cast(visitors.ExternallyTraversible, statement)
    return cast(ClauseElement, visitors.replacement_traverse(traversible, {}, literal))
