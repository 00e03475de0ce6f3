"""Microsoft's Kusto language service as the emulator's referee of KQL.

duckdb-kql, the emulator's engine, accepts queries that Log Analytics and Resource Graph refuse (a `let` named
`latest` for one: ../../../shared/kusto-language-service.md). So every query the emulator receives is first judged
by Kusto.Language, the parser and binder behind Azure Data Explorer's and Log Analytics' editors, against the
documented table schemas; a query with any error is refused as the service refuses it, and only a valid one runs
on the engine. Kusto.Language runs in one long-lived Node.js process (judge.js beside this file), installed from
the project's package-lock.json by scripts/setup.sh into node_modules/.
"""

import json
import os
import shutil
import subprocess
import threading

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "judge.js")
_PACKAGE = os.path.join(_ROOT, "node_modules", "@kusto", "language-service-next", "Kusto.Language.Bridge.js")

LOG_ANALYTICS = "loganalytics"
RESOURCE_GRAPH = "resourcegraph"


class Unavailable(RuntimeError):
    """Kusto.Language cannot run here: the emulator refuses to judge queries by a more lenient referee."""


class Verdict:
    """Kusto.Language's errors for one query: each {code, message, start, length}; `syntax` when the parser alone
    refuses it (the service's SyntaxError), else the binder does (SemanticError)."""

    def __init__(self, errors, syntax):
        self.errors, self.syntax = errors, syntax

    def __bool__(self):
        return not self.errors

    def first(self, text):
        """(message, line, column, token) of the first error, lines from 1 and columns from 0 as the services
        give them."""
        error = self.errors[0]
        start = error["start"]
        line = text.count("\n", 0, start) + 1
        column = start - (text.rfind("\n", 0, start) + 1)
        token = text[start : start + error["length"]]
        return f"{error['code']}: {error['message']}", line, column, token


class Referee:
    """One Node.js process running judge.js; requests are answered in order, one at a time."""

    def __init__(self):
        self._lock = threading.Lock()
        self._process = None
        self._ids = 0
        # Verdicts by query, schema and dialect: the same text is judged the same way, and most queries come again
        # (one cluster's history or coverage query names no cluster), while a history query takes about 0.2 s.
        self._verdicts = {}

    def judge(self, text, tables, dialect=LOG_ANALYTICS):
        """The verdict on KQL `text` over `tables` ({name: {column: Kusto type}}) in `dialect`."""
        request = {
            "query": text,
            "tables": {name: list(columns.items()) for name, columns in tables.items()},
            "dialect": dialect,
        }
        key = json.dumps(request, sort_keys=True)
        with self._lock:
            if key in self._verdicts:
                return self._verdicts[key]
            process = self._started()
            self._ids += 1
            request["id"] = self._ids
            process.stdin.write(json.dumps(request) + "\n")
            process.stdin.flush()
            line = process.stdout.readline()
        if not line:
            raise Unavailable(f"Kusto.Language's process ({_SCRIPT}) ended without an answer")
        answer = json.loads(line)
        if "failure" in answer:
            raise Unavailable(f"Kusto.Language failed on a query: {answer['failure']}")
        verdict = Verdict(answer["errors"], answer["syntax"])
        with self._lock:
            if len(self._verdicts) >= 1024:  # a bound on what a long-lived emulator keeps
                self._verdicts.clear()
            self._verdicts[key] = verdict
        return verdict

    def _started(self):
        if self._process is not None and self._process.poll() is None:
            return self._process
        node = shutil.which("node")
        if node is None:
            raise Unavailable(
                "Kusto.Language needs Node.js: no 'node' on PATH (install Node.js 20, then scripts/setup.sh)"
            )
        if not os.path.exists(_PACKAGE):
            raise Unavailable(f"Kusto.Language is not installed in {os.path.dirname(_PACKAGE)}: run scripts/setup.sh")
        self._process = subprocess.Popen(  # pylint: disable=consider-using-with - lives as long as the emulator
            [node, _SCRIPT],
            cwd=_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        return self._process

    def close(self):
        with self._lock:
            if self._process is not None:
                self._process.stdin.close()
                self._process.wait(timeout=10)
                self._process = None


_REFEREE = Referee()


def judge(text, tables, dialect=LOG_ANALYTICS):
    """The process-wide referee's verdict (see `Referee.judge`)."""
    return _REFEREE.judge(text, tables, dialect)
