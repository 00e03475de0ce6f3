"""KQL on a real engine, for the services that answer it: Log Analytics and Resource Graph.

The engine is duckdb-kql: KQL translated to DuckDB SQL, its parser generated from the official Kusto grammar
(../shared/container-insights.md §5, where it ran the AKS article's own query). A `Database` holds a service's
tables; each query runs over a copy of the rows in its scope (a workspace, a resource, the caller's
subscriptions, a timespan), in a database of its own, because the engine reads table names and columns from the
current database, the way a query sees only the tables of its scope. Before the engine runs a query, Microsoft's
Kusto language service judges it against the service's tables (armemulator/kustolanguage): the engine accepts
queries the services refuse. What either refuses is a KqlError, which each service words as it does.
"""

import datetime
import itertools
import json
import os
import re
import tempfile
import threading

from armemulator import kustolanguage

# DuckDB's types, as the services name them in an answer's columns (the Kusto scalar types).
KUSTO_TYPES = {
    "VARCHAR": "string",
    "BIGINT": "long",
    "HUGEINT": "long",
    "INTEGER": "int",
    "DOUBLE": "real",
    "FLOAT": "real",
    "BOOLEAN": "bool",
    "TIMESTAMP": "datetime",
    "TIMESTAMP WITH TIME ZONE": "datetime",
    "JSON": "dynamic",
    "INTERVAL": "timespan",
    "UUID": "guid",
}
_DUCK_TYPES = {"string": "VARCHAR", "long": "BIGINT", "int": "INTEGER", "real": "DOUBLE", "bool": "BOOLEAN",
               "datetime": "TIMESTAMP", "dynamic": "JSON", "guid": "VARCHAR"}  # fmt: skip


class KqlError(Exception):
    """A query the service refuses or the engine cannot run: its text, where the problem is when the parser knows,
    and whether the parser refused it ("SyntaxError") or the binder did ("SemanticError")."""

    def __init__(self, message, line=1, column=0, token="", kind="SyntaxError"):
        super().__init__(message)
        self.line, self.column, self.token, self.kind = line, column, token, kind


class Result:
    """An answer: columns as [(name, Kusto type)] and rows as lists, datetimes as ISO 8601 text."""

    def __init__(self, columns, rows):
        self.columns, self.rows = columns, rows

    def objects(self):
        """The rows as objects, dynamic values parsed (Resource Graph's objectArray)."""
        dynamic = [kind == "dynamic" for _, kind in self.columns]
        names = [name for name, _ in self.columns]
        return [
            {
                name: (json.loads(value) if is_dynamic and isinstance(value, str) else value)
                for name, value, is_dynamic in zip(names, row, dynamic, strict=True)
            }
            for row in self.rows
        ]


