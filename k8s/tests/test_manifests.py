"""Invariants of the rendered Kubernetes manifests, for every overlay (dev and prod).

Each test asserts a property of the objects as they would be applied: selectors, probes,
rollout and disruption settings, autoscaling, resources, images, secrets, security contexts,
network policies, the Ingress and the wiring between host and services.

The rendered YAML is read from $SOLSTICE_K8S_RENDERED/<overlay>.yaml when that variable is set
(scripts/check-k8s sets it); otherwise each overlay is rendered here with k8s/render.py.
Run: python k8s/tests/test_manifests.py  (PyYAML needed). Last line: "N passed, N failed".
"""

import os
import re
import sys
import unittest
from urllib.parse import urlsplit

import yaml

K8S = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, K8S)

NAMESPACE = "solstice"
HOST = "solstice"  # the host's Deployment, Service and pod name label
SERVICES = {"portfolio": 3101, "transfer": 3102, "swap": 3103, "stake": 3104}
SECRET_ENV = {"MONGODB_URI", "SOLSTICE_INTERNAL_SECRET"}
# Binaries that read SOLSTICE_MARKET_SEED (server/src/config.rs, services/{portfolio,swap}).
SEED_READERS = {HOST, "portfolio", "swap"}
# Pods that may connect to MongoDB: the host, the services, the members, the init Job.
MONGO_CLIENTS = {HOST, *SERVICES, "mongo", "mongo-init"}
NAME = "app.kubernetes.io/name"
# The environment variables each binary reads (its clap Config: server/src/config.rs,
# services/kit/src/start.rs and services/*/src/lib.rs), plus RUST_LOG. A variable set on a
# container that its binary does not read is a typo or a leftover, silently ignored.
COMMON_ENV = {"MONGODB_URI", "SOLSTICE_DATABASE", "SOLSTICE_INTERNAL_SECRET", "SOLSTICE_SHUTDOWN_DELAY_SECONDS", "RUST_LOG"}
READS = {
    HOST: COMMON_ENV | {
        "SOLSTICE_ADDR", "SOLSTICE_SITE_ROOT", "SOLSTICE_COOKIE_SECURE", "SOLSTICE_SESSION_IDLE_MINUTES",
        "SOLSTICE_TRUSTED_PROXY_HOPS", "SOLSTICE_MAX_INITIAL_SOL", "SOLSTICE_LOGIN_FAILURES_PER_ADDRESS",
        "SOLSTICE_LOGIN_FAILURES_PER_CLIENT", "SOLSTICE_SIGNUPS_PER_CLIENT", "SOLSTICE_RATE_LIMIT_WINDOW_SECONDS",
        "SOLSTICE_PRICE_TICK_MS", "SOLSTICE_MARKET_SEED", "SOLSTICE_PRICE_BACKFILL", "SOLSTICE_PORTFOLIO_URL",
        "SOLSTICE_TRANSFER_URL", "SOLSTICE_SWAP_URL", "SOLSTICE_STAKE_URL", "SOLSTICE_SERVICE_TIMEOUT_MS",
        "SOLSTICE_LOG_FORMAT",
    },
    "portfolio": COMMON_ENV | {"PORTFOLIO_ADDR", "SOLSTICE_MARKET_SEED"},
    "transfer": COMMON_ENV | {"TRANSFER_ADDR"},
    "swap": COMMON_ENV | {"SWAP_ADDR", "SOLSTICE_MARKET_SEED", "SWAP_QUOTE_TTL_SECONDS"},
    "stake": COMMON_ENV | {"STAKE_ADDR", "STAKE_EPOCH_SECONDS", "STAKE_REWARD_POLL_MS"},
}
SECRET_LOOKING_KEY = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|KEY|CREDENTIAL", re.I)
URI_WITH_CREDENTIALS = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@\s]+:[^/@\s]*@", re.I)


def load(overlay):
    rendered = os.environ.get("SOLSTICE_K8S_RENDERED")
    if rendered:
        with open(os.path.join(rendered, f"{overlay}.yaml"), encoding="utf-8") as f:
            return [d for d in yaml.safe_load_all(f) if d]
    import render

    return render.render(os.path.join(K8S, "overlays", overlay))


def quantity(value):
    """A CPU or memory quantity as a number (cores or bytes)."""
    text = str(value)
    suffixes = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "M": 1e6, "G": 1e9}
    for suffix, factor in sorted(suffixes.items(), key=lambda s: -len(s[0])):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


