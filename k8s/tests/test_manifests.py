"""Invariants of the rendered Kubernetes manifests, for every overlay (dev and prod).

Each test asserts a property of the objects as they would be applied: selectors, probes,
rollout and disruption settings, autoscaling, resources, images, secrets, security contexts,
network policies (ingress and egress), the Ingress, the wiring between host and services and
the market recorder's settings.

The rendered YAML is read from $SOLSTICE_K8S_RENDERED/<overlay>.yaml when that variable is set
(scripts/check-k8s sets it); otherwise each overlay is rendered here with k8s/render.py.
Run: python k8s/tests/test_manifests.py  (PyYAML and cryptography needed, as pinned in
k8s/requirements.txt). Last line: "N passed, N failed".
"""

import json
import os
import re
import sys
import unittest
from urllib.parse import parse_qs, unquote, urlsplit

import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

K8S = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, K8S)

NAMESPACE = "solstice"
HOST = "solstice"  # the host's Deployment, Service and pod name label
SERVICES = {"portfolio": 3101, "transfer": 3102, "swap": 3103, "stake": 3104}
# The market recorder (services/recorder): the only writer of prices and the only pod that may
# reach the internet (its sources, on 443). No Service (nothing calls it), no autoscaler: two
# replicas, one leading through a lease in MongoDB.
RECORDER = "recorder"
RECORDER_PORT = 3105
RECORDER_REPLICAS = 2
APPS = {HOST, *SERVICES, RECORDER}
# Each workload connects to MongoDB as a user of its own: its container's MONGODB_URI comes
# from its own key of the Secret `solstice-secrets`. The portfolio service only reads: its key
# holds the URI of a user with nothing but the `read` role, and no other workload gets it.
READONLY_URI_KEY = "MONGODB_URI_READONLY"
URI_KEY_OF = {
    HOST: "MONGODB_URI_HOST",
    "portfolio": READONLY_URI_KEY,
    "transfer": "MONGODB_URI_TRANSFER",
    "swap": "MONGODB_URI_SWAP",
    "stake": "MONGODB_URI_STAKE",
    RECORDER: "MONGODB_URI_RECORDER",
}
# The role the Job mongo-init gives each key's user on the database: `read` for the portfolio
# service, `readWrite` for the host and the services that move money, and for the recorder a
# role that writes the price collections only.
ROLE_OF_KEY = {
    READONLY_URI_KEY: "read",
    **{URI_KEY_OF[name]: "readWrite" for name in (HOST, "transfer", "swap", "stake")},
    URI_KEY_OF[RECORDER]: "priceWriter",
}
# What the recorder writes (services/market/src/store.rs: TICKS, CANDLES;
# services/recorder/src/lease.rs: RECORDER).
PRICE_COLLECTIONS = {"price_ticks", "price_candles", "market_recorder"}
# MongoDB's administration: the members' keyfile and the root user. Only the MongoDB pods and
# the init Job get this Secret; no container of the host, the services or the recorder does.
MONGO_ADMIN = "mongo-admin"
MONGO_ADMIN_KEYS = {"MONGO_ROOT_USERNAME", "MONGO_ROOT_PASSWORD", "keyfile"}
ADMIN_PODS = {"mongo", "mongo-init"}
# Settings that are secrets: only ever from a Secret, never in a ConfigMap or a literal.
SECRET_ENV = {"MONGODB_URI", "SOLSTICE_SIGNING_KEY", "SOLSTICE_SIMULATION_SEED", "MONGO_ROOT_USERNAME",
              "MONGO_ROOT_PASSWORD", *URI_KEY_OF.values()}
