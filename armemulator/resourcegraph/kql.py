"""The subset of KQL that `az graph query` users write to find clusters and their settings, evaluated over rows.

Tabular operators: `where`, `project`, `extend`, `order by`/`sort by` (descending unless `asc`, as in KQL),
`take`/`limit`. Expressions: `==`, `!=`, `=~`, `!~`, `in`, `!in`, `<`, `<=`, `>`, `>=`, `and`, `or`, `not()`,
`isnull`/`isnotnull`/`isempty`/`isnotempty`, `tobool`/`toint`/`tostring`/`tolower`, property paths
(`properties.securityProfile.imageCleaner.enabled`, `a['b']`, `a[0]`), strings, numbers, true/false/null.
As in KQL, a comparison with null is null, and `where` keeps only rows where the condition is true. Anything
else raises KqlError, which the endpoint answers as Resource Graph answers a query it cannot parse.
"""

import re

TABLE = "resources"


class KqlError(Exception):
    def __init__(self, message, position=0, token=""):
        super().__init__(message)
        self.position, self.token = position, token


_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")|(?P<number>\d+(?:\.\d+)?)"
    r"|(?P<op>==|!=|=~|!~|<=|>=|!in\b|[|(),.=<>\[\]])|(?P<name>[A-Za-z_][A-Za-z0-9_]*))"
)


def tokenize(text):
    tokens, position = [], 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise KqlError("unexpected character", position, text[position : position + 1])
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "string":
            value = bytes(value[1:-1], "utf-8").decode("unicode_escape")
        elif kind == "number":
            value = float(value) if "." in value else int(value)
        tokens.append((kind, value, match.start(kind)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text):
        self.tokens, self.i = tokenize(text), 0

    def peek(self, offset=0):
        index = self.i + offset
        return self.tokens[index] if index < len(self.tokens) else ("end", None, -1)

    def take(self, kind=None, value=None):
        token = self.peek()
        if (kind and token[0] != kind) or (value is not None and str(token[1]).lower() != value):
            raise KqlError(f"expected {value or kind}", token[2], str(token[1]))
        self.i += 1
        return token

    def at(self, kind, value=None):
        token = self.peek()
        return token[0] == kind and (value is None or str(token[1]).lower() == value)

    # query := table ('|' operator)*
    def query(self):
        if not self.at("name", TABLE):
            token = self.peek()
            raise KqlError("only the Resources table is served", token[2], str(token[1]))
        self.take()
        operators = []
        while self.at("op", "|"):
            self.take()
            operators.append(self.operator())
        if self.peek()[0] != "end":
            token = self.peek()
            raise KqlError("unexpected token", token[2], str(token[1]))
        return operators

    def operator(self):
        token = self.take("name")
        word = token[1].lower()
        if word == "where":
            return ("where", self.expression())
        if word in ("project", "extend"):
            columns = [self.column()]
            while self.at("op", ","):
                self.take()
                columns.append(self.column())
            return (word, columns)
        if word in ("order", "sort"):
            self.take("name", "by")
            keys = [self.sort_key()]
            while self.at("op", ","):
                self.take()
                keys.append(self.sort_key())
            return ("order", keys)
        if word in ("take", "limit"):
            return ("take", self.take("number")[1])
        raise KqlError(f"operator '{token[1]}' is not supported", token[2], token[1])

    def column(self):
        if self.at("name") and self.peek(1)[0] == "op" and self.peek(1)[1] == "=":
            name = self.take("name")[1]
            self.take("op", "=")
            return name, self.expression()
        expression = self.expression()
        if expression[0] != "path":
            raise KqlError("a computed column needs a name (name = expression)", self.peek()[2], "")
        return expression[1][-1], expression

    def sort_key(self):
        expression = self.expression()
        descending = True  # KQL sorts descending unless told otherwise
        if self.at("name", "asc") or self.at("name", "desc"):
            descending = self.take()[1].lower() == "desc"
        return expression, descending

    # expression := and ('or' and)*
    def expression(self):
        left = self.conjunction()
        while self.at("name", "or"):
            self.take()
            left = ("or", left, self.conjunction())
        return left

    def conjunction(self):
        left = self.comparison()
        while self.at("name", "and"):
            self.take()
            left = ("and", left, self.comparison())
        return left

    def comparison(self):
        left = self.primary()
        token = self.peek()
        if token[0] == "op" and token[1] in ("==", "!=", "=~", "!~", "<", "<=", ">", ">="):
            self.take()
            return ("cmp", token[1], left, self.primary())
        if (token[0] == "name" and token[1].lower() == "in") or (token[0] == "op" and token[1] == "!in"):
            self.take()
            self.take("op", "(")
            values = [self.primary()]
            while self.at("op", ","):
                self.take()
                values.append(self.primary())
            self.take("op", ")")
            return ("in", token[1].lower() == "in", left, values)
        return left

    def primary(self):
        kind, value, position = self.peek()
        if kind == "op" and value == "(":
            self.take()
            inner = self.expression()
            self.take("op", ")")
            return inner
        if kind in ("string", "number"):
            self.take()
            return ("literal", value)
        if kind == "name" and value.lower() in ("true", "false", "null"):
            self.take()
            return ("literal", {"true": True, "false": False, "null": None}[value.lower()])
        if kind == "name" and self.peek(1)[:2] == ("op", "("):
            if value.lower() not in _FUNCTIONS:
                raise KqlError(f"function '{value}' is not supported", position, value)
            self.take()
            self.take("op", "(")
            argument = self.expression()
            self.take("op", ")")
            return ("call", value.lower(), argument)
        if kind == "name":
            return self.path()
        raise KqlError("unexpected token", position, str(value))

    def path(self):
        steps = [self.take("name")[1]]
        while self.at("op", ".") or self.at("op", "["):
            if self.take()[1] == ".":
                steps.append(self.take("name")[1])
            else:
                kind, value, position = self.take()
                if kind not in ("string", "number"):
                    raise KqlError("expected an index", position, str(value))
                steps.append(value)
                self.take("op", "]")
        return ("path", steps)


def _to_bool(value):
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str):
        return {"true": True, "false": False}.get(value.strip().lower())
    if isinstance(value, (int, float)):
        return value != 0
    return None