def selects(selector, labels):
    """Whether a label selector (matchLabels/matchExpressions) selects `labels`."""
    if selector is None:
        return False
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def service_selects(service, labels):
    """Whether a Service (whose selector is a plain map) sends traffic to pods with `labels`."""
    selector = service["spec"].get("selector")
    return bool(selector) and selects({"matchLabels": selector}, labels)


class Manifests:
    """The invariants; subclassed once per overlay below."""

    overlay = None

    @classmethod
    def setUpClass(cls):
        cls.objects = load(cls.overlay)

    # Helpers -------------------------------------------------------------------------------

    def of(self, kind):
        return [o for o in self.objects if o["kind"] == kind]

    def named(self, kind, name):
        found = [o for o in self.of(kind) if o["metadata"]["name"] == name]
        self.assertEqual(len(found), 1, f"exactly one {kind} named {name}")
        return found[0]

    def workloads(self):
        """(object, pod template) of every Deployment, StatefulSet and Job."""
        return [(o, o["spec"]["template"]) for o in self.objects if o["kind"] in ("Deployment", "StatefulSet", "Job")]

    def containers(self):
        """(owner, pod spec, container) of every container and init container."""
        for owner, template in self.workloads():
            spec = template["spec"]
            for c in spec.get("containers", []) + spec.get("initContainers", []):
                yield owner, spec, c

    def pod_labels(self, name):
        for owner, template in self.workloads():
            if template["metadata"]["labels"].get(NAME) == name:
                return template["metadata"]["labels"]
        self.fail(f"no pod template named {name}")

    def config_value(self, env):
        """The value an env entry resolves to (literal or from a rendered ConfigMap)."""
        if "value" in env:
            return env["value"]
        ref = env.get("valueFrom", {}).get("configMapKeyRef")
        self.assertIsNotNone(ref, f"{env['name']} is neither a literal nor from a ConfigMap")
        data = self.named("ConfigMap", ref["name"]).get("data", {})
        self.assertIn(ref["key"], data, f"ConfigMap {ref['name']} has no key {ref['key']}")
        return data[ref["key"]]

    def env_of(self, container):
        return {e["name"]: e for e in container.get("env", [])}

    def app_deployments(self):
        return [d for d in self.of("Deployment") if d["metadata"]["name"] in {HOST, *SERVICES}]

    def policies_selecting(self, labels):
        return [p for p in self.of("NetworkPolicy") if selects(p["spec"]["podSelector"], labels)]

    def container_ports(self, container):
        ports = container.get("ports", [])
        return {p["containerPort"] for p in ports} | {p["name"] for p in ports if "name" in p}

    # Namespace ---------------------------------------------------------------------------------

    def test_all_objects_in_the_namespace(self):
        self.named("Namespace", NAMESPACE)
        for o in self.objects:
            if o["kind"] != "Namespace":
                with self.subTest(o["kind"] + "/" + o["metadata"]["name"]):
                    self.assertEqual(o["metadata"].get("namespace"), NAMESPACE)

    # Workloads ---------------------------------------------------------------------------------

    def test_every_app_process_has_a_deployment(self):
        self.assertEqual({d["metadata"]["name"] for d in self.of("Deployment")}, {HOST, *SERVICES})
        self.named("StatefulSet", "mongo")

    def test_workload_selectors_match_their_pod_templates(self):
        for o in self.of("Deployment") + self.of("StatefulSet"):
            with self.subTest(o["metadata"]["name"]):
                selector = o["spec"]["selector"]
                self.assertTrue(selector.get("matchLabels"), "selector has matchLabels")
                self.assertTrue(selects(selector, o["spec"]["template"]["metadata"]["labels"]))
                # No other workload's pods fall under this selector.
                for other, template in self.workloads():
                    if other is not o:
                        self.assertFalse(selects(selector, template["metadata"]["labels"]), other["metadata"]["name"])

    def test_deployments_have_two_replicas_and_surge_rollouts(self):
        for d in self.of("Deployment"):
            with self.subTest(d["metadata"]["name"]):
                self.assertGreaterEqual(d["spec"].get("replicas", 1), 2)
                strategy = d["spec"]["strategy"]
                self.assertEqual(strategy["type"], "RollingUpdate")
                self.assertEqual(strategy["rollingUpdate"]["maxUnavailable"], 0)
                self.assertGreaterEqual(strategy["rollingUpdate"]["maxSurge"], 1)

    def test_mongo_is_a_three_member_replica_set(self):
        s = self.named("StatefulSet", "mongo")
        self.assertEqual(s["spec"]["replicas"], 3)
        self.assertEqual(s["spec"]["serviceName"], "mongo")
        headless = self.named("Service", "mongo")
        self.assertEqual(headless["spec"].get("clusterIP"), "None")
        self.assertTrue(service_selects(headless, s["spec"]["template"]["metadata"]["labels"]))
        self.assertTrue(s["spec"].get("volumeClaimTemplates"), "members keep data on volumes")
        command = " ".join(s["spec"]["template"]["spec"]["containers"][0]["command"])
        self.assertIn("--replSet=rs0", command)
        # A killed pod's open transaction must not lock documents for MongoDB's default minute.
        self.assertIn("--setParameter=transactionLifetimeLimitSeconds=15", command)
        job = self.named("Job", "mongo-init")
        members = self.env_of(job["spec"]["template"]["spec"]["containers"][0])["MEMBERS"]["value"].split()
        self.assertEqual(members, [f"mongo-{i}.mongo:27017" for i in range(3)])

    # Services ----------------------------------------------------------------------------------

    def test_every_service_selects_pods_on_a_declared_port(self):
        for svc in self.of("Service"):
            with self.subTest(svc["metadata"]["name"]):
                matched = [(o, t) for o, t in self.workloads() if service_selects(svc, t["metadata"]["labels"])]
                self.assertTrue(matched, "selects some pod template")
                for _, template in matched:
                    declared = set()
                    for c in template["spec"]["containers"]:
                        declared |= self.container_ports(c)
                    for port in svc["spec"]["ports"]:
                        self.assertIn(port.get("targetPort", port["port"]), declared)

    def test_every_deployment_has_a_service_an_autoscaler_and_a_budget(self):
        for d in self.of("Deployment"):
            labels = d["spec"]["template"]["metadata"]["labels"]
            with self.subTest(d["metadata"]["name"]):
                self.assertTrue(any(service_selects(s, labels) for s in self.of("Service")))
                self.assertTrue(any(h["spec"]["scaleTargetRef"]["name"] == d["metadata"]["name"] for h in self.of("HorizontalPodAutoscaler")))
                self.assertTrue(any(selects(p["spec"]["selector"], labels) for p in self.of("PodDisruptionBudget")))

    # Probes ------------------------------------------------------------------------------------

    def test_app_containers_probe_healthz_and_readyz_on_a_declared_port(self):
        for d in self.app_deployments():
            for c in d["spec"]["template"]["spec"]["containers"]:
                with self.subTest(d["metadata"]["name"] + "/" + c["name"]):
                    live, ready = c.get("livenessProbe", {}), c.get("readinessProbe", {})
                    self.assertEqual(live.get("httpGet", {}).get("path"), "/healthz")
                    self.assertEqual(ready.get("httpGet", {}).get("path"), "/readyz")
                    for probe in (live, ready, c.get("startupProbe") or live):
                        self.assertIn(probe["httpGet"]["port"], self.container_ports(c))

    def test_database_containers_have_liveness_and_readiness_probes(self):
        for c in self.named("StatefulSet", "mongo")["spec"]["template"]["spec"]["containers"]:
            self.assertIn("livenessProbe", c)
            self.assertIn("readinessProbe", c)

    # Disruption budgets and autoscaling --------------------------------------------------------

    def test_disruption_budgets_leave_room_to_drain(self):
        for pdb in self.of("PodDisruptionBudget"):
            with self.subTest(pdb["metadata"]["name"]):
                targets = [o for o in self.of("Deployment") + self.of("StatefulSet")
                           if selects(pdb["spec"]["selector"], o["spec"]["template"]["metadata"]["labels"])]
                self.assertEqual(len(targets), 1, "selects exactly one workload")
                target = targets[0]
                floor = target["spec"].get("replicas", 1)
                for hpa in self.of("HorizontalPodAutoscaler"):
                    if hpa["spec"]["scaleTargetRef"]["name"] == target["metadata"]["name"]:
                        floor = min(floor, hpa["spec"].get("minReplicas", 1))
                if "minAvailable" in pdb["spec"]:
                    self.assertIsInstance(pdb["spec"]["minAvailable"], int)
                    self.assertLess(pdb["spec"]["minAvailable"], floor)
                    self.assertGreaterEqual(pdb["spec"]["minAvailable"], 1)
                else:
                    self.assertGreaterEqual(pdb["spec"]["maxUnavailable"], 1)

    def test_autoscalers_target_deployments_within_bounds(self):
        for hpa in self.of("HorizontalPodAutoscaler"):
            with self.subTest(hpa["metadata"]["name"]):
                spec = hpa["spec"]
                self.assertEqual(hpa["apiVersion"], "autoscaling/v2")
                self.assertEqual(spec["scaleTargetRef"]["kind"], "Deployment")
                target = self.named("Deployment", spec["scaleTargetRef"]["name"])
                self.assertGreaterEqual(spec["minReplicas"], 2)
                self.assertGreaterEqual(spec["maxReplicas"], spec["minReplicas"])
                self.assertTrue(spec["minReplicas"] <= target["spec"]["replicas"] <= spec["maxReplicas"])
                self.assertIn("cpu", [m["resource"]["name"] for m in spec["metrics"] if m["type"] == "Resource"])

    # Resources, images, security ---------------------------------------------------------------

    def test_every_container_has_requests_within_limits(self):
        for owner, _, c in self.containers():
            with self.subTest(owner["metadata"]["name"] + "/" + c["name"]):
                resources = c.get("resources", {})
                for resource in ("cpu", "memory"):
                    request = resources.get("requests", {}).get(resource)
                    limit = resources.get("limits", {}).get(resource)
                    self.assertIsNotNone(request, f"{resource} request")
                    self.assertIsNotNone(limit, f"{resource} limit")
                    self.assertLessEqual(quantity(request), quantity(limit))

    def test_every_image_is_pinned(self):
        for owner, _, c in self.containers():
            with self.subTest(owner["metadata"]["name"] + "/" + c["name"]):
                image = c["image"]
                if "@sha256:" in image:
                    continue
                last = image.rsplit("/", 1)[-1]
                self.assertIn(":", last, f"{image} has a tag")
                self.assertNotEqual(last.split(":", 1)[1], "latest", image)

    def test_pods_run_as_non_root_with_a_locked_down_container(self):
        for owner, spec, c in self.containers():
            with self.subTest(owner["metadata"]["name"] + "/" + c["name"]):
                pod = spec.get("securityContext", {})
                own = c.get("securityContext", {})
                self.assertTrue(own.get("runAsNonRoot", pod.get("runAsNonRoot")), "runAsNonRoot")
                self.assertNotEqual(own.get("runAsUser", pod.get("runAsUser")), 0)
                seccomp = own.get("seccompProfile", pod.get("seccompProfile", {}))
                self.assertEqual(seccomp.get("type"), "RuntimeDefault")
                self.assertIs(own.get("allowPrivilegeEscalation"), False)
                self.assertIs(own.get("readOnlyRootFilesystem"), True)
                self.assertEqual(own.get("capabilities", {}).get("drop"), ["ALL"])
                self.assertIs(spec.get("automountServiceAccountToken"), False)

    # Configuration and secrets -----------------------------------------------------------------

    def test_no_config_map_holds_a_secret(self):
        for cm in self.of("ConfigMap"):
            for key, value in (cm.get("data") or {}).items():
                with self.subTest(cm["metadata"]["name"] + "/" + key):
                    self.assertNotIn(key, SECRET_ENV)
                    self.assertIsNone(SECRET_LOOKING_KEY.search(key), "key looks like a secret")
                    self.assertIsNone(URI_WITH_CREDENTIALS.search(str(value)), "value is a URI with credentials")

    def test_secret_settings_come_from_secrets_only(self):
        for owner, _, c in self.containers():
            for name in SECRET_ENV & set(self.env_of(c)):
                with self.subTest(owner["metadata"]["name"] + "/" + name):
                    env = self.env_of(c)[name]
                    self.assertNotIn("value", env)
                    self.assertIn("secretKeyRef", env.get("valueFrom", {}))
            for source in c.get("envFrom", []):
                if "configMapRef" in source:
                    data = self.named("ConfigMap", source["configMapRef"]["name"]).get("data", {})
                    self.assertFalse(SECRET_ENV & set(data))

    def test_app_containers_set_only_variables_their_binary_reads(self):
        for d in self.app_deployments():
            c = d["spec"]["template"]["spec"]["containers"][0]
            with self.subTest(d["metadata"]["name"]):
                self.assertLessEqual(set(self.env_of(c)), READS[d["metadata"]["name"]])
                self.assertFalse(c.get("envFrom"), "explicit variables only, so that this test sees them")

    def test_app_containers_get_both_secrets(self):
        for d in self.app_deployments():
            c = d["spec"]["template"]["spec"]["containers"][0]
            with self.subTest(d["metadata"]["name"]):
                for name in SECRET_ENV:
                    ref = self.env_of(c)[name]["valueFrom"]["secretKeyRef"]
                    self.assertEqual((ref["name"], ref["key"]), ("solstice-secrets", name))

    def test_config_map_references_exist(self):
        for owner, _, c in self.containers():
            for env in c.get("env", []):
                if "configMapKeyRef" in env.get("valueFrom", {}):
                    with self.subTest(owner["metadata"]["name"] + "/" + env["name"]):
                        self.config_value(env)

    def test_processes_bind_all_interfaces_on_their_declared_port(self):
        for d in self.app_deployments():
            c = d["spec"]["template"]["spec"]["containers"][0]
            name = d["metadata"]["name"]
            variable = "SOLSTICE_ADDR" if name == HOST else f"{name.upper()}_ADDR"
            with self.subTest(name):
                host, port = self.config_value(self.env_of(c)[variable]).rsplit(":", 1)
                self.assertEqual(host, "0.0.0.0")
                self.assertIn(int(port), self.container_ports(c))
                if name in SERVICES:
                    self.assertEqual(int(port), SERVICES[name])

    def test_host_service_urls_point_at_services_of_the_right_pods(self):
        host = self.named("Deployment", HOST)["spec"]["template"]["spec"]["containers"][0]
        for name, port in SERVICES.items():
            with self.subTest(name):
                url = urlsplit(self.config_value(self.env_of(host)[f"SOLSTICE_{name.upper()}_URL"]))
                self.assertEqual(url.scheme, "http")
                svc = self.named("Service", url.hostname)
                self.assertIn(url.port, [p["port"] for p in svc["spec"]["ports"]])
                self.assertTrue(service_selects(svc, self.pod_labels(name)), "the Service selects the service's pods")

    def test_market_seed_has_one_source(self):
        sources = set()
        readers = set()
        for d in self.app_deployments():
            env = self.env_of(d["spec"]["template"]["spec"]["containers"][0])
            if "SOLSTICE_MARKET_SEED" in env:
                readers.add(d["metadata"]["name"])
                ref = env["SOLSTICE_MARKET_SEED"].get("valueFrom", {}).get("configMapKeyRef")
                self.assertIsNotNone(ref, "the seed comes from the ConfigMap, never a literal")
                sources.add((ref["name"], ref["key"]))
        self.assertEqual(readers, SEED_READERS)
        self.assertEqual(sources, {("solstice-config", "SOLSTICE_MARKET_SEED")})

    def test_shutdown_delay_fits_in_the_grace_period(self):
        for d in self.app_deployments():
            with self.subTest(d["metadata"]["name"]):
                spec = d["spec"]["template"]["spec"]
                delay = int(self.config_value(self.env_of(spec["containers"][0])["SOLSTICE_SHUTDOWN_DELAY_SECONDS"]))
                self.assertGreaterEqual(delay, 1)
                # Delay, then draining in-flight requests: at least 10 seconds more.
                self.assertGreaterEqual(spec["terminationGracePeriodSeconds"], delay + 10)

    # Network policies --------------------------------------------------------------------------

    def test_ingress_is_denied_by_default(self):
        deny = [p for p in self.of("NetworkPolicy")
                if p["spec"]["podSelector"] == {} and "Ingress" in p["spec"]["policyTypes"] and not p["spec"].get("ingress")]
        self.assertTrue(deny, "a policy selecting every pod and allowing no ingress")

    def allowed_sources(self, target):
        """For every policy rule letting traffic into pods named `target`: (peers, ports)."""
        rules = []
        for policy in self.policies_selecting(self.pod_labels(target)):
            for rule in policy["spec"].get("ingress", []):
                rules.append((rule.get("from"), [p.get("port") for p in rule.get("ports", [])] or None))
        return rules

    def peer_names(self, peers):
        """The pod names in this namespace that `peers` admit (None: anything else too)."""
        names = set()
        for peer in peers or [None]:
            if peer is None or set(peer) != {"podSelector"}:
                return None  # all sources, another namespace or an IP block
            for _, template in self.workloads():
                if selects(peer["podSelector"], template["metadata"]["labels"]):
                    names.add(template["metadata"]["labels"][NAME])
        return names

    def test_services_accept_only_the_host(self):
        for name, port in SERVICES.items():
            with self.subTest(name):
                rules = self.allowed_sources(name)
                self.assertTrue(rules, "the host is let in")
                for peers, ports in rules:
                    self.assertEqual(self.peer_names(peers), {HOST})
                    self.assertEqual(ports, [port])

    def test_mongo_accepts_only_the_app_and_its_members(self):
        rules = self.allowed_sources("mongo")
        self.assertTrue(rules)
        admitted = set()
        for peers, ports in rules:
            names = self.peer_names(peers)
            self.assertIsNotNone(names, "only pods of this namespace")
            self.assertLessEqual(names, MONGO_CLIENTS)
            self.assertEqual(ports, [27017])
            admitted |= names
        self.assertEqual(admitted, MONGO_CLIENTS)

    def test_host_accepts_only_the_ingress_controller(self):
        rules = self.allowed_sources(HOST)
        self.assertTrue(rules)
        for peers, ports in rules:
            self.assertEqual(ports, [3000])
            for peer in peers:
                self.assertIn("namespaceSelector", peer)
                self.assertTrue(peer["namespaceSelector"].get("matchLabels"), "a specific namespace")
                self.assertIn("podSelector", peer)

    def test_init_job_pods_accept_nothing(self):
        self.assertEqual(self.allowed_sources("mongo-init"), [])

    # Ingress -----------------------------------------------------------------------------------

    def test_ingress_routes_websockets_to_the_host_over_tls(self):
        ingress = self.named("Ingress", "solstice")
        annotations = ingress["metadata"].get("annotations", {})
        self.assertEqual(ingress["spec"]["ingressClassName"], "nginx")
        for name in ("proxy-read-timeout", "proxy-send-timeout"):
            self.assertGreaterEqual(int(annotations[f"nginx.ingress.kubernetes.io/{name}"]), 300, name)
        rule_hosts = {r["host"] for r in ingress["spec"]["rules"]}
        tls_hosts = {h for t in ingress["spec"].get("tls", []) for h in t["hosts"]}
        self.assertTrue(rule_hosts)
        self.assertLessEqual(rule_hosts, tls_hosts)
        backends = {}
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backends[path["path"]] = path["backend"]["service"]
        self.assertIn("/ws/prices", backends)
        for backend in backends.values():
            svc = self.named("Service", backend["name"])
            self.assertTrue(service_selects(svc, self.pod_labels(HOST)))
            port = backend["port"]
            self.assertIn(port.get("name", port.get("number")), [p.get("name") for p in svc["spec"]["ports"]] + [p["port"] for p in svc["spec"]["ports"]])


