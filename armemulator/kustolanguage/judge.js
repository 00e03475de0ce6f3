// Microsoft's Kusto language service (Kusto.Language, npm @kusto/language-service-next) judging the queries the
// emulator's Log Analytics and Resource Graph endpoints receive, before their engine runs them
// (../../../shared/kusto-language-service.md). One long-lived process: a JSON request a line on stdin, a JSON answer
// a line on stdout.
//   request:  {"id", "query", "tables": {name: [[column, type], ...]}, "dialect": "loganalytics"|"resourcegraph"}
//   answer:   {"id", "syntax": bool, "errors": [{"code", "message", "start", "length"}]}
//   "syntax": whether the parser alone refuses it (the service's SyntaxError), not only the binder (SemanticError).
"use strict";

require("@kusto/language-service-next/bridge.js");
require("@kusto/language-service-next/Kusto.Language.Bridge.js");
const readline = require("readline");

const K = Kusto.Language;

// Resource Graph runs only these tabular operators, at most 3 joins of these kinds and at most 2 mv-expands
// (learn.microsoft.com/azure/governance/resource-graph/concepts/query-language, "Supported tabular/top level
// operators").
const GRAPH_OPERATORS = {
  CountOperator: "count",
  DistinctOperator: "distinct",
  ExtendOperator: "extend",
  JoinOperator: "join",
  TakeOperator: "take",
  MvExpandOperator: "mv-expand",
  SortOperator: "order",
  ProjectOperator: "project",
  ProjectAwayOperator: "project-away",
  SummarizeOperator: "summarize",
  TopOperator: "top",
  UnionOperator: "union",
  FilterOperator: "where",
};
const GRAPH_JOIN_KINDS = new Set(["innerunique", "inner", "leftouter"]);
const GRAPH_MAX_JOINS = 3;
const GRAPH_MAX_MV_EXPANDS = 2;

const globalsBySchema = new Map();

function globalsFor(tables) {
  const key = JSON.stringify(tables);
  let globals = globalsBySchema.get(key);
  if (!globals) {
    const symbols = Object.entries(tables).map(([name, columns]) => {
      const schema = "(" + columns.map(([column, type]) => `['${column}']:${type}`).join(", ") + ")";
      return new K.Symbols.TableSymbol.$ctor7(name, schema, "");
    });
    const database = new K.Symbols.DatabaseSymbol.$ctor2("db", "", symbols);
    globals = K.GlobalState.Default.WithDatabase(database);
    globalsBySchema.set(key, globals);
  }
  return globals;
}

function operatorName(element) {
  for (const name of Object.keys(K.Syntax)) {
    const type = K.Syntax[name];
    if (/Operator$/.test(name) && name !== "QueryOperator" && typeof type === "function" && Bridge.is(element, type)) {
      return name;
    }
  }
  return "QueryOperator";
}

function graphErrors(code, query) {
  const errors = [];
  let joins = 0;
  let mvExpands = 0;
  code.Syntax.WalkElements((element) => {
    if (!Bridge.is(element, K.Syntax.QueryOperator)) return;
    const name = operatorName(element);
    const at = { start: element.TextStart, length: element.Width };
    if (!(name in GRAPH_OPERATORS)) {
      const word = element.GetFirstToken() ? element.GetFirstToken().Text : name;
      errors.push({ code: "UnsupportedOperator", message: `Resource Graph does not support the '${word}' operator.`, ...at });
      return;
    }
    if (name === "JoinOperator") {
      joins += 1;
      const kind = joinKind(query.substr(element.TextStart, element.Width));
      if (!GRAPH_JOIN_KINDS.has(kind)) {
        errors.push({ code: "UnsupportedJoinKind", message: `Resource Graph does not support join kind '${kind}'.`, ...at });
      }
      if (joins === GRAPH_MAX_JOINS + 1) {
        errors.push({ code: "TooManyJoins", message: `Resource Graph allows at most ${GRAPH_MAX_JOINS} joins in a query.`, ...at });
      }
    }
    if (name === "MvExpandOperator") {
      mvExpands += 1;
      if (mvExpands === GRAPH_MAX_MV_EXPANDS + 1) {
        errors.push({ code: "TooManyMvExpands", message: `Resource Graph allows at most ${GRAPH_MAX_MV_EXPANDS} mv-expand operators in a query.`, ...at });
      }
    }
  });
  return errors;
}

function joinKind(text) {
  // `kind=X` among the join's parameters, before its right side; Kusto's default kind is innerunique.
  const parameters = text.split("(")[0];
  const found = /\bkind\s*=\s*([A-Za-z]+)/.exec(parameters);
  return found ? found[1].toLowerCase() : "innerunique";
}

function judge(request) {
  const code = K.KustoCode.ParseAndAnalyze(request.query, globalsFor(request.tables));
  const errors = Bridge.toArray(code.GetDiagnostics())
    .filter((d) => d.Severity === "Error")
    .map((d) => ({ code: d.Code, message: d.Message, start: d.Start, length: d.Length }));
  if (request.dialect === "resourcegraph") errors.push(...graphErrors(code, request.query));
  return errors;
}

const input = readline.createInterface({ input: process.stdin, terminal: false });
input.on("line", (line) => {
  let request;
  try {
    request = JSON.parse(line);
    const errors = judge(request);
    const syntax = errors.length > 0 && Bridge.toArray(K.KustoCode.Parse(request.query).GetDiagnostics()).length > 0;
    process.stdout.write(JSON.stringify({ id: request.id, syntax, errors }) + "\n");
  } catch (error) {
    process.stdout.write(JSON.stringify({ id: request && request.id, failure: String(error && error.stack) }) + "\n");
  }
});