class Database:
    """Tables of one service, with rows added as they come and queried in scopes. Thread-safe."""

    def __init__(self, tables, hidden=(), dialect=kustolanguage.LOG_ANALYTICS):
        """`tables`: {name: [(column, Kusto type)]}; `hidden`: columns the service keeps but queries do not see;
        `dialect`: the service whose rules Kusto.Language applies (Resource Graph's operator subset, for one)."""
        import duckdb_kql

        self.tables, self.hidden, self.dialect = tables, tuple(hidden), dialect
        self._con = duckdb_kql.connect()
        # Kusto's make_list keeps the order of sorted input ("If the input to the summarize operator is sorted, the
        # order of elements in the resulting array tracks that of the input": the make_list() reference). DuckDB's
        # list() keeps its input's order on one thread and not on more (tests/unit/test_kusto.py checks it).
        self._con.execute("SET threads = 1")
        self._con.execute("SET TimeZone='UTC'")  # as duckdb_kql.query sets it before each query; once is enough
        self._lock = threading.Lock()
        self._pending = {name: [] for name in tables}
        self._scopes = itertools.count()
        for name, columns in tables.items():
            self._con.execute(f"CREATE TABLE {name} ({', '.join(f'{c} {_DUCK_TYPES[t]}' for c, t in columns)})")

    def add(self, table, rows):
        """Rows as dicts (datetimes as `datetime`, dynamic values as Python objects); loaded at the next query."""
        with self._lock:
            self._pending[table].extend(rows)

    def flush(self):
        """Load the rows added so far now, not at the next query."""
        with self._lock:
            self._load()

    def query(self, text, where=None, parameters=()):
        """Run KQL `text` over the rows that satisfy the SQL condition `where` (with `parameters`) in each table.

        The scope is a schema of views over the tables (filtered, the hidden columns left out), not a copy: a
        workspace of a large fleet holds millions of rows, and DuckDB pushes the filter into its scan. Queries run
        at once, each on a connection of its own (one thread each: `__init__`), as the service runs several of a
        user's queries at once."""
        import duckdb_kql

        verdict = kustolanguage.judge(text, self.tables_schema(), self.dialect)
        if not verdict:
            message, line, column, token = verdict.first(text)
            raise KqlError(message, line, column, token, "SyntaxError" if verdict.syntax else "SemanticError")
        with self._lock:
            self._load()
            scope = f"scope{next(self._scopes)}"
            con = self._con.cursor()
        try:
            con.execute("SET TimeZone='UTC'")
            con.execute(f"CREATE SCHEMA {scope}")
            condition = f" WHERE {_inline(where, parameters)}" if where else ""
            for name, columns in self.tables.items():
                hidden = [c for c, _ in columns if c in self.hidden]
                select = f"* EXCLUDE ({', '.join(hidden)})" if hidden else "*"
                con.execute(f"CREATE VIEW {scope}.{name} AS SELECT {select} FROM main.{name}{condition}")
            con.execute(f"USE memory.{scope}")
            try:
                relation = _dynamic_as_json_text(self._run(con, text))
                names, types = relation.columns, relation.types
                columns = [(n, KUSTO_TYPES.get(str(t), "string")) for n, t in zip(names, types, strict=True)]
                rows = [[_plain(v) for v in row] for row in relation.fetchall()]
            except duckdb_kql.KqlError as ex:
                raise _kql_error(ex) from ex
            except Exception as ex:  # DuckDB refused what the translation made of it
                raise KqlError(str(ex).splitlines()[0]) from ex
        finally:
            con.execute("USE memory.main")
            con.execute(f"DROP SCHEMA {scope} CASCADE")
            con.close()
        return Result(columns, rows)

    def _run(self, con, text):
        """The relation of KQL `text` on the current scope. The services parse each query anew; here the parser is
        Python (antlr) and costs a fleet's queries more than running them, while they differ only in their lists
        of clusters. So leading `let NAME = dynamic([...]);` lists are bound as declared query parameters (what
        KQL's `declare query_parameters` does), and the translation of the rest is kept for the next query."""
        import duckdb_kql
        from duckdb_kql.params import bind

        lifted, values = _lift_literal_lists(text)
        schema = self.tables_schema()
        key = (lifted, json.dumps(schema, sort_keys=True))
        with self._lock:
            translated = _TRANSLATIONS.get(key)
        if translated is None:
            translated = duckdb_kql.to_sql(lifted, schema=schema)
            with self._lock:
                if len(_TRANSLATIONS) >= 256:  # a bound on what a long-lived emulator keeps
                    _TRANSLATIONS.clear()
                _TRANSLATIONS[key] = translated
        bound, unbound = bind(list(translated.declarations), values)
        bound = {slot: value for slot, value in bound.items() if slot in translated.slots}  # a list never used
        if unbound:
            raise KqlError(f"no value for the query parameters {', '.join(unbound)}")
        return con.sql(str(translated), params=bound) if bound else con.sql(str(translated))

    def tables_schema(self):
        """{table: {column: Kusto type}} as queries see them (without the hidden columns)."""
        return {name: {c: t for c, t in columns if c not in self.hidden} for name, columns in self.tables.items()}

    def _load(self):
        """The rows added since the last query, loaded in one statement per table (DuckDB's JSON reader, which
        loads many rows far faster than inserting them one by one)."""
        for name, rows in self._pending.items():
            if rows:
                self._read_rows(f"main.{name}", self.tables[name], rows)
                rows.clear()

    def _read_rows(self, target, columns, rows):
        with tempfile.NamedTemporaryFile("w", suffix=".ndjson", delete=False, encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps({c: _json_value(row.get(c)) for c, _ in columns}) + "\n")
        spec = ", ".join(f"'{c}': '{_DUCK_TYPES[t]}'" for c, t in columns)
        try:
            self._con.execute(
                f"INSERT INTO {target} SELECT * FROM read_json(?, format='newline_delimited', columns={{{spec}}})",
                [f.name],
            )
        finally:
            os.unlink(f.name)

    def sql(self, statement):
        """The rows of a SQL statement over the tables (for the emulator's own figures, not a service's answer)."""
        with self._lock:
            return self._con.execute(statement).fetchall()

    def register(self, name, columns, rows):
        """A temporary table of `rows` (dicts; `columns` as [(column, Kusto type)]) for `insert_select` to read."""
        with self._lock:
            self._con.execute(
                f"CREATE OR REPLACE TEMP TABLE {name} ({', '.join(f'{c} {_DUCK_TYPES[t]}' for c, t in columns)})"
            )
            if rows:
                self._read_rows(name, columns, rows)

    def insert_select(self, table, select):
        """Rows that a SQL SELECT makes (over the temporary tables `register` made), in bulk."""
        with self._lock:
            self._load()
            self._con.execute(f"INSERT INTO main.{table} BY NAME {select}")


