"""A fake Kubernetes API server on 127.0.0.1: just the REST paths the orchestrator uses.

It keeps namespaces, Deployments, pods and NetworkPolicies in memory and plays the
Deployment controller on every request: each Deployment gets ``spec.replicas`` pods from
its current template among the pods its selector matches, old-template pods are replaced
at once, and pods turn Ready ``ready_delay`` seconds after they are created, unless their
image is in ``bad_images``. Patches honour ``metadata.resourceVersion`` (409 on mismatch).
Every object the client sends (created, replaced, or as patched) is kept in ``sent`` for
schema validation.

With a ``launcher``, each pod runs a real runtime server process on 127.0.0.1 with the
pod's container args, and the pod reports the process's port as its container port.

Pods created directly (``POST .../pods``) are admitted as the "restricted" Pod Security
Standard of their namespace requires, then run by the fake kubelet (``fake_kubelet``);
``GET .../pods/<name>/log`` serves their log.
"""

import copy
import hashlib
import http.server
import itertools
import json
import re
import threading
import time
import urllib.parse

from tests.unit.orchestrator.kubernetes import fake_kubelet

MERGE_TYPES = {"application/strategic-merge-patch+json", "application/merge-patch+json"}
PATH = re.compile(
    r"^/(?:api/v1|apis/(?P<group>[\w.]+/v1))/namespaces"
    r"(?:/(?P<namespace>[^/]+)(?:/(?P<resource>\w+)(?:/(?P<name>[^/]+)(?P<log>/log)?)?)?)?$"
)
RESOURCES = {
    (None, None): "namespaces",
    (None, "pods"): "pods",
    ("apps/v1", "deployments"): "deployments",
    ("networking.k8s.io/v1", "networkpolicies"): "networkpolicies",
}
LIST_KINDS = {"pods": ("v1", "PodList")}


class ApiError(Exception):
    def __init__(self, code, reason, message):
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message


def matches(labels, selector):
    """Whether ``labels`` match a selector string (``k=v``, ``k``, ``!k``) or object."""
    if isinstance(selector, dict):
        if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
            return False
        for expression in selector.get("matchExpressions", []):
            present = expression["key"] in labels
            if present != (expression["operator"] == "Exists"):
                return False
        return True
    for term in filter(None, (selector or "").split(",")):
        if term.startswith("!"):
            if term[1:] in labels:
                return False
        elif "=" in term:
            key, _, value = term.partition("=")
            if labels.get(key) != value:
                return False
        elif term not in labels:
            return False
    return True