# The keys of `solstice-secrets` every deployment needs; the simulation seed is optional
# (unset: random).
REQUIRED_SECRETS = {*URI_KEY_OF.values(), "SOLSTICE_SIGNING_KEY"}
# The secrets each binary gets, as {variable: key of the Secret `solstice-secrets`}. Least
# privilege: only the host signs calls to the services, so only the host gets the signing key;
# the services get the callers' public keys (SOLSTICE_TRUSTED_CALLERS, from the ConfigMap), so
# none of them, the read-only portfolio service included, holds a key that can move money; and
# each gets the database user of its own role.
SECRETS_OF = {
    HOST: {"MONGODB_URI": URI_KEY_OF[HOST], "SOLSTICE_SIGNING_KEY": "SOLSTICE_SIGNING_KEY"},
    **{name: {"MONGODB_URI": URI_KEY_OF[name]} for name in SERVICES},
    RECORDER: {"MONGODB_URI": URI_KEY_OF[RECORDER], "SOLSTICE_SIMULATION_SEED": "SOLSTICE_SIMULATION_SEED"},
}
# A MongoDB connection string with a user and a password: (user, password, hosts, options).
MONGODB_URI = re.compile(r"^mongodb://([^:@/]+):([^@/]+)@([^/?]+)/?(?:\?(.*))?$")
# The callers the services trust (services/kit/src/auth.rs): `name=public key`, comma-separated,
# a name of letters, digits and '-' (at most 32), a key of 64 hex digits (Ed25519; the signing
# key, its seed, is 64 hex digits too).
CALLER_NAME = re.compile(r"^[A-Za-z0-9-]{1,32}$")
HEX_KEY = re.compile(r"^[0-9A-Fa-f]{64}$")
# What the base and the prod overlay ship until the operator sets the host's public key: not 64
# hex digits, so the services refuse to start rather than trust a key nobody holds.
UNSET_PUBLIC_KEY = "REPLACE_WITH_THE_HOST_PUBLIC_KEY"
DEV_SECRET = os.path.join(K8S, "overlays", "dev", "secret.yaml")
MEMBERS = [f"mongo-{i}.mongo:27017" for i in range(3)]
# Binaries that read SOLSTICE_PRICE_FRESHNESS_SECONDS (server/src/config.rs,
# services/{portfolio,swap,recorder}): they must agree on when a price is stale.
FRESHNESS_READERS = {HOST, "portfolio", "swap", RECORDER}
# Settings that no longer exist: prices come from the recorder's ticks in MongoDB now, and the
# shared HMAC secret gave way to the host's Ed25519 key and the services' trusted callers.
REMOVED_ENV = {"SOLSTICE_MARKET_SEED", "SOLSTICE_PRICE_TICK_MS", "SOLSTICE_INTERNAL_SECRET"}
MARKETS = {"live", "simulated", "auto"}
PRICE_SOURCES = {"kraken", "coinbase"}
PRIVATE_RANGES = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"}
# Pods that may connect to MongoDB: the host, the services, the recorder, the members, the
# init Job.
MONGO_CLIENTS = {HOST, *SERVICES, RECORDER, "mongo", "mongo-init"}
NAME = "app.kubernetes.io/name"
# The environment variables each binary reads (its clap Config: server/src/config.rs,
# services/kit/src/start.rs, services/kit/src/serve.rs and services/*/src/lib.rs), plus
# RUST_LOG. A variable set on a container that its binary does not read is a typo or a
# leftover, silently ignored.
# Every process's time and connection limits (services/kit/src/serve.rs, ConnectionLimits).
CONNECTION_LIMITS_ENV = {"SOLSTICE_HEADER_TIMEOUT_SECONDS", "SOLSTICE_REQUEST_TIMEOUT_SECONDS", "SOLSTICE_MAX_CONNECTIONS"}
COMMON_ENV = {"MONGODB_URI", "SOLSTICE_DATABASE", "SOLSTICE_SHUTDOWN_DELAY_SECONDS", "RUST_LOG"} | CONNECTION_LIMITS_ENV
# The services' CommonConfig (services/kit/src/start.rs) adds the callers they trust.
SERVICE_ENV = COMMON_ENV | {"SOLSTICE_TRUSTED_CALLERS", "SOLSTICE_WATCH_ORPHANS"}
READS = {
    HOST: COMMON_ENV | {
        "SOLSTICE_ADDR", "SOLSTICE_SITE_ROOT", "SOLSTICE_COOKIE_SECURE", "SOLSTICE_SESSION_IDLE_MINUTES",
        "SOLSTICE_SESSION_MAX_HOURS", "SOLSTICE_SESSION_CACHE_SECONDS", "SOLSTICE_WATCH_ORPHANS", "SOLSTICE_TRUSTED_PROXY_HOPS", "SOLSTICE_MAX_INITIAL_SOL",
        "SOLSTICE_LOGIN_FAILURES_PER_ADDRESS_AND_CLIENT", "SOLSTICE_LOGIN_FAILURES_PER_ADDRESS",
        "SOLSTICE_LOGIN_SLOWED_SECONDS", "SOLSTICE_LOGIN_FAILURES_PER_CLIENT", "SOLSTICE_SIGNUPS_PER_CLIENT",
        "SOLSTICE_FAUCET_SOL_PER_CLIENT_PER_DAY", "SOLSTICE_FAUCET_SOL_PER_DAY", "SOLSTICE_RATE_LIMIT_WINDOW_SECONDS",
        "SOLSTICE_PRICE_FRESHNESS_SECONDS", "SOLSTICE_PORTFOLIO_URL", "SOLSTICE_TRANSFER_URL", "SOLSTICE_SWAP_URL",
        "SOLSTICE_STAKE_URL", "SOLSTICE_SIGNING_KEY", "SOLSTICE_SERVICE_TIMEOUT_MS", "SOLSTICE_WS_PER_CLIENT",
        "SOLSTICE_WS_MAX_CONNECTIONS", "SOLSTICE_ALLOWED_ORIGINS", "SOLSTICE_LOG_FORMAT",
    },
    "portfolio": SERVICE_ENV | {"PORTFOLIO_ADDR", "SOLSTICE_PRICE_FRESHNESS_SECONDS"},
    "transfer": SERVICE_ENV | {"TRANSFER_ADDR"},
    "swap": SERVICE_ENV | {
        "SWAP_ADDR", "SOLSTICE_PRICE_FRESHNESS_SECONDS", "SWAP_QUOTE_TTL_SECONDS",
        "SWAP_TREASURY_SHARDS", "SWAP_REBALANCE_MS", "SWAP_REBALANCE_LEASE_MS",
    },
    "stake": SERVICE_ENV | {
        "STAKE_ADDR", "STAKE_EPOCH_SECONDS", "STAKE_REWARD_POLL_MS", "STAKE_REWARD_BATCH", "STAKE_MAX_OPEN_ACCOUNTS",
    },
    # services/recorder/src/lib.rs: no signing key and no trusted callers (it makes and serves
    # no signed call), and not the hidden RECORDER_TICK_MS, which only tests change.
    RECORDER: COMMON_ENV | {
        "RECORDER_ADDR", "SOLSTICE_MARKET", "SOLSTICE_PRICE_SOURCES", "SOLSTICE_SIMULATION_SEED",
        "SOLSTICE_PRICE_FRESHNESS_SECONDS", "SOLSTICE_PRICE_DISAGREEMENT_BPS", "RECORDER_LEASE_SECONDS",
        "SOLSTICE_PRICE_BACKFILL", "KRAKEN_WS_URL", "KRAKEN_REST_URL", "COINBASE_WS_URL",
    },
}
# What the recorder's container sets: its settings in the ConfigMap and the Secret. The
# back-fill and the sources' URLs keep the binary's defaults (the public endpoints).
RECORDER_SETS = {
    "RECORDER_ADDR", "MONGODB_URI", "SOLSTICE_SIMULATION_SEED", "SOLSTICE_DATABASE", "SOLSTICE_SHUTDOWN_DELAY_SECONDS",
    "SOLSTICE_REQUEST_TIMEOUT_SECONDS", "RUST_LOG", "SOLSTICE_MARKET", "SOLSTICE_PRICE_SOURCES",
    "SOLSTICE_PRICE_FRESHNESS_SECONDS", "SOLSTICE_PRICE_DISAGREEMENT_BPS", "RECORDER_LEASE_SECONDS",
}
# The host makes up to three attempts at a service call (services/kit/src/client.rs).
SERVICE_CALL_ATTEMPTS = 3
SECRET_LOOKING_KEY = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|KEY|CREDENTIAL|SEED", re.I)
URI_WITH_CREDENTIALS = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@\s]+:[^/@\s]*@", re.I)