# KQL text (its literal lists lifted) and schema -> translation (`Database._run`), for every database of the process:
# each workspace's and each Resource Graph query's.
_TRANSLATIONS = {}
_LEADING_LIST = re.compile(r"\s*let\s+([A-Za-z_][A-Za-z0-9_]*)\s*=\s*dynamic\(\s*(?=\[)")
_LIST_END = re.compile(r"\s*\)\s*;")


def _lift_literal_lists(text):
    """(`text` with its leading `let NAME = dynamic([...]);` lists of strings declared as query parameters
    instead, {NAME: list}). A list written other than as JSON text is left in the text."""
    decoder = json.JSONDecoder()
    values, position = {}, 0
    while True:
        match = _LEADING_LIST.match(text, position)
        if not match:
            break
        try:
            value, end = decoder.raw_decode(text, match.end())
        except ValueError:
            break
        close = _LIST_END.match(text, end)
        if not close or not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            break
        values[match.group(1)] = value
        position = close.end()
    if not values:
        return text, {}
    declared = ", ".join(f"{name}:dynamic" for name in values)
    return f"declare query_parameters({declared});\n{text[position:].lstrip()}", values


def _inline(where, parameters):
    """`where` with its `?` parameters written in as SQL literals (a view takes none)."""
    values = iter(parameters)
    return re.sub(r"\?", lambda _: _literal(next(values)), where)


def _literal(value):
    if isinstance(value, datetime.datetime):
        return f"TIMESTAMP '{value.strftime('%Y-%m-%d %H:%M:%S.%f')}'"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _dynamic_as_json_text(relation):
    """The relation with its lists, structs and maps (make_list, pack_array, bag_pack) as JSON text: what the
    services answer for a dynamic value (a JSON column already is), and what DuckDB's to_json makes of them, JSON
    elements kept as JSON."""
    nested = [str(t).endswith("]") or str(t).startswith(("STRUCT", "MAP")) for t in relation.types]
    if not any(nested):
        return relation
    quoted = [f'"{name}"' for name in relation.columns]
    return relation.project(
        ", ".join(f"to_json({q})::JSON AS {q}" if is_nested else q for q, is_nested in zip(quoted, nested, strict=True))
    )


def _json_value(value):
    """A row's value as the newline-delimited JSON that `_load` reads: datetimes as text; dynamic values stay
    objects, which the JSON column type reads back as they are."""
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.%f")
    return value


def _plain(value):
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return value


def _kql_error(ex):
    diagnostics = getattr(ex, "diagnostics", None) or []
    span = getattr(ex, "span", None) or (diagnostics[0].span if diagnostics else None)
    message = diagnostics[0].message if diagnostics else str(ex)
    return KqlError(message, getattr(span, "line", 1), getattr(span, "column", 0))


def run(text, tables, rows, dialect=kustolanguage.LOG_ANALYTICS):
    """Run `text` once over `rows` ({table: [row dicts]}) of `tables`: for services whose data is small and
    built per query (Resource Graph's view of the clusters)."""
    database = Database(tables, dialect=dialect)
    for name, items in rows.items():
        database.add(name, items)
    return database.query(text)