def merge(target, patch):
    """Strategic merge patch: dicts merge, None deletes, lists of named dicts merge by name."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            merge(target[key], value)
        elif _named_list(value) and _named_list(target.get(key)):
            by_name = {item["name"]: item for item in target[key]}
            for item in value:
                if item["name"] in by_name:
                    merge(by_name[item["name"]], item)
                else:
                    target[key].append(copy.deepcopy(item))
        else:
            target[key] = copy.deepcopy(value)


def _named_list(value):
    return (
        isinstance(value, list)
        and value
        and all(isinstance(i, dict) and "name" in i for i in value)
    )


class FakeCluster:
    """The state of the fake API server and its controller."""

    def __init__(self, launcher=None, ready_delay=0.0, images=()):
        self.launcher = launcher
        self.kubelet = fake_kubelet.Kubelet(dict(images))
        self.ready_delay = ready_delay
        self.bad_images = set()
        self.on_pod_patch = None  # called with (cluster, pod) before a pod patch applies
        self.sent = []  # (kind, manifest) of every object the client sent
        self.conflicts = 0
        self.lock = threading.RLock()
        self.store = {name: {} for name in RESOURCES.values()}  # kind -> {(ns, name): object}
        self._versions = itertools.count(1)
        self._names = itertools.count(1)
        self._born = {}  # pod key -> creation time

    # --- the controller ------------------------------------------------------------------

    def reconcile(self):
        with self.lock:
            pods = self.store["pods"]
            for (namespace, name), deployment in self.store["deployments"].items():
                template = deployment["spec"]["template"]
                current = _template_hash(template)
                owned = [
                    key
                    for key, pod in pods.items()
                    if key[0] == namespace
                    and matches(pod["metadata"]["labels"], deployment["spec"]["selector"])
                ]
                for key in owned:
                    if pods[key]["metadata"]["labels"].get("pod-template-hash") != current:
                        self.delete_pod(key)
                owned = [key for key in owned if key in pods]
                for _ in range(deployment["spec"]["replicas"] - len(owned)):
                    self._create_pod(namespace, name, template, current)
                deployment["status"] = self._deployment_status(deployment, current)
            now = time.monotonic()
            for key, pod in pods.items():
                if self.kubelet.owns(key):
                    self.kubelet.sync(key, pod)
                    continue
                image = pod["spec"]["containers"][0]["image"]
                ready = now - self._born[key] >= self.ready_delay and image not in self.bad_images
                pod["status"]["conditions"][0]["status"] = str(ready)

    def _deployment_status(self, deployment, current):
        pods = [
            pod
            for pod in self.store["pods"].values()
            if matches(pod["metadata"]["labels"], deployment["spec"]["selector"])
        ]
        updated = [p for p in pods if p["metadata"]["labels"]["pod-template-hash"] == current]
        ready = [p for p in updated if p["status"]["conditions"][0]["status"] == "True"]
        return {
            "observedGeneration": deployment["metadata"]["generation"],
            "replicas": len(pods),
            "updatedReplicas": len(updated),
            "readyReplicas": len(ready),
            "availableReplicas": len(ready),
            "unavailableReplicas": len(pods) - len(ready),
        }

    def _create_pod(self, namespace, deployment_name, template, template_hash):
        name = f"{deployment_name}-{template_hash[:8]}-{next(self._names)}"
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                **copy.deepcopy(template["metadata"]),
                "name": name,
                "namespace": namespace,
                "uid": f"uid-{name}",
                "creationTimestamp": fake_kubelet.now(),
                "resourceVersion": str(next(self._versions)),
            },
            "spec": copy.deepcopy(template["spec"]),
            "status": {
                "phase": "Running",
                "podIP": "10.0.0.1",
                "conditions": [{"type": "Ready", "status": "False"}],
            },
        }
        pod["metadata"]["labels"]["pod-template-hash"] = template_hash
        if self.launcher:
            port = self.launcher.start(name, pod["spec"]["containers"][0]["args"])
            pod["spec"]["containers"][0]["ports"][0]["containerPort"] = port
            pod["status"]["podIP"] = "127.0.0.1"
        self.store["pods"][(namespace, name)] = pod
        self._born[(namespace, name)] = time.monotonic()

    def delete_pod(self, key):
        with self.lock:
            pod = self.store["pods"].pop(key, None)
            self._born.pop(key, None)
            self.kubelet.remove(key)
        if pod and self.launcher:
            self.launcher.stop(key[1])
        return pod

    def close(self):
        """Kill what the kubelet runs."""
        with self.lock:
            self.kubelet.close()

    def pods(self, namespace="qinling-lite", selector=""):
        with self.lock:
            self.reconcile()
            return [
                copy.deepcopy(pod)
                for (ns, _), pod in sorted(self.store["pods"].items())
                if ns == namespace and matches(pod["metadata"]["labels"], selector)
            ]

    # --- REST ------------------------------------------------------------------------

    def handle(self, method, url, content_type, body):
        """(status, answer) of one request."""
        parts = urllib.parse.urlsplit(url)
        query = dict(urllib.parse.parse_qsl(parts.query))
        found = PATH.match(parts.path)
        if not found:
            raise ApiError(404, "NotFound", f"no route {parts.path}")
        group, namespace, resource, name, log = found.groups()
        kind = RESOURCES.get((group, resource))
        if kind is None:
            raise ApiError(404, "NotFound", f"no resource {parts.path}")
        if kind == "namespaces":
            name, namespace = namespace, ""
        with self.lock:
            self.reconcile()
            objects = self.store[kind]
            if name is None and method == "POST":
                return 201, self._create(kind, objects, namespace, body)
            if name is None and method in ("GET", "DELETE"):
                selected = [
                    key
                    for key, obj in sorted(objects.items())
                    if key[0] == namespace
                    and matches(obj["metadata"].get("labels", {}), query.get("labelSelector"))
                ]
                if method == "DELETE":
                    for key in selected:
                        self._delete(kind, key)
                    return 200, _status("Success", 200)
                api_version, list_kind = LIST_KINDS[kind]
                items = [copy.deepcopy(objects[key]) for key in selected]
                return 200, {
                    "apiVersion": api_version,
                    "kind": list_kind,
                    "metadata": {"resourceVersion": str(next(self._versions))},
                    "items": items,
                }
            key = (namespace, name)
            if key not in objects:
                raise ApiError(404, "NotFound", f"{kind} {name} not found")
            if log:
                return 200, self._log(kind, key, method, query)
            if method == "GET":
                return 200, copy.deepcopy(objects[key])
            if method == "DELETE":
                deleted = self._delete(kind, key)
                return 200, deleted if kind == "pods" else _status("Success", 200)
            if method == "PUT":
                self.sent.append((kind, copy.deepcopy(body)))
                return 200, self._store(kind, objects, key, body, objects[key])
            if method == "PATCH":
                return 200, self._patch(kind, objects, key, content_type, body)
        raise ApiError(405, "MethodNotAllowed", f"{method} {parts.path}")

    def _create(self, kind, objects, namespace, body):
        self.sent.append((kind, copy.deepcopy(body)))
        key = (namespace, body["metadata"]["name"])
        if key in objects:
            raise ApiError(409, "AlreadyExists", f"{kind} {key[1]} already exists")
        if kind == "pods":
            self._admit(namespace, body)
            body = {**body, "status": {}}
            self.kubelet.admit(key, body)
        return self._store(kind, objects, key, body, None)

    def _admit(self, namespace, pod):
        """Pod Security admission: 403 for a pod the namespace's standard refuses."""
        metadata = self.store["namespaces"].get(("", namespace), {}).get("metadata", {})
        if metadata.get("labels", {}).get("pod-security.kubernetes.io/enforce") != "restricted":
            return
        violations = restricted_violations(pod["spec"])
        if violations:
            raise ApiError(
                403,
                "Forbidden",
                f'pods "{pod["metadata"]["name"]}" is forbidden: violates PodSecurity '
                f'"restricted:latest": {", ".join(violations)}',
            )

    def _log(self, kind, key, method, query):
        if kind != "pods" or method != "GET":
            raise ApiError(405, "MethodNotAllowed", f"{method} log of {kind}")
        container = query.get("container")
        if container not in (None, self.store["pods"][key]["spec"]["containers"][0]["name"]):
            raise ApiError(400, "BadRequest", f"container {container} is not valid")
        limit = query.get("limitBytes")
        text = self.kubelet.log(key, int(limit) if limit else None)
        if text is None:
            raise ApiError(400, "BadRequest", f'container in pod "{key[1]}" is waiting to start')
        return text

    def _store(self, kind, objects, key, body, old):
        obj = copy.deepcopy(body)
        metadata = obj["metadata"]
        metadata.update(
            namespace=key[0] or None,
            uid=(old or obj)["metadata"].get("uid") or f"uid-{key[1]}",
            creationTimestamp=(old or {}).get("metadata", {}).get("creationTimestamp")
            or fake_kubelet.now(),
            resourceVersion=str(next(self._versions)),
        )
        if not key[0]:
            del metadata["namespace"]
        if kind == "deployments":
            generation = old["metadata"]["generation"] if old else 0
            changed = old is None or old["spec"] != obj["spec"]
            metadata["generation"] = generation + changed
        objects[key] = obj
        self.reconcile()
        return copy.deepcopy(objects[key])

    def _patch(self, kind, objects, key, content_type, body):
        if content_type not in MERGE_TYPES or not isinstance(body, dict):
            raise ApiError(415, "UnsupportedMediaType", f"unsupported patch {content_type}")
        if kind == "pods" and self.on_pod_patch:
            self.on_pod_patch(self, objects[key])
        current = objects[key]
        expected = body.get("metadata", {}).get("resourceVersion")
        if expected is not None and expected != current["metadata"]["resourceVersion"]:
            self.conflicts += 1
            raise ApiError(409, "Conflict", f"the object {key[1]} has been modified")
        patched = copy.deepcopy(current)
        merge(patched, body)
        if kind == "pods":
            patched["metadata"]["resourceVersion"] = str(next(self._versions))
            objects[key] = patched
            self.sent.append((kind, _without_status(patched)))
            return copy.deepcopy(patched)
        self.sent.append((kind, _without_status(patched)))
        return self._store(kind, objects, key, _without_status(patched), current)

    def _delete(self, kind, key):
        if kind == "pods":
            return self.delete_pod(key)
        deleted = self.store[kind].pop(key)
        if kind == "deployments":  # its ReplicaSets take their pods along
            for pod_key, pod in list(self.store["pods"].items()):
                if pod_key[0] == key[0] and matches(
                    pod["metadata"]["labels"], deleted["spec"]["selector"]
                ):
                    self.delete_pod(pod_key)
        return deleted