def load(overlay):
    rendered = os.environ.get("SOLSTICE_K8S_RENDERED")
    if rendered:
        with open(os.path.join(rendered, f"{overlay}.yaml"), encoding="utf-8") as f:
            return [d for d in yaml.safe_load_all(f) if d]
    import render

    return render.render(os.path.join(K8S, "overlays", overlay))


def public_key(signing_key):
    """The Ed25519 public key, in hex, of a signing key given as its 32-byte seed in hex: what
    `solstice public-key` prints after `host=`."""
    private = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(signing_key))
    return private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def trusted_callers(value):
    """SOLSTICE_TRUSTED_CALLERS as a list of (name, public key), in order."""
    entries = [entry.strip() for entry in value.split(",") if entry.strip()]
    return [tuple(part.strip() for part in entry.split("=", 1)) if "=" in entry else (entry, None) for entry in entries]


def dev_signing_key():
    """The dev overlay's SOLSTICE_SIGNING_KEY (public in the repository)."""
    with open(DEV_SECRET, encoding="utf-8") as f:
        return yaml.safe_load(f)["stringData"]["SOLSTICE_SIGNING_KEY"]


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
        return [d for d in self.of("Deployment") if d["metadata"]["name"] in APPS]

    def pod_names(self):
        """The name label of every pod template (Deployments, the StatefulSet, the Job)."""
        return {template["metadata"]["labels"][NAME] for _, template in self.workloads()}

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
        self.assertEqual({d["metadata"]["name"] for d in self.of("Deployment")}, APPS)
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
        self.assertEqual(members, MEMBERS)

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
                self.assertTrue(any(selects(p["spec"]["selector"], labels) for p in self.of("PodDisruptionBudget")))
                if d["metadata"]["name"] == RECORDER:
                    # Exempt: nothing calls the recorder (no Service) and its replica count is
                    # fixed (no autoscaler); test_recorder_runs_two_replicas_behind_a_budget.
                    continue
                self.assertTrue(any(service_selects(s, labels) for s in self.of("Service")))
                self.assertTrue(any(h["spec"]["scaleTargetRef"]["name"] == d["metadata"]["name"] for h in self.of("HorizontalPodAutoscaler")))

    def test_recorder_runs_two_replicas_behind_a_budget(self):
        recorder = self.named("Deployment", RECORDER)
        labels = recorder["spec"]["template"]["metadata"]["labels"]
        # One leads through the lease, one stands by to take over: no more, no fewer.
        self.assertEqual(recorder["spec"]["replicas"], RECORDER_REPLICAS)
        self.assertFalse([h for h in self.of("HorizontalPodAutoscaler") if h["spec"]["scaleTargetRef"]["name"] == RECORDER],
                         "no autoscaler: more replicas would only wait for the lease")
        self.assertFalse([s for s in self.of("Service") if service_selects(s, labels)], "nothing calls the recorder")
        budgets = [p for p in self.of("PodDisruptionBudget") if selects(p["spec"]["selector"], labels)]
        self.assertEqual(len(budgets), 1)
        # A drain may take one replica (the other keeps or takes the lease), never both.
        self.assertEqual(budgets[0]["spec"].get("minAvailable"), 1)
        self.assertLess(budgets[0]["spec"]["minAvailable"], recorder["spec"]["replicas"])

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

    def test_app_containers_get_exactly_their_secrets(self):
        for d in self.app_deployments():
            c = d["spec"]["template"]["spec"]["containers"][0]
            name = d["metadata"]["name"]
            with self.subTest(name):
                refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in c.get("env", [])
                        if "secretKeyRef" in e.get("valueFrom", {})}
                self.assertEqual({variable: ref["key"] for variable, ref in refs.items()}, SECRETS_OF[name])
                for variable, ref in refs.items():
                    self.assertEqual(ref["name"], "solstice-secrets", variable)
                    # Only the simulation seed may be missing from the Secret.
                    self.assertEqual(ref.get("optional", False), ref["key"] not in REQUIRED_SECRETS, variable)

    # MongoDB's users -------------------------------------------------------------------------

    def secret_refs(self, container):
        """(variable, Secret name, key, optional) of every variable a container takes from a Secret."""
        return [(e["name"], ref["name"], ref["key"], ref.get("optional", False)) for e in container.get("env", [])
                for ref in [e.get("valueFrom", {}).get("secretKeyRef")] if ref]

    def pod_name_of(self, owner):
        return owner["spec"]["template"]["metadata"]["labels"][NAME]

    def init_job_container(self):
        return self.named("Job", "mongo-init")["spec"]["template"]["spec"]["containers"][0]

    def test_mongo_requires_authentication(self):
        # The members run with a keyfile, which turns authorization on: no client reaches the
        # data without a user. The keyfile comes from the Secret mongo-admin, copied with mode
        # 0400 (mongod refuses a group-readable one) by an init container.
        spec = self.named("StatefulSet", "mongo")["spec"]["template"]["spec"]
        mongod = spec["containers"][0]
        self.assertEqual(mongod["name"], "mongod")
        keyfiles = [a.split("=", 1)[1] for a in mongod["command"] if a.startswith("--keyFile=")]
        self.assertEqual(len(keyfiles), 1, "--keyFile=PATH in the command (every overlay's)")
        for flag in ("--noauth", "--transitionToAuth"):
            self.assertFalse([a for a in mongod["command"] if a.startswith(flag)], flag)
        volumes = {v["name"]: v for v in spec["volumes"]}
        mounts = [m for m in mongod["volumeMounts"] if keyfiles[0].startswith(m["mountPath"].rstrip("/") + "/")]
        self.assertEqual(len(mounts), 1, "the keyfile is on a volume of its own")
        self.assertIn("emptyDir", volumes[mounts[0]["name"]])
        copiers = [c for c in spec.get("initContainers", []) if c.get("restartPolicy") != "Always"
                   and mounts[0]["name"] in {m["name"] for m in c.get("volumeMounts", [])}]
        self.assertEqual(len(copiers), 1, "an init container fills it")
        self.assertIn("install -m 0400", " ".join(copiers[0]["command"] + copiers[0].get("args", [])))
        sources = [volumes[m["name"]]["secret"] for m in copiers[0]["volumeMounts"] if "secret" in volumes[m["name"]]]
        self.assertEqual([(s["secretName"], [i["key"] for i in s.get("items", [])]) for s in sources],
                         [(MONGO_ADMIN, ["keyfile"])], "only the keyfile of mongo-admin")
        self.assertFalse(sources[0].get("optional", False))

    def test_mongo_bootstrap_creates_the_root_user_from_the_admin_secret(self):
        # Once auth is on, only a client on the member's own 127.0.0.1 (the localhost exception)
        # can initiate the set and create the first user: a sidecar of each member does both.
        spec = self.named("StatefulSet", "mongo")["spec"]["template"]["spec"]
        sidecars = [c for c in spec.get("initContainers", []) if c.get("restartPolicy") == "Always"]
        self.assertEqual([c["name"] for c in sidecars], ["bootstrap"])
        bootstrap = sidecars[0]
        self.assertEqual({(v, s, k) for v, s, k, optional in self.secret_refs(bootstrap) if not optional},
                         {("MONGO_ROOT_USERNAME", MONGO_ADMIN, "MONGO_ROOT_USERNAME"),
                          ("MONGO_ROOT_PASSWORD", MONGO_ADMIN, "MONGO_ROOT_PASSWORD")})
        self.assertEqual(len(self.secret_refs(bootstrap)), 2)
        script = " ".join(bootstrap["command"] + bootstrap.get("args", []))
        for needed in ("rs.initiate(", "createUser(", 'role: "root"', "127.0.0.1"):
            self.assertIn(needed, script)
        self.assertNotRegex(script, r"\$\{?MONGO_ROOT_PASSWORD", "read by mongosh from the environment, never on a command line")
        members = self.env_of(bootstrap)["MEMBERS"]["value"].split()
        self.assertEqual(members, self.env_of(self.init_job_container())["MEMBERS"]["value"].split())

    def test_portfolio_connects_as_the_read_only_user(self):
        c = self.named("Deployment", "portfolio")["spec"]["template"]["spec"]["containers"][0]
        ref = self.env_of(c)["MONGODB_URI"]["valueFrom"]["secretKeyRef"]
        self.assertEqual((ref["name"], ref["key"]), ("solstice-secrets", READONLY_URI_KEY))
        self.assertFalse(ref.get("optional", False), "the service does not start without its user")

    def test_no_other_workload_gets_the_read_only_uri(self):
        # The portfolio service and the Job that creates its user (which holds root anyway).
        # Whole Secrets as variables or volumes are excluded by test_only_the_host_gets_the_signing_key.
        holders = set()
        for owner, _, c in self.containers():
            for variable, secret, key, _ in self.secret_refs(c):
                if key == READONLY_URI_KEY:
                    holders.add((self.pod_name_of(owner), c["name"], variable))
        self.assertEqual(holders, {("portfolio", "portfolio", "MONGODB_URI"),
                                   ("mongo-init", "create-users", READONLY_URI_KEY)})

    def test_every_app_connects_as_a_user_of_its_own(self):
        keys = {}
        for d in self.app_deployments():
            c = d["spec"]["template"]["spec"]["containers"][0]
            keys[d["metadata"]["name"]] = self.env_of(c)["MONGODB_URI"]["valueFrom"]["secretKeyRef"]["key"]
        self.assertEqual(keys, URI_KEY_OF)
        self.assertEqual(len(set(keys.values())), len(keys), "no two workloads share a key")

    def test_no_app_container_gets_the_database_admin_credentials(self):
        # The keyfile and root's credentials reach MongoDB's pods and the init Job only; there,
        # root's reach the bootstrap sidecar and the Job, and the keyfile the copying init
        # container. Never a container of the host, a service or the recorder.
        for owner, template in self.workloads():
            pod = self.pod_name_of(owner)
            spec = template["spec"]
            for c in spec.get("containers", []) + spec.get("initContainers", []):
                with self.subTest(f"{pod}/{c['name']}"):
                    admin = [(v, k, optional) for v, s, k, optional in self.secret_refs(c) if s == MONGO_ADMIN]
                    named_root = {v for v in self.env_of(c) if v.startswith("MONGO_ROOT_")}
                    if pod in ADMIN_PODS and c["name"] in ("bootstrap", "create-users"):
                        self.assertEqual(sorted(admin), [("MONGO_ROOT_PASSWORD", "MONGO_ROOT_PASSWORD", False),
                                                         ("MONGO_ROOT_USERNAME", "MONGO_ROOT_USERNAME", False)])
                    else:
                        self.assertEqual(admin, [])
                        self.assertEqual(named_root, set())
                    if pod not in ADMIN_PODS:
                        for variable, secret, key, _ in self.secret_refs(c):
                            self.assertNotIn(key, MONGO_ADMIN_KEYS, variable)
            with self.subTest(f"{pod} volumes"):
                mounted = self.secrets_mounted(template)
                if pod == "mongo":
                    self.assertEqual(mounted, {MONGO_ADMIN})
                else:
                    self.assertNotIn(MONGO_ADMIN, mounted)

    def test_init_job_creates_each_user_with_the_least_role(self):
        job = self.init_job_container()
        env = self.env_of(job)
        users = json.loads(env["USERS"]["value"])
        # The portfolio service's user can read and nothing else; every app's key is created.
        self.assertEqual(users[READONLY_URI_KEY], "read")
        self.assertEqual(users, ROLE_OF_KEY)
        self.assertEqual(set(users), set(URI_KEY_OF.values()))
        self.assertEqual(set(env["PRICE_WRITER_COLLECTIONS"]["value"].split()), PRICE_COLLECTIONS)
        # Names and passwords from the app's own keys (the Secret is the one source of truth);
        # root's from mongo-admin; the database from the ConfigMap the apps read.
        refs = {v: (s, k, optional) for v, s, k, optional in self.secret_refs(job)}
        for key in users:
            self.assertEqual(refs[key], ("solstice-secrets", key, False), key)
        for key in ("MONGO_ROOT_USERNAME", "MONGO_ROOT_PASSWORD"):
            self.assertEqual(refs[key], (MONGO_ADMIN, key, False), key)
        self.assertEqual(set(refs), set(users) | {"MONGO_ROOT_USERNAME", "MONGO_ROOT_PASSWORD"})
        ref = env["SOLSTICE_DATABASE"]["valueFrom"]["configMapKeyRef"]
        self.assertEqual((ref["name"], ref["key"]), ("solstice-config", "SOLSTICE_DATABASE"))
        script = " ".join(job["command"] + job.get("args", []))
        # Roles come from USERS only: the script names no built-in role of its own.
        self.assertIn("JSON.parse(env.USERS)", script)
        self.assertNotRegex(script, r"\$\{?(MONGO_ROOT_PASSWORD|MONGODB_URI)", "credentials never on a command line")
        for role in ("readWrite", "dbOwner", "root", "readWriteAnyDatabase", "dbAdmin"):
            self.assertNotRegex(script, rf"role:\s*\"{role}\"", role)
        # The recorder's role writes its collections and nothing else.
        self.assertIn("env.PRICE_WRITER_COLLECTIONS.split", script)
        self.assertNotIn("dropDatabase", script)

    def secrets_mounted(self, template):
        """The names of the Secrets a pod template mounts as volumes (plain or projected)."""
        names = set()
        for volume in template["spec"].get("volumes", []):
            if "secret" in volume:
                names.add(volume["secret"].get("secretName"))
            for source in volume.get("projected", {}).get("sources", []):
                if "secret" in source:
                    names.add(source["secret"].get("name"))
        return names

    def test_only_the_host_gets_the_signing_key(self):
        # The key that signs the calls which move money is in the host's container and nowhere
        # else: no service (the read-only portfolio service included), recorder, database or Job
        # gets it, by a variable, a whole Secret as variables or a mounted Secret.
        holders = set()
        for owner, _, c in self.containers():
            where = owner["metadata"]["name"] + "/" + c["name"]
            with self.subTest(where):
                if "SOLSTICE_SIGNING_KEY" in self.env_of(c):
                    holders.add(where)
                for source in c.get("envFrom", []):
                    self.assertNotIn("secretRef", source, "no whole Secret as variables")
        self.assertEqual(holders, {f"{HOST}/{HOST}"})
        for owner, template in self.workloads():
            with self.subTest(owner["metadata"]["name"] + " volumes"):
                self.assertNotIn("solstice-secrets", self.secrets_mounted(template))
        host = self.env_of(self.named("Deployment", HOST)["spec"]["template"]["spec"]["containers"][0])
        ref = host["SOLSTICE_SIGNING_KEY"].get("valueFrom", {}).get("secretKeyRef")
        self.assertIsNotNone(ref, "from the Secret, never a literal")
        self.assertEqual((ref["name"], ref["key"]), ("solstice-secrets", "SOLSTICE_SIGNING_KEY"))
        self.assertFalse(ref.get("optional", False), "the host does not start without it")

    def test_services_trust_the_host_through_the_config_map(self):
        # Public keys: from the ConfigMap (never a Secret, never a literal that could drift
        # between services), one key for all four services, naming the host.
        for d in self.app_deployments():
            name = d["metadata"]["name"]
            env = self.env_of(d["spec"]["template"]["spec"]["containers"][0])
            with self.subTest(name):
                if name not in SERVICES:
                    self.assertNotIn("SOLSTICE_TRUSTED_CALLERS", env, "only the services check signatures")
                    continue
                ref = env["SOLSTICE_TRUSTED_CALLERS"].get("valueFrom", {}).get("configMapKeyRef")
                self.assertIsNotNone(ref, "from the ConfigMap")
                self.assertEqual((ref["name"], ref["key"]), ("solstice-config", "SOLSTICE_TRUSTED_CALLERS"))
        for secret in self.of("Secret"):
            keys = set(secret.get("stringData") or {}) | set(secret.get("data") or {})
            self.assertNotIn("SOLSTICE_TRUSTED_CALLERS", keys, "not a secret")
        callers = trusted_callers(self.named("ConfigMap", "solstice-config")["data"]["SOLSTICE_TRUSTED_CALLERS"])
        names = [name for name, _ in callers]
        self.assertIn("host", names)
        # A name listed twice (old and new key, during a rotation) must not list one key twice.
        self.assertEqual(len(callers), len(set(callers)), "no entry twice")
        for name, key in callers:
            with self.subTest(name):
                self.assertRegex(name, CALLER_NAME)
                self.assertIsNotNone(key, "name=public key")
                if key != UNSET_PUBLIC_KEY:
                    self.assertRegex(key, HEX_KEY)

    def test_recorder_gets_no_signing_key_and_trusts_no_caller(self):
        # Least privilege: the recorder makes no signed call and serves none.
        for owner, _, c in self.containers():
            if owner["spec"]["template"]["metadata"]["labels"].get(NAME) == RECORDER:
                with self.subTest(c["name"]):
                    self.assertNotIn("SOLSTICE_SIGNING_KEY", self.env_of(c))
                    self.assertNotIn("SOLSTICE_TRUSTED_CALLERS", self.env_of(c))
                    self.assertFalse(c.get("envFrom"), "no whole Secret or ConfigMap")

    def test_simulation_seed_comes_only_from_the_secret(self):
        referenced_by = set()
        for owner, _, c in self.containers():
            env = self.env_of(c).get("SOLSTICE_SIMULATION_SEED")
            if env is None:
                continue
            referenced_by.add(owner["metadata"]["name"])
            with self.subTest(owner["metadata"]["name"] + "/" + c["name"]):
                self.assertNotIn("value", env, "never a literal")
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                self.assertIsNotNone(ref, "from a Secret, never a ConfigMap")
                self.assertEqual((ref["name"], ref["key"]), ("solstice-secrets", "SOLSTICE_SIMULATION_SEED"))
                # Optional: without it the recorder draws a seed at random per deployment.
                self.assertIs(ref.get("optional"), True)
        self.assertLessEqual(referenced_by, {RECORDER}, "only the recorder computes the simulated market")
        for cm in self.of("ConfigMap"):
            self.assertNotIn("SOLSTICE_SIMULATION_SEED", cm.get("data") or {}, cm["metadata"]["name"])

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
                if name == RECORDER:
                    self.assertEqual(int(port), RECORDER_PORT)

    def test_host_service_urls_point_at_services_of_the_right_pods(self):
        host = self.named("Deployment", HOST)["spec"]["template"]["spec"]["containers"][0]
        for name, port in SERVICES.items():
            with self.subTest(name):
                url = urlsplit(self.config_value(self.env_of(host)[f"SOLSTICE_{name.upper()}_URL"]))
                self.assertEqual(url.scheme, "http")
                svc = self.named("Service", url.hostname)
                self.assertIn(url.port, [p["port"] for p in svc["spec"]["ports"]])
                self.assertTrue(service_selects(svc, self.pod_labels(name)), "the Service selects the service's pods")

    def test_price_freshness_has_one_source(self):
        # The recorder, the host, swap and portfolio must agree on when a price is stale.
        sources = set()
        readers = set()
        for d in self.app_deployments():
            env = self.env_of(d["spec"]["template"]["spec"]["containers"][0])
            if "SOLSTICE_PRICE_FRESHNESS_SECONDS" in env:
                readers.add(d["metadata"]["name"])
                ref = env["SOLSTICE_PRICE_FRESHNESS_SECONDS"].get("valueFrom", {}).get("configMapKeyRef")
                self.assertIsNotNone(ref, "from the ConfigMap, never a literal")
                sources.add((ref["name"], ref["key"]))
        self.assertEqual(readers, FRESHNESS_READERS)
        self.assertEqual(sources, {("solstice-config", "SOLSTICE_PRICE_FRESHNESS_SECONDS")})

    def test_recorder_sets_its_settings_from_the_config_map_and_the_secret(self):
        c = self.named("Deployment", RECORDER)["spec"]["template"]["spec"]["containers"][0]
        env = self.env_of(c)
        self.assertEqual(set(env), RECORDER_SETS)
        for name in RECORDER_SETS - SECRET_ENV - {"RECORDER_ADDR"}:
            with self.subTest(name):
                ref = env[name].get("valueFrom", {}).get("configMapKeyRef")
                self.assertEqual((ref["name"], ref["key"]), ("solstice-config", name))

    def test_market_settings_are_valid(self):
        recorder = self.env_of(self.named("Deployment", RECORDER)["spec"]["template"]["spec"]["containers"][0])
        self.assertIn(self.config_value(recorder["SOLSTICE_MARKET"]), MARKETS)
        sources = self.config_value(recorder["SOLSTICE_PRICE_SOURCES"]).split(",")
        self.assertTrue(sources)
        self.assertLessEqual(set(sources), PRICE_SOURCES)
        self.assertEqual(len(sources), len(set(sources)), "each source once")
        self.assertGreaterEqual(int(self.config_value(recorder["SOLSTICE_PRICE_FRESHNESS_SECONDS"])), 1)
        self.assertGreater(int(self.config_value(recorder["SOLSTICE_PRICE_DISAGREEMENT_BPS"])), 0)
        # The binary never takes a lease shorter than 2 s.
        self.assertGreaterEqual(int(self.config_value(recorder["RECORDER_LEASE_SECONDS"])), 2)

    def test_no_manifest_mentions_removed_settings(self):
        # Rendered objects, and the sources with their comments.
        texts = {"rendered": yaml.safe_dump_all(self.objects)}
        for top in ("base", "overlays"):
            for directory, _, files in os.walk(os.path.join(K8S, top)):
                for file in files:
                    if file.endswith((".yaml", ".yml")):
                        path = os.path.join(directory, file)
                        with open(path, encoding="utf-8") as f:
                            texts[os.path.relpath(path, K8S)] = f.read()
        for where, text in texts.items():
            for name in REMOVED_ENV:
                with self.subTest(where + "/" + name):
                    self.assertNotIn(name, text)

    def test_shutdown_delay_and_request_timeout_fit_in_the_grace_period(self):
        for d in self.app_deployments():
            with self.subTest(d["metadata"]["name"]):
                spec = d["spec"]["template"]["spec"]
                env = self.env_of(spec["containers"][0])
                delay = int(self.config_value(env["SOLSTICE_SHUTDOWN_DELAY_SECONDS"]))
                ref = env["SOLSTICE_REQUEST_TIMEOUT_SECONDS"].get("valueFrom", {}).get("configMapKeyRef")
                self.assertEqual((ref["name"], ref["key"]), ("solstice-config", "SOLSTICE_REQUEST_TIMEOUT_SECONDS"))
                timeout = int(self.config_value(env["SOLSTICE_REQUEST_TIMEOUT_SECONDS"]))
                self.assertGreaterEqual(delay, 1)
                self.assertGreaterEqual(timeout, 1)
                # The delay, then every request in flight finishes or gets its 503 at the
                # timeout, with 5 s to spare before the SIGKILL.
                self.assertGreaterEqual(spec["terminationGracePeriodSeconds"], delay + timeout + 5)

    def test_host_gives_up_on_a_service_within_its_own_request_timeout(self):
        # All attempts at a service call fit in the host's request time limit, so a user whose
        # service is down is told it is unavailable rather than cut off with a bare 503.
        env = self.env_of(self.named("Deployment", HOST)["spec"]["template"]["spec"]["containers"][0])
        attempt_ms = int(self.config_value(env["SOLSTICE_SERVICE_TIMEOUT_MS"]))
        timeout = int(self.config_value(env["SOLSTICE_REQUEST_TIMEOUT_SECONDS"]))
        self.assertLess(SERVICE_CALL_ATTEMPTS * attempt_ms / 1000 + 1, timeout)

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

    def test_recorder_accepts_nothing(self):
        # Nothing calls it; the kubelet's probes come from the node and are not affected.
        self.assertEqual(self.allowed_sources(RECORDER), [])

    # Egress ------------------------------------------------------------------------------------

    def egress_rules(self, target):
        """For every policy rule letting pods named `target` connect out: (peers, ports)."""
        rules = []
        for policy in self.policies_selecting(self.pod_labels(target)):
            if "Egress" in policy["spec"]["policyTypes"]:
                for rule in policy["spec"].get("egress", []):
                    rules.append((rule.get("to"), rule.get("ports")))
        return rules

    @staticmethod
    def admits_port(ports, number, protocol="TCP"):
        """Whether a rule's `ports` let through `number`/`protocol` (no ports: every port)."""
        if not ports:
            return True
        for p in ports:
            if p.get("protocol", "TCP") != protocol:
                continue
            port = p.get("port")
            if port is None or isinstance(port, str):
                return True  # every port, or a named one that could be anything
            if port <= number <= p.get("endPort", port):
                return True
        return False

    @staticmethod
    def leaves_the_namespace_pods(peers):
        """Whether `peers` admit addresses (an IP block, or anywhere) rather than pods."""
        return not peers or any("ipBlock" in peer for peer in peers)

    def test_egress_is_denied_by_default(self):
        deny = [p for p in self.of("NetworkPolicy")
                if p["spec"]["podSelector"] == {} and "Egress" in p["spec"]["policyTypes"] and not p["spec"].get("egress")]
        self.assertTrue(deny, "a policy selecting every pod and allowing no egress")

    def test_only_the_recorder_reaches_the_internet_on_443(self):
        for name in self.pod_names():
            with self.subTest(name):
                policies = [p for p in self.policies_selecting(self.pod_labels(name)) if "Egress" in p["spec"]["policyTypes"]]
                self.assertTrue(policies, "egress is restricted")
                rules = self.egress_rules(name)
                for peers, ports in rules:
                    self.assertTrue(ports, "every rule names its ports")
                    if name != RECORDER:
                        self.assertFalse(self.admits_port(ports, 443), f"{name} may not connect to 443: {ports}")
                        self.assertFalse(self.leaves_the_namespace_pods(peers), f"{name} may reach in-cluster peers only: {peers}")
                    elif self.leaves_the_namespace_pods(peers):
                        # The sources: public addresses, TCP 443 and nothing else.
                        self.assertEqual([(p.get("port"), p.get("protocol", "TCP"), p.get("endPort")) for p in ports],
                                         [(443, "TCP", None)])
                        for peer in peers:
                            self.assertEqual(set(peer), {"ipBlock"})
                            self.assertLessEqual(PRIVATE_RANGES, set(peer["ipBlock"].get("except", [])), "private ranges cut out")
                if name == RECORDER:
                    self.assertTrue(any(self.leaves_the_namespace_pods(peers) and self.admits_port(ports, 443) for peers, ports in rules),
                                    "the recorder reaches its sources")

    def test_every_pod_may_resolve_names(self):
        for name in self.pod_names():
            with self.subTest(name):
                dns = [peers for peers, ports in self.egress_rules(name)
                       if self.admits_port(ports, 53, "UDP") and self.admits_port(ports, 53, "TCP")]
                self.assertTrue(dns, "DNS over UDP and TCP")
                for peers in dns:
                    for peer in peers:
                        namespaces = peer.get("namespaceSelector", {}).get("matchLabels", {})
                        self.assertEqual(namespaces.get("kubernetes.io/metadata.name"), "kube-system", peer)

    def reaches(self, source, target, port):
        """Whether pods named `source` may connect to pods named `target` on `port`."""
        return any(self.admits_port(ports, port) and target in (self.peer_names(peers) or set())
                   for peers, ports in self.egress_rules(source))

    def test_egress_matches_ingress_between_pods(self):
        # Every connection an ingress policy admits is also allowed out of the caller, and the
        # callers reach nothing else in the namespace.
        expected = {name: set() for name in self.pod_names()}
        for client in MONGO_CLIENTS:
            expected[client].add(("mongo", 27017))
        for service, port in SERVICES.items():
            expected[HOST].add((service, port))
        for name, targets in expected.items():
            with self.subTest(name):
                for target, port in targets:
                    self.assertTrue(self.reaches(name, target, port), f"{name} -> {target}:{port}")
                for peers, ports in self.egress_rules(name):
                    for target in self.peer_names(peers) or set():
                        for p in ports:
                            self.assertIn((target, p["port"]), targets, f"{name} -> {target}:{p['port']}")

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
        # No simulation seed: a public one would make the simulated prices predictable; the
        # recorder draws one per deployment instead.
        self.assertEqual(set(data), REQUIRED_SECRETS)
        # An Ed25519 seed, as the host reads it: 64 hex digits.
        self.assertRegex(data["SOLSTICE_SIGNING_KEY"], HEX_KEY)

    def test_dev_database_users_are_distinct_and_dev_only(self):
        # What the Job creates, from the dev Secrets: one user per key, none of them root,
        # each password labelled dev-only, every URI on the three members with the users'
        # authentication database.
        data = self.named("Secret", "solstice-secrets")["stringData"]
        admin = self.named("Secret", MONGO_ADMIN)["stringData"]
        self.assertEqual(set(admin), MONGO_ADMIN_KEYS)
        self.assertIn("dev-only", admin["MONGO_ROOT_PASSWORD"])
        # A keyfile: 6 to 1024 base64 characters.
        self.assertRegex(admin["keyfile"], r"^[A-Za-z0-9+/=]{6,1024}$")
        users = {}
        for key in URI_KEY_OF.values():
            with self.subTest(key):
                match = MONGODB_URI.match(data[key])
                self.assertIsNotNone(match, "mongodb://USER:PASSWORD@HOSTS/?OPTIONS")
                user, password, hosts, options = match.groups()
                self.assertIn("dev-only", unquote(password))
                self.assertEqual(hosts.split(","), MEMBERS)
                options = parse_qs(options or "")
                self.assertEqual(options.get("replicaSet"), ["rs0"])
                self.assertEqual(options.get("authSource"), ["admin"])
                users[key] = unquote(user)
        self.assertEqual(len(set(users.values())), len(users), "a user of its own per key")
        self.assertNotIn(admin["MONGO_ROOT_USERNAME"], users.values())

    def test_dev_services_trust_the_dev_signing_key(self):
        # The services of a dev cluster accept the dev host's calls: the trusted key is the
        # public half of the dev Secret's signing key, and the host the only caller.
        seed = self.named("Secret", "solstice-secrets")["stringData"]["SOLSTICE_SIGNING_KEY"]
        callers = trusted_callers(self.named("ConfigMap", "solstice-config")["data"]["SOLSTICE_TRUSTED_CALLERS"])
        self.assertEqual([(name, key.lower()) for name, key in callers], [("host", public_key(seed))])

    def test_dev_records_real_prices_or_the_simulation(self):
        recorder = self.env_of(self.named("Deployment", RECORDER)["spec"]["template"]["spec"]["containers"][0])
        self.assertEqual(self.config_value(recorder["SOLSTICE_MARKET"]), "auto")