def _to_int(value):
    if isinstance(value, bool):
        return int(value)
    try:
        return int(float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


_FUNCTIONS = {
    "isnull": lambda v: v is None,
    "isnotnull": lambda v: v is not None,
    "isempty": lambda v: v is None or v == "",
    "isnotempty": lambda v: v is not None and v != "",
    "tobool": _to_bool,
    "toboolean": _to_bool,
    "toint": _to_int,
    "tolong": _to_int,
    "tostring": lambda v: (
        None if v is None else (v if isinstance(v, str) else str(v).lower() if isinstance(v, bool) else str(v))
    ),
    "tolower": lambda v: v.lower() if isinstance(v, str) else v,
    "not": lambda v: None if v is None else not v,
}


def _lookup(row, steps):
    value = row
    for index, step in enumerate(steps):
        if isinstance(value, dict):
            # Column names and property names are case-sensitive in KQL, except the first step's column.
            key = step if step in value or index else next((k for k in value if k.lower() == str(step).lower()), step)
            value = value.get(key)
        elif isinstance(value, list) and isinstance(step, int):
            value = value[step] if -len(value) <= step < len(value) else None
        else:
            return None
    return value


def evaluate(node, row):  # noqa: PLR0911 - one answer per kind of node
    kind = node[0]
    if kind == "literal":
        return node[1]
    if kind == "path":
        return _lookup(row, node[1])
    if kind == "call":
        return _FUNCTIONS[node[1]](evaluate(node[2], row))
    if kind == "and":
        left, right = evaluate(node[1], row), evaluate(node[2], row)
        return False if left is False or right is False else (None if left is None or right is None else True)
    if kind == "or":
        left, right = evaluate(node[1], row), evaluate(node[2], row)
        return True if left is True or right is True else (None if left is None or right is None else False)
    if kind == "in":
        value = evaluate(node[2], row)
        if value is None:
            return None
        found = value in [evaluate(v, row) for v in node[3]]
        return found if node[1] else not found
    _, op, left_node, right_node = node
    left, right = evaluate(left_node, row), evaluate(right_node, row)
    if left is None or right is None:
        return None
    if op in ("=~", "!~"):
        equal = str(left).lower() == str(right).lower()
        return equal if op == "=~" else not equal
    if op in ("==", "!="):
        if isinstance(left, bool) != isinstance(right, bool):
            return None  # KQL does not compare bool with other types; tobool() first
        return (left == right) if op == "==" else (left != right)
    try:
        return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]
    except TypeError:
        return None


def parse(text):
    return _Parser(text).query()


def run(text, rows):
    """The rows `text` gives from `rows` (dicts shaped as Resource Graph's Resources table)."""
    for operator in parse(text):
        kind = operator[0]
        if kind == "where":
            rows = [r for r in rows if evaluate(operator[1], r) is True]
        elif kind == "project":
            rows = [{name: evaluate(expression, r) for name, expression in operator[1]} for r in rows]
        elif kind == "extend":
            rows = [dict(r, **{name: evaluate(expression, r) for name, expression in operator[1]}) for r in rows]
        elif kind == "order":
            for expression, descending in reversed(operator[1]):
                present = [r for r in rows if evaluate(expression, r) is not None]
                missing = [r for r in rows if evaluate(expression, r) is None]
                present.sort(key=lambda r, e=expression: _sort_value(evaluate(e, r)), reverse=descending)
                rows = present + missing  # nulls last either way
        elif kind == "take":
            rows = rows[: operator[1]]
    return rows


def _sort_value(value):
    return (0, value) if isinstance(value, (int, float)) and not isinstance(value, bool) else (1, str(value))