def restricted_violations(spec):
    """What the "restricted" Pod Security Standard refuses in a pod spec (the checks that
    apply to the fields the orchestrator may set)."""
    found = []
    pod = spec.get("securityContext") or {}
    if spec.get("hostNetwork") or spec.get("hostPID") or spec.get("hostIPC"):
        found.append("host namespaces")
    if any("hostPath" in volume for volume in spec.get("volumes") or []):
        found.append("restricted volume types")
    for container in spec["containers"]:
        context = {**pod, **(container.get("securityContext") or {})}
        name = container["name"]
        if context.get("privileged"):
            found.append(f'privileged (container "{name}")')
        if context.get("allowPrivilegeEscalation") is not False:
            found.append(f'allowPrivilegeEscalation != false (container "{name}")')
        if "ALL" not in (context.get("capabilities") or {}).get("drop", []):
            found.append(f'unrestricted capabilities (container "{name}")')
        if context.get("runAsNonRoot") is not True or context.get("runAsUser") == 0:
            found.append(f'runAsNonRoot != true (container "{name}")')
        if (context.get("seccompProfile") or {}).get("type") not in ("RuntimeDefault", "Localhost"):
            found.append(f'seccompProfile (container "{name}")')
    return found


def _template_hash(template):
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]


def _without_status(obj):
    return {k: v for k, v in obj.items() if k != "status"}


def _status(status, code, reason=None, message=None):
    answer = {"apiVersion": "v1", "kind": "Status", "metadata": {}, "status": status, "code": code}
    if reason:
        answer.update(reason=reason, message=message)
    return answer


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes

    def log_message(self, format, *args):
        """Quiet."""

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        try:
            status, answer = self.server.cluster.handle(
                self.command, self.path, self.headers.get("Content-Type"), body
            )
        except ApiError as exc:
            status, answer = exc.code, _status("Failure", exc.code, exc.reason, exc.message)
        if isinstance(answer, str):  # a log
            data, content_type = answer.encode(), "text/plain"
        else:
            data, content_type = json.dumps(answer).encode(), "application/json"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve  # noqa: N815


class FakeApiServer(http.server.ThreadingHTTPServer):
    """Serves a FakeCluster on 127.0.0.1 from a daemon thread."""

    daemon_threads = True

    def __init__(self, cluster):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.cluster = cluster
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"

    def close(self):
        self.shutdown()
        self.server_close()
        self._thread.join()
