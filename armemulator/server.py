"""The HTTPS front of the emulator: ARM routes, the token endpoint, and the control API for tests."""

import base64
import copy
import json
import re
import socket
import ssl
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from armemulator.arm import clusters, credentials
from armemulator.arm.errors import ArmError
from armemulator.arm.runcommand import RunCommands
from armemulator.identity import Tokens
from armemulator.kubernetes import api as kube_api
from armemulator.kubernetes import auth as kube_auth
from armemulator.kubernetes import protobuf
from armemulator.kubernetes.objects import KubeError
from armemulator.loganalytics import endpoint as la_endpoint
from armemulator.resourcegraph.endpoint import GraphError, ResourceGraph, row_of

_SUB = r"/subscriptions/(?P<sub>[^/]+)"
_RG = _SUB + r"/resourcegroups/(?P<rg>[^/]+)"
_PROVIDER = r"/providers/microsoft\.containerservice"
_MC = _RG + _PROVIDER + r"/managedclusters/(?P<name>[^/]+)"
_OPERATION = _SUB + _PROVIDER + r"/locations/(?P<loc>[^/]+)/(?P<what>operations|operationresults)/(?P<op>[^/]+)"

LOGGED_HEADERS = ("if-match", "if-none-match", "user-agent", "content-type", "x-ms-client-request-id")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "armemulator"

    # --- plumbing --------------------------------------------------------------------------------

    def setup(self):
        self.request.settimeout(30)
        try:
            self.request.do_handshake()
        except (ssl.SSLError, OSError):
            # A client that does not trust our CA hangs up here; nothing to answer.
            self.request.close()
            raise ConnectionAbortedError from None
        super().setup()

    def handle(self):
        try:
            super().handle()
        except (TimeoutError, ConnectionError, ssl.SSLError):
            pass

    def log_message(self, format, *args):
        if self.server.verbose:
            super().log_message(format, *args)

    def do_GET(self):
        self._dispatch("GET")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_POST(self):
        self._dispatch("POST")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def do_PATCH(self):
        self._dispatch("PATCH")

    def do_HEAD(self):
        self._dispatch("HEAD")

    @property
    def store(self):
        return self.server.store

    def _read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        self._raw_body = raw
        if not raw:
            return None, ""
        text = raw.decode("utf-8", "replace")
        try:
            return json.loads(text), text
        except ValueError:
            return None, text

    def _send(self, status, body=None, headers=None):
        payload = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("x-ms-request-id", str(uuid.uuid4()))
        extra, self._extra_headers = getattr(self, "_extra_headers", None) or {}, None
        for name, value in (extra | (headers or {})).items():
            self.send_header(name, str(value))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
        self._status, self._answer_bytes = status, len(payload)

    def _drop(self):
        """Close the connection without answering, as a broken network would."""
        self.close_connection = True
        try:
            self.request.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._status = "dropped"

    # --- dispatch --------------------------------------------------------------------------------

    def _dispatch(self, method):
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        body, text = self._read_body()
        if path.startswith("/_emulator"):
            self._control(method, path, body)
            return
        self._status = None
        entry = {
            "time": time.time(),
            "method": method,
            "path": path,
            "query": query,
            "headers": {k: self.headers[k] for k in LOGGED_HEADERS if self.headers.get(k) is not None},
            "authorization": (self.headers.get("Authorization") or "").split(" ")[0] or None,
            "body": body if body is not None else (text or None),
        }
        try:
            self._serve(method, path, query, body)
        except ArmError as err:
            self._send(err.status, err.body(), err.headers)
        except Exception as ex:  # noqa: BLE001 - an emulator bug must still answer like ARM would
            self._send(500, {"error": {"code": "InternalServerError", "message": f"emulator: {ex!r}"}})
        entry["status"] = self._status
        entry["seconds"] = round(time.time() - entry["time"], 4)  # how long the answer took here
        entry["answer_bytes"] = getattr(self, "_answer_bytes", None)
        entry["cut"], self._partial = getattr(self, "_partial", False), False
        if getattr(self, "_caller", None) is not None:
            entry["caller"], self._caller = self._caller, None
        self.store.log(entry)

    def _serve(self, method, path, query, body):
        if path == "/msi/token":
            self._token(query)
            return
        if path.startswith("/k8s/"):
            self._kube(method, path, query, body)
            return
        if path.lower().startswith("/v1/"):
            self._log_query(method, path, body)
            return
        if not (self.headers.get("Authorization") or "").startswith("Bearer "):
            raise ArmError(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
        if "api-version" not in query:
            raise ArmError(
                400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required."
            )
        fault = self.store.take_fault(method, path)
        if fault and self._apply_fault(fault):
            return
        match = re.fullmatch(_SUB + r".*", path, re.IGNORECASE)
        if match:
            kind = "read" if method in ("GET", "HEAD") else "write"
            wait, remaining = self.store.throttled(kind, match.group("sub"))
            # ARM reports what is left of the subscription's budget on every answer: the per-region header and,
            # under token-bucket throttling, its -global- form.
            self._extra_headers = {
                f"x-ms-ratelimit-remaining-subscription-{kind}s": remaining,
                f"x-ms-ratelimit-remaining-subscription-global-{kind}s": remaining,
            }
            if wait:
                raise ArmError(
                    429,
                    "TooManyRequests",
                    f"Number of '{kind}' requests for subscription '{match.group('sub')}' exceeded the limit. "
                    f"Please try again after '{wait}' seconds.",
                    {"Retry-After": wait, f"x-ms-ratelimit-remaining-subscription-{kind}s": 0},
                )
        self._route(method, path, query, body, fault)

    def _apply_fault(self, fault):
        """Answer with the fault instead of the real thing; False when the fault only shapes the answer."""
        action = fault.get("action", "status")
        if action == "drop":
            self._drop()
            return True
        if action == "status":
            headers = {"Retry-After": fault["retry_after"]} if fault.get("retry_after") is not None else {}
            status = int(fault.get("status", 500))
            code = fault.get("code") or ("TooManyRequests" if status == 429 else "InternalServerError")
            message = fault.get("message") or f"Injected fault: {status} {code}."
            self._send(status, {"error": {"code": code, "message": message}}, headers)
            return True
        return False

    def _route(self, method, path, query, body, fault):
        routes = [
            ("GET", r"/subscriptions", self._list_subscriptions),
            ("GET", _SUB, self._get_subscription),
            ("GET", _SUB + r"/resourcegroups", self._list_groups),
            ("GET", _RG, self._get_group),
            ("HEAD", _RG, self._get_group),
            ("PUT", _RG, self._put_group),
            ("GET", _SUB + _PROVIDER + r"/managedclusters", self._list_clusters),
            ("GET", _RG + _PROVIDER + r"/managedclusters", self._list_clusters),
            ("GET", _MC, self._get_cluster),
            ("PUT", _MC, self._put_cluster),
            ("DELETE", _MC, self._delete_cluster),
            ("POST", _MC + r"/(?P<which>listclusterusercredential|listclusteradmincredential)", self._credentials),
            ("POST", _MC + r"/runcommand", self._run_command),
            ("GET", _MC + r"/commandresults/(?P<command_id>[^/]+)", self._command_result),
            ("GET", _OPERATION, self._operation),
            (
                "GET",
                _RG + r"/providers/microsoft\.operationalinsights/workspaces/(?P<workspace>[^/]+)",
                self._get_workspace,
            ),
            (
                "GET",
                _MC + r"/providers/microsoft\.insights/datacollectionruleassociations/(?P<association>[^/]+)",
                self._get_rule_association,
            ),
            (
                "GET",
                _RG + r"/providers/microsoft\.insights/datacollectionrules/(?P<rule>[^/]+)",
                self._get_data_collection_rule,
            ),
            ("POST", r"/providers/microsoft\.resourcegraph/resources", self._graph_query),
        ]
        for route_method, pattern, handler in routes:
            match = re.fullmatch(pattern, path, re.IGNORECASE)
            if match and route_method == method:
                handler(query=query, body=body, fault=fault, **match.groupdict())
                return
        raise ArmError(404, "NotFound", f"The emulator does not serve {method} {path}.")

    # --- identity and subscriptions --------------------------------------------------------------

    def _token(self, query):
        resource = query.get("resource", "https://management.core.windows.net/")
        self._send(
            200,
            {
                "access_token": self.server.tokens.issue(self.store.tenant, resource, self.store.token_seconds),
                "expires_on": str(int(time.time()) + self.store.token_seconds),
                "resource": resource,
                "token_type": "Bearer",
            },
        )

    def _list_subscriptions(self, **_):
        with self.store.lock:
            self._send(200, {"value": list(self.store.subscriptions.values())})

    def _get_subscription(self, sub, **_):
        self._send(200, self.store.subscription(sub))

    def _list_groups(self, sub, **_):
        self._send(200, {"value": self.store.list_resource_groups(sub)})

    def _get_group(self, sub, rg, **_):
        self._send(200, self.store.resource_group(sub, rg))

    def _put_group(self, sub, rg, body, **_):
        group, created = self.store.put_resource_group(
            sub, rg, (body or {}).get("location", "eastus"), (body or {}).get("tags")
        )
        self._send(201 if created else 200, group)

    # --- managed clusters ------------------------------------------------------------------------

    def _list_clusters(self, sub, query, rg=None, **_):
        items = self.store.list_clusters(sub, rg)
        start = int(query.get("$skiptoken") or 0)
        size = self.server.page_size
        page = {"value": items[start : start + size]}
        if start + size < len(items):
            next_query = dict(query, **{"$skiptoken": str(start + size)})
            page["nextLink"] = f"{self.server.base_url}{urlsplit(self.path).path}?{urlencode(next_query)}"
        self._send(200, page)

    def _get_cluster(self, sub, rg, name, **_):
        doc = self.store.get_cluster(sub, rg, name)
        self._send(200, doc, _etag_header(doc))
        self._after(sub, rg, name)

    def _put_cluster(self, *, sub, rg, name, query, body, fault, **_):
        outcome = None
        if fault and fault.get("action") in ("fail_operation", "cancel_operation"):
            outcome = {
                "status": "Failed" if fault["action"] == "fail_operation" else "Canceled",
                "code": fault.get("code", "InternalOperationError"),
                "message": fault.get("message", "The operation failed."),
            }
        doc, created, operation_id = self.store.put_cluster(
            sub,
            rg,
            name,
            body,
            if_match=self.headers.get("If-Match"),
            if_none_match=self.headers.get("If-None-Match"),
            outcome=outcome,
        )
        self._send(
            201 if created else 200,
            doc,
            self._operation_headers(sub, doc["location"], operation_id, query) | _etag_header(doc),
        )

    def _delete_cluster(self, sub, rg, name, query, **_):
        operation_id = self.store.delete_cluster(sub, rg, name)
        if operation_id is None:
            self._send(204)
            return
        self._send(202, None, self._operation_headers(sub, "eastus", operation_id, query))

    def _graph_query(self, body, **_):
        graph = self.server.graph
        # The quota is the caller's: the object ID in the ARM token (az decodes it the same way, unverified).
        caller = _object_id(self.headers.get("Authorization")) or "unknown"

        def rows_for(subscriptions, groups):
            clusters = self.store.graph_documents(subscriptions, groups)
            rules, associations = self.store.graph_rules(clusters)
            if graph.rules_hidden:
                rules = []
            return (
                [row_of(doc, self.store.tenant) for doc in clusters + self.store.workspaces(subscriptions) + rules],
                [row_of(doc, self.store.tenant) for doc in associations],
            )

        try:
            answer, headers = graph.query(body, caller, rows_for)
        except GraphError as err:
            self._send(err.status, err.body, err.headers)
            return
        self._send(200, answer, headers)

    def _log_query(self, method, path, body):
        """The Log Analytics query API (loganalytics/endpoint.py), at the root of this address, which az's cloud
        names its Log Analytics endpoint (azprofile.login)."""
        token = (self.headers.get("Authorization") or "").partition(" ")[2]
        try:
            if method != "POST" or la_endpoint.target(path) is None:
                raise la_endpoint.QueryError(404, "PathNotFoundError", f"The emulator does not serve {method} {path}.")
            la_endpoint.check_token(self.server.tokens.verify(token), self.server.base_url)
            fault = self.store.take_fault(method, path)
            if fault and fault.get("action") != "partial" and self._apply_fault(fault):
                return
            answer = la_endpoint.answer(self.store.logs, path, body, self.server.log_limits)
            if fault:
                answer = la_endpoint.partial(answer, fault.get("keep"))
            self._partial = "error" in answer  # for the request log: an answer of part of the rows
        except la_endpoint.QueryError as err:
            self._send(err.status, err.body)
            return
        self._send(200, answer)

    def _operation_headers(self, sub, location, operation_id, query):
        base = f"{self.server.base_url}/subscriptions/{sub}/providers/{clusters.PROVIDER}/locations/{location}"
        api = urlencode({"api-version": query["api-version"]})
        return {
            "Azure-AsyncOperation": f"{base}/operations/{operation_id}?{api}",
            "Location": f"{base}/operationresults/{operation_id}?{api}",
            **self._retry_after(),
        }

    def _retry_after(self):
        """Retry-After of a running operation's answers, as set (store.operation_retry_after; AKS sends none)."""
        seconds = self.store.operation_retry_after
        return {} if seconds is None else {"Retry-After": seconds}

    def _operation(self, op, what, **_):
        status = self.store.operation(op)
        running = status["status"] == "InProgress"
        if what.lower() == "operations":
            self._send(200, status, self._retry_after() if running else {})
        elif running:
            self._send(202, None, self._retry_after())
        else:
            self._send(204)

    def _get_workspace(self, sub, rg, workspace, **_):
        """A Log Analytics workspace's ARM document, as `az monitor log-analytics workspace show` reads it: the
        workspaces the clusters' monitoring add-ons send to (loganalytics/store.py)."""
        wanted = f"/subscriptions/{sub}/resourcegroups/{rg}/providers/microsoft.operationalinsights/workspaces/"
        found = self.store.logs.workspaces.get(f"{wanted}{workspace}".lower())
        if found is None:
            raise ArmError(
                404,
                "ResourceNotFound",
                f"The Resource 'Microsoft.OperationalInsights/workspaces/{workspace}' under resource group '{rg}' "
                "was not found.",
            )
        self._send(200, found)

    def _get_rule_association(self, sub, rg, name, association, **_):
        """The cluster's data collection rule association (`store.data_collection_rule`)."""
        self.store.get_cluster(sub, rg, name)  # 404 for a cluster that is not there
        with self.store.lock:
            found = self.store.data_collection_rule(sub, rg, name)
        if found is None or association.lower() != found[1]["name"].lower():
            raise ArmError(
                404,
                "ResourceNotFound",
                f"The Resource 'Microsoft.Insights/dataCollectionRuleAssociations/{association}' was not found.",
            )
        self._send(200, found[1])

    def _get_data_collection_rule(self, sub, rg, rule, **_):
        """A data collection rule of a cluster in the resource group, by its name (MSCI-<region>-<cluster>)."""
        with self.store.lock:
            names = [n for (s_, g, n) in self.store.clusters if s_ == sub.lower() and g == rg.lower()]
            rules = [self.store.data_collection_rule(sub, rg, n) for n in names]
        found = next((r for r, _ in filter(None, rules) if r["name"].lower() == rule.lower()), None)
        if found is None:
            raise ArmError(
                404,
                "ResourceNotFound",
                f"The Resource 'Microsoft.Insights/dataCollectionRules/{rule}' under resource group '{rg}' was not "
                "found.",
            )
        self._send(200, found)

    def _credentials(self, sub, rg, name, which, query, **_):
        doc = self.store.get_cluster(sub, rg, name)
        user = "clusterAdmin" if which.lower() == "listclusteradmincredential" else "clusterUser"
        text = credentials.kubeconfig(
            doc,
            user,
            emulator_server=self._kube_server(sub, rg, name),
            ca_data=self._ca_data(),
            server_fqdn=query.get("server-fqdn"),
            credential_format=query.get("format"),
        )
        self._send(200, {"kubeconfigs": [{"name": user, "value": base64.b64encode(text.encode()).decode()}]})

    def _ca_data(self):
        with open(self.server.ca_path, "rb") as f:
            return base64.b64encode(f.read()).decode()

    def _kube_server(self, sub, rg, name):
        return f"{self.server.base_url}/k8s/{sub}/{rg}/{name}"

    def _run_command(self, sub, rg, name, query, body, **_):
        doc = self.store.get_cluster(sub, rg, name)
        command_id = self.server.run_commands.start(doc, body, self._kube_server(sub, rg, name))
        self._send(202, None, {"Location": self._command_location(sub, rg, name, command_id, query)})

    def _command_location(self, sub, rg, name, command_id, query):
        api = urlencode({"api-version": query["api-version"]})
        return (
            f"{self.server.base_url}/subscriptions/{sub}/resourceGroups/{rg}/providers/{clusters.PROVIDER}"
            f"/managedClusters/{name}/commandResults/{command_id}?{api}"
        )

    def _command_result(self, sub, rg, name, command_id, query, **_):
        self.store.get_cluster(sub, rg, name)
        result = self.server.run_commands.result(command_id)
        if result["properties"]["provisioningState"] == "Running":
            self._send(202, result, {"Location": self._command_location(sub, rg, name, command_id, query)})
        else:
            self._send(200, result)

    def _after(self, sub, rg, name):
        """Faults that change the cluster right after a read: someone else's write racing ours."""
        patch = self.store.take_fault("AFTER-GET", f"{sub}/{rg}/{name}")
        if patch:
            self.store.patch_cluster(sub, rg, name, patch.get("patch", {}))

    # --- the clusters' Kubernetes API -----------------------------------------------------------

    def _kube(self, method, path, query, body):
        parts = path.split("/")[2:]
        sub, rg, name, rest = parts[0], parts[1], parts[2], "/" + "/".join(parts[3:])
        try:
            doc = self.store.get_cluster(sub, rg, name)
            cluster = credentials.facts(doc)
            key = (sub.lower(), rg.lower(), name.lower())
            identity = kube_auth.authenticate(
                self.headers.get("Authorization"),
                cluster,
                self.server.tokens,
                rejects_tokens=key in self.store.rejecting_tokens,
            )
            # Who called, for tests to assert on: the token's audience and object ID, or a local account.
            self._caller = {
                "local": identity.local,
                "name": identity.name,
                "audience": identity.audience,
                "expires": identity.expires,
            }
            kube_auth.authorize(identity, cluster, self.store.role_assignments.get(key, []), method, rest, query)
        except ArmError:
            self._send(503, KubeError(503, "ServiceUnavailable", f"the cluster {name} does not exist").body())
            return
        except KubeError as err:
            self._send(err.code, err.body())
            return
        fault = self.store.take_fault(method, path)
        if fault and self._apply_fault(fault):
            return
        server_url = f"https://{self.headers.get('Host') or '127.0.0.1'}/k8s/{sub}/{rg}/{name}"
        try:
            if (self.headers.get("Content-Type") or "").startswith(protobuf.CONTENT_TYPE):
                body = protobuf.decode(self._raw_body)  # kubectl after 1.32 sends built-in kinds this way
            with self.store.lock:
                kube = self.store.kube_cluster(sub, rg, name)
                status, answer, content_type = kube_api.handle(
                    kube, method, rest, query, body, self.headers, server_url
                )
        except KubeError as err:
            self._send(err.code, err.body())
            return
        if content_type == "text/plain":
            self._send_text(status, answer)
        else:
            self._send(status, answer)

    def _send_text(self, status, text):
        payload = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        self._status = status

    # --- control API for tests and the sandbox ---------------------------------------------------

    def _control(self, method, path, body):
        parts, body = path.split("/")[2:], body or {}
        routes = {
            ("GET", "health"): lambda: {"status": "ok"},
            ("GET", "requests"): lambda: {"value": self.store.snapshot_requests()},
            ("GET", "secrets"): self._secrets,
            ("DELETE", "requests"): self.store.clear_requests,
            ("POST", "reset"): self._reset,
            ("POST", "faults"): lambda: self.store.add_fault(body),
            ("POST", "throttle"): lambda: self.store.set_throttle(
                body["kind"], body.get("rate"), body.get("burst"), body.get("subscription")
            ),
            ("PUT", "config"): lambda: self._configure(body),
            ("PUT", "management-groups"): lambda: self._management_groups(body),
            ("POST", "fleet"): lambda: self._seed_fleet(body),
            ("GET", "logs"): self.store.logs.stats,
            ("POST", "workspace-retention"): lambda: self.store.logs.set_retention(body["id"], int(body["days"])),
        }
        try:
            if (method, "/".join(parts)) in routes:
                answer = routes[(method, "/".join(parts))]()
                self._send(200 if answer is not None else 204, answer)
            elif parts[:1] == ["clusters"] and len(parts) == 4:
                self._control_cluster(method, *parts[1:], body)
            elif parts[:1] == ["clusters"] and len(parts) == 5 and parts[4] in self._CLUSTER_ACTIONS:
                status, answer = getattr(self, self._CLUSTER_ACTIONS[parts[4]])(*parts[1:4], body)
                self._send(status, answer)
            else:
                self._send(404, {"error": {"code": "NotFound", "message": f"no control route {method} {path}"}})
        except ArmError as err:
            self._send(err.status, err.body())
        except KubeError as err:
            self._send(err.code, err.body())

    # Control actions on one cluster: /_emulator/clusters/{sub}/{rg}/{name}/{action}, each (status, answer).
    _CLUSTER_ACTIONS = {
        "kube": "_c_kube",
        "configmaps": "_c_configmap",
        "role-assignments": "_c_role_assignments",
        "token-rejection": "_c_token_rejection",
        "run-command-fault": "_c_run_command_fault",
        "etags": "_c_etags",
        "node-fault": "_c_node_fault",
        "scheduled-run": "_c_scheduled_run",
        "pods": "_c_pod",
        "history": "_c_history",
        "monitoring": "_c_monitoring",
        "nodes": "_c_node",
        "operation": "_c_operation",
        "controller-restart": "_c_controller_restart",
    }

    def _c_controller_restart(self, sub, rg, name, body):
        """{"restarts": N, "reason": "OOMKilled", "orphans": P}: the Eraser controller's restarts, and the
        PodTemplates they left behind (eraser/controller.py)."""
        with self.store.lock:
            self.store.eraser_of(sub, rg, name).restart_controller(
                int(body.get("restarts", 1)), body.get("reason", "OOMKilled"), int(body.get("orphans", 0))
            )
        return 204, None

    def _c_kube(self, sub, rg, name, _body):
        with self.store.lock:
            kube = self.store.kube_cluster(sub, rg, name)
            return 200, dict(kube.snapshot(), runs=self.store.eraser_of(sub, rg, name).runs)

    def _c_configmap(self, sub, rg, name, body):
        """A ConfigMap, created or replaced (as `kubectl apply` leaves it)."""
        meta = body.get("metadata") or {}
        namespace = meta.get("namespace", "kube-system")
        with self.store.lock:
            kube = self.store.kube_cluster(sub, rg, name)
            if (namespace, meta.get("name")) in kube.configmaps:
                return 200, kube.replace_configmap(namespace, meta["name"], body)
            return 201, kube.create_configmap(namespace, body)

    def _c_role_assignments(self, sub, rg, name, body):
        """The caller's Azure RBAC roles on the cluster: [{"role": built-in role name, "namespace": optional}]."""
        assignments = body.get("assignments") or []
        for assignment in assignments:
            if assignment.get("role") not in kube_auth.ROLES:
                raise ArmError(400, "InvalidRole", f"unknown role {assignment.get('role')!r}: {kube_auth.ROLES}")
        with self.store.lock:
            self.store.role_assignments[(sub.lower(), rg.lower(), name.lower())] = [
                (a["role"], a.get("namespace")) for a in assignments
            ]
        return 200, {"assignments": assignments}

    def _c_token_rejection(self, sub, rg, name, body):
        key = (sub.lower(), rg.lower(), name.lower())
        with self.store.lock:
            if body.get("enabled"):
                self.store.rejecting_tokens.add(key)
            else:
                self.store.rejecting_tokens.discard(key)
        return 204, None

    def _c_run_command_fault(self, sub, rg, name, body):
        self.server.run_commands.set_fault(self.store.get_cluster(sub, rg, name)["id"], body.get("fault"))
        return 204, None

    def _c_etags(self, sub, rg, name, body):
        return 200, self.store.set_etags(sub, rg, name, bool(body.get("enabled")))

    def _c_node_fault(self, sub, rg, name, body):
        with self.store.lock:
            self.store.eraser_of(sub, rg, name).set_node_fault(body["node"], body.get("fault"))
        return 204, None

    def _c_scheduled_run(self, sub, rg, name, body):
        """A scheduled run now; {"candidates": N, "vulnerable": V}: at real sizes (logs.candidate_images)."""
        with self.store.lock:
            self.store.eraser_of(sub, rg, name).start_scheduled_run(
                (body or {}).get("candidates"), (body or {}).get("vulnerable")
            )
        return 204, None

    def _c_history(self, sub, rg, name, body):
        """Image Cleaner's scheduled runs over the last {"days": N}, at their times, in the cluster's logs and
        inventory; with {"candidates": N, "vulnerable": V}, each node's run at real sizes (logs.candidate_images);
        {"faults": {node: fault}} in the latest run; {"stopped_days": D}: the controller stopped D days ago."""
        with self.store.lock:
            runs = self.store.past_runs(
                sub, rg, name, float(body.get("days", 30)), body.get("candidates"), body.get("vulnerable"),
                body.get("faults"), float(body.get("stopped_days") or 0),
            )  # fmt: skip
        return 200, {"runs": runs}

    def _c_monitoring(self, sub, rg, name, body):
        """The `dataCollectionSettings` of the cluster's data collection rule (`store.set_monitoring`)."""
        return 200, self.store.set_monitoring(sub, rg, name, body)

    def _c_node(self, sub, rg, name, body):
        """A node that joined {"hours_ago"} ({"name", "os": linux|windows, "labels"}), or new labels on one there."""
        from armemulator.kubernetes.objects import node_object

        with self.store.lock:
            kube = self.store.kube_cluster(sub, rg, name)
            node = kube.nodes.get(body["name"])
            if node is None:
                joined = time.time() - 3600 * float(body.get("hours_ago") or 0)
                kube.nodes[body["name"]] = node_object(body["name"], body.get("os", "linux"), "nodepool1",
                                                       body.get("labels"), joined)  # fmt: skip
            else:
                node["metadata"]["labels"].update(body.get("labels") or {})
            # The agent's next sample has it (a batch holds every node there then).
            self.store.sample_now(sub, rg, name)
        return 200, kube.nodes[body["name"]]

    def _c_pod(self, sub, rg, name, body):
        """A pod in kube-system with the logs given: {"name", "node", "logs": {container: text}}."""
        with self.store.lock:
            kube = self.store.kube_cluster(sub, rg, name)
            kube.add_pod(body["name"], body.get("node"), body["logs"], {"app": "eraser"}, ends_at=None)
        return 201, None

    def _c_operation(self, sub, rg, name, body):
        seconds, kind = float(body.get("seconds", 5)), body.get("kind", "Updating")
        return 201, {"operation": self.store.start_foreign_operation(sub, rg, name, seconds, kind)}

    def _secrets(self):
        """Every credential the emulator handed out: static ones and the AAD tokens issued so far."""
        from armemulator.kubernetes.auth import RUN_COMMAND_TOKEN

        return {"static": [*credentials.secrets(), RUN_COMMAND_TOKEN], "issued": list(self.server.tokens.issued)}

    def _configure(self, settings):
        """Set what the tests and benchmarks tune: {setting: value}, each one of `_SETTINGS`."""
        with self.store.lock:
            for name, value in settings.items():
                where, attribute, kind = _SETTINGS[name]
                setattr(where(self), attribute, kind(value))

    def _management_groups(self, groups):
        """{"name": [subscription IDs]}: the management groups Resource Graph can be asked about."""
        with self.store.lock:
            self.store.management_groups = {k.lower(): list(v) for k, v in groups.items()}

    def _seed_fleet(self, spec):
        """Many clusters at once: {"subscriptions": [...], "per_subscription": N, "prefix", "image_cleaner"}, each
        shaped by a recorded document (recorded/README.md), spread over five resource groups. With "workspaces": W,
        each cluster's monitoring add-on sends to one of W workspaces (round robin; in "workspace_subscription", a
        central one, or else in the cluster's own subscription), its agent takes kube-system
        (schema "agent", v2 by default), and "history_days" of its schedule are logged ("candidates" images a node and
        run, "vulnerable" of them, for Eraser at real sizes); "linux_nodes" sizes it."""
        from armemulator.seed import agent_configmap

        template = clusters.recorded_cluster(
            spec.get("recording", "image-cleaner-2023"), image_cleaner=None, linux_nodes=spec.get("linux_nodes")
        )
        if spec.get("image_cleaner"):
            enabled, hours = spec["image_cleaner"]
            template["properties"]["securityProfile"]["imageCleaner"] = {"enabled": enabled, "intervalHours": hours}
        workspaces = int(spec.get("workspaces") or 0)
        names = []
        for subscription in spec["subscriptions"]:
            if subscription.lower() not in self.store.subscriptions:
                self.store.add_subscription(subscription, f"Fleet subscription {subscription[-4:]}")
            for number in range(int(spec["per_subscription"])):
                name = f"{spec.get('prefix', 'fleet')}-{number:04d}"
                group = f"{spec.get('group', 'fleet-rg')}-{number % 5}"
                body = template
                if workspaces:
                    workspace = (
                        f"/subscriptions/{spec.get('workspace_subscription') or subscription}/resourceGroups/logs/"
                        "providers/Microsoft.OperationalInsights/"
                        f"workspaces/logs-{len(names) % workspaces}"
                    )
                    body = clusters.with_monitoring(copy.deepcopy(template), workspace)
                self.store.seed_cluster(subscription, group, name, body)
                names.append(f"{subscription}/{group}/{name}")
                if workspaces:
                    with self.store.lock:
                        kube = self.store.kube_cluster(subscription, group, name)
                        kube.create_configmap("kube-system", agent_configmap(spec.get("agent", "v2")))
                        if spec.get("history_days"):
                            if spec.get("monitoring"):
                                self.store.clusters[(subscription.lower(), group.lower(), name.lower())][
                                    "monitoring"
                                ] = dict(spec["monitoring"])
                            self.store.past_runs(
                                subscription, group, name, float(spec["history_days"]),
                                spec.get("candidates"), spec.get("vulnerable"), spec.get("faults"),
                            )  # fmt: skip
        # The service ingests lines within minutes of their writing, long before a query over weeks reads them:
        # the seeded past is loaded now, so the first query does not pay for it (benchmarks/ time queries).
        self.store.logs.database.flush()
        return {"clusters": len(names)}

    def _reset(self):
        self.store.reset()
        self.server.log_limits = la_endpoint.Limits()
        self.server.run_commands.clear_faults()
        self.server.graph.reset()

    def _control_cluster(self, method, sub, rg, name, body):
        store = self.store
        if method == "PUT":
            self._send(200, store.seed_cluster(sub, rg, name, body, body.get("location", "eastus")))
        elif method == "PATCH":
            self._send(200, store.patch_cluster(sub, rg, name, body))
        elif method == "GET":
            self._send(200, store.get_cluster(sub, rg, name))
        elif method == "DELETE":
            with store.lock:
                store.clusters.pop((sub.lower(), rg.lower(), name.lower()), None)
            self._send(204)


# Each setting of the control API's config: (what holds it, given the handler; its attribute; its type).
_SETTINGS = {
    "operation_seconds": (lambda h: h.store, "operation_seconds", float),
    "operation_retry_after": (lambda h: h.store, "operation_retry_after", lambda v: None if v is None else int(v)),
    "feature_registered": (lambda h: h.store, "feature_registered", bool),
    "page_size": (lambda h: h.server, "page_size", int),
    "kube_run_seconds": (lambda h: h.store, "kube_run_seconds", float),
    "etags_default": (lambda h: h.store, "etags_default", bool),
    "graph_lag_seconds": (lambda h: h.store, "graph_lag_seconds", float),
    "graph_forbidden": (lambda h: h.server.graph, "forbidden", bool),
    "graph_rules_hidden": (lambda h: h.server.graph, "rules_hidden", bool),
    "graph_page_cap": (lambda h: h.server.graph, "page_cap", int),
    "graph_quota": (lambda h: h.server.graph, "quota", int),
    "token_seconds": (lambda h: h.store, "token_seconds", int),
    "kube_pod_ttl_seconds": (lambda h: h.store, "kube_pod_ttl_seconds", float),
    "run_command_start_seconds": (lambda h: h.server.run_commands, "start_seconds", float),
    # The query API's answer limits (loganalytics/endpoint.py): lowered by tests of the splitting.
    "log_max_records": (lambda h: h.server.log_limits, "records", int),
    "log_max_bytes": (lambda h: h.server.log_limits, "bytes", int),
}


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, store, cert_paths, verbose=False):
        super().__init__(address, Handler)
        self.store = store
        self.verbose = verbose
        self.ca_path = cert_paths["ca"]
        self.tokens = Tokens()
        self.graph = ResourceGraph()
        self.log_limits = la_endpoint.Limits()
        self.run_commands = RunCommands(self.ca_path)
        self.page_size = 100
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_paths["cert"], cert_paths["key"])
        self.ssl_context = context
        self.base_url = f"https://127.0.0.1:{self.server_address[1]}"

    def get_request(self):
        sock, address = self.socket.accept()
        # The TLS handshake runs in the request's own thread, so a slow client cannot stall accept().
        return self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address

    def handle_error(self, request, client_address):
        if self.verbose:
            super().handle_error(request, client_address)

    def start_in_thread(self):
        thread = threading.Thread(target=self.serve_forever, name="armemulator", daemon=True)
        thread.start()
        return thread


def _object_id(authorization):
    try:
        payload = (authorization or "").split(" ", 1)[1].split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))).get("oid")
    except (IndexError, ValueError, AttributeError):
        return None


def _etag_header(doc):
    """The ETag header goes with an eTag in the body; a cluster without one gets neither (recorded-arm)."""
    return {"ETag": doc["eTag"]} if doc.get("eTag") else {}