class DevManifests(Manifests, unittest.TestCase):
    overlay = "dev"

    def test_dev_secret_is_complete(self):
        secret = self.named("Secret", "solstice-secrets")
        data = secret.get("stringData", {})
        self.assertEqual(set(data), SECRET_ENV)
        self.assertGreaterEqual(len(data["SOLSTICE_INTERNAL_SECRET"]), 32)
        self.assertIn("replicaSet=rs0", data["MONGODB_URI"])


class ProdManifests(Manifests, unittest.TestCase):
    overlay = "prod"

    def test_prod_settings(self):
        data = self.named("ConfigMap", "solstice-config")["data"]
        self.assertEqual(data["SOLSTICE_COOKIE_SECURE"], "true")
        self.assertEqual(data["SOLSTICE_TRUSTED_PROXY_HOPS"], "1")
        self.assertEqual(data["STAKE_EPOCH_SECONDS"], "172800")
        for d in self.of("Deployment"):
            self.assertGreaterEqual(d["spec"]["replicas"], 3, d["metadata"]["name"])

    def test_prod_secret_is_never_applied_from_the_repository(self):
        # Created once by the operator; an apply must not overwrite it with repository values.
        self.assertEqual(self.of("Secret"), [])


def main():
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    # A test counts once, however many of its subtests failed.
    failed = len({getattr(t, "test_case", t).id() for t, _ in result.failures + result.errors})
    print(f"{result.testsRun - failed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