class ProdManifests(Manifests, unittest.TestCase):
    overlay = "prod"

    def test_prod_settings(self):
        data = self.named("ConfigMap", "solstice-config")["data"]
        # Secure cookies, and with them Strict-Transport-Security.
        self.assertEqual(data["SOLSTICE_COOKIE_SECURE"], "true")
        self.assertEqual(data["SOLSTICE_TRUSTED_PROXY_HOPS"], "1")
        self.assertEqual(data["STAKE_EPOCH_SECONDS"], "172800")
        for d in self.of("Deployment"):
            if d["metadata"]["name"] != RECORDER:  # two, fixed: test_recorder_runs_two_replicas_behind_a_budget
                self.assertGreaterEqual(d["spec"]["replicas"], 3, d["metadata"]["name"])

    def test_prod_records_the_live_market(self):
        # Never the simulated market in production, not even as a fall-back.
        self.assertEqual(self.named("ConfigMap", "solstice-config")["data"]["SOLSTICE_MARKET"], "live")
        recorder = self.env_of(self.named("Deployment", RECORDER)["spec"]["template"]["spec"]["containers"][0])
        self.assertEqual(self.config_value(recorder["SOLSTICE_MARKET"]), "live")

    def test_prod_never_trusts_the_dev_signing_key(self):
        # The dev key is public in the repository: whoever reads it could sign as the host.
        trusted = self.named("ConfigMap", "solstice-config")["data"]["SOLSTICE_TRUSTED_CALLERS"]
        self.assertNotIn(public_key(dev_signing_key()), trusted.lower())

    def test_prod_secret_is_never_applied_from_the_repository(self):
        # Created once by the operator; an apply must not overwrite it with repository values.
        self.assertEqual(self.of("Secret"), [])


class PublicKeyDerivation(unittest.TestCase):
    def test_public_key_follows_rfc_8032(self):
        # RFC 8032, section 7.1, test 1: the derivation the dev overlay's check relies on.
        seed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
        self.assertEqual(public_key(seed), "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")

    def test_trusted_callers_parse_as_the_services_do(self):
        self.assertEqual(trusted_callers(" host=AB , other=cd,"), [("host", "AB"), ("other", "cd")])
        self.assertEqual(trusted_callers("host"), [("host", None)])


def main():
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    # A test counts once, however many of its subtests failed.
    failed = len({getattr(t, "test_case", t).id() for t, _ in result.failures + result.errors})
    print(f"{result.testsRun - failed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
