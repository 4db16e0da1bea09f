"""The Kubernetes manifests (deploy/kubernetes): both overlays render with `kubectl kustomize`, every
object validates against its schema, and the invariants of a deployment hold.

Built-in kinds are validated by kubernetes-validate (the API's own schemas, strict: an unknown field
fails); custom resources by the operators' CRD schemas vendored in deploy/kubernetes/schemas
(index.json names each one's source and commit), made strict the same way. kubectl is skipped on a
developer's machine without it and fails in CI (`CI` set), as promtool does (.ci/run installs it).
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from ops import kubernetes as generate

ROOT = Path(__file__).resolve().parents[2]
KUBE = ROOT / "deploy" / "kubernetes"
SCHEMAS = KUBE / "schemas"
OVERLAYS = ("single-node", "ha")
KUBERNETES_VERSION = "1.30.0"  # the oldest release the manifests are written for
SERVICES = ("intake", "routing", "mediation", "notification", "reporting")
# the Secrets the operators create for the objects named in base/ (no manifest holds them)
OPERATOR_SECRETS = {"disputes-db-app", "disputes-broker-default-user"}
CREDENTIAL_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|_KEY$", re.IGNORECASE)


def kubectl() -> str:
    found = shutil.which("kubectl")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("kubectl is missing in CI: .ci/run installs it (Debian's kubernetes-client)")
    pytest.skip("kubectl not installed")


@cache
def rendered(overlay: str) -> tuple[dict[str, Any], ...]:
    result = subprocess.run(
        [kubectl(), "kustomize", str(KUBE / "overlays" / overlay)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def of_kind(objects: tuple[dict[str, Any], ...], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def named(objects: tuple[dict[str, Any], ...], kind: str, name: str) -> dict[str, Any]:
    (found,) = [o for o in of_kind(objects, kind) if o["metadata"]["name"] == name]
    return found


def strict(schema: Any) -> Any:
    """A CRD's schema with unknown fields refused, as `kubectl apply --validate=strict` does: every
    object that lists its properties and does not keep unknown fields gets additionalProperties false."""
    if isinstance(schema, dict):
        schema = {key: strict(value) for key, value in schema.items()}
        if (
            "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    return schema


@cache
def crd_validator(api_version: str, kind: str) -> jsonschema.Draft4Validator | None:
    index = json.loads((SCHEMAS / "index.json").read_text())
    entry = index.get(f"{api_version}/{kind}")
    if entry is None:
        return None
    schema = strict(json.loads((SCHEMAS / entry["file"]).read_text()))
    # the API server checks metadata itself; the CRDs leave it open
    schema["properties"]["metadata"] = {"type": "object"}
    return jsonschema.Draft4Validator(schema)


def containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    spec = workload["spec"]["template"]["spec"]
    return spec["containers"] + spec.get("initContainers", [])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_validates_against_its_schema(overlay):
    objects = rendered(overlay)
    custom = 0
    for obj in objects:
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        validator = crd_validator(obj["apiVersion"], obj["kind"])
        if validator is not None:
            custom += 1
            errors = sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path))
            assert not errors, f"{name}: " + "; ".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)
        else:
            try:
                kubernetes_validate.validate(copy.deepcopy(obj), KUBERNETES_VERSION, strict=True)
            except kubernetes_validate.ValidationError as exc:
                pytest.fail(f"{name}: {exc.message} at {list(exc.path)}")
            except kubernetes_validate.SchemaNotFoundError:
                pytest.fail(f"{name}: no schema for {obj['apiVersion']} {obj['kind']}; vendor its CRD")
    assert custom >= 6  # RabbitmqCluster, Cluster, ScheduledBackup, ExternalSecret, 2 ServiceMonitors, rule


def test_the_strict_crd_schema_refuses_an_unknown_field():
    # the check above could not fail if the vendored schemas let anything through
    cluster = copy.deepcopy(named(rendered("ha"), "Cluster", "disputes-db"))
    cluster["spec"]["instancess"] = 2
    assert not crd_validator("postgresql.cnpg.io/v1", "Cluster").is_valid(cluster)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_workload_has_probes_limits_and_a_disruption_budget(overlay):
    objects = rendered(overlay)
    deployments = of_kind(objects, "Deployment")
    assert sorted(d["metadata"]["name"] for d in deployments) == sorted([*SERVICES, "gateway"])
    budgets = of_kind(objects, "PodDisruptionBudget")
    for deployment in deployments:
        name = deployment["metadata"]["name"]
        template = deployment["spec"]["template"]
        for container in containers(deployment):
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][bound]), f"{name}/{container['name']}"
        main = template["spec"]["containers"][0]
        for probe in ("readinessProbe", "livenessProbe"):
            assert probe in main, f"{name} has no {probe}"
        if name == "gateway":
            assert main["readinessProbe"]["httpGet"]["path"] == "/healthz"
        else:
            assert "ops.probes ping" in " ".join(main["readinessProbe"]["exec"]["command"])
            assert "--database" in " ".join(main["readinessProbe"]["exec"]["command"])
            env = {e["name"]: e.get("value") for e in main["env"]}
            assert env["SERVICE_NAME"] == name
        # the migration first: every workload waits until every schema is at head
        waits = [c for c in template["spec"]["initContainers"] if "migrated" in c["command"]]
        assert waits, f"{name} does not wait for the migration"
        assert template["spec"]["terminationGracePeriodSeconds"] >= 30
        covering = [
            b for b in budgets if b["spec"]["selector"]["matchLabels"].items() <= template["metadata"]["labels"].items()
        ]
        assert len(covering) == 1, f"{name} has {len(covering)} disruption budgets"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_secret_holds_a_literal_credential(overlay):
    objects = rendered(overlay)
    for secret in of_kind(objects, "Secret"):
        assert not secret.get("data") and not secret.get("stringData"), secret["metadata"]["name"]
    for external in of_kind(objects, "ExternalSecret"):
        # references into the store, nothing else: no template that could carry a value
        assert set(external["spec"]) <= {"refreshInterval", "secretStoreRef", "target", "data", "dataFrom"}
        for item in external["spec"].get("data", []):
            assert set(item["remoteRef"]) == {"key"}
        for item in external["spec"].get("dataFrom", []):
            assert set(item["extract"]) == {"key"}
    provided = OPERATOR_SECRETS | {e["spec"]["target"]["name"] for e in of_kind(objects, "ExternalSecret")}
    assert {f"{c['metadata']['name']}-app" for c in of_kind(objects, "Cluster")} <= OPERATOR_SECRETS
    assert {f"{r['metadata']['name']}-default-user" for r in of_kind(objects, "RabbitmqCluster")} <= OPERATOR_SECRETS
    for workload in of_kind(objects, "Deployment") + of_kind(objects, "Job"):
        for container in containers(workload):
            for env in container.get("env", []):
                where = f"{workload['metadata']['name']}/{container['name']} {env['name']}"
                if CREDENTIAL_NAME.search(env["name"]):
                    assert env["valueFrom"]["secretKeyRef"]["name"] in provided, where
                value = env.get("value", "")
                if "@" in value:  # a URL with user info: only references to secret-backed variables
                    assert re.match(r"^\w+://\$\(\w+\):\$\(\w+\)@", value), where
            assert not container.get("envFrom") or all("configMapRef" in e for e in container["envFrom"])
    # the broker's and the database's other secrets are references too
    for config in of_kind(objects, "ConfigMap"):
        assert not any(CREDENTIAL_NAME.search(key) for key in config["data"]), config["metadata"]["name"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_the_gateway_is_reached_from_outside(overlay):
    policies = of_kind(rendered(overlay), "NetworkPolicy")
    deny = [p for p in policies if p["spec"]["podSelector"] == {} and "ingress" not in p["spec"]]
    assert deny, "no default-deny ingress policy"
    namespace = "disputes"
    for policy in policies:
        for rule in policy["spec"].get("ingress", []):
            sources = rule.get("from")
            if sources is None:  # from anywhere
                assert policy["spec"]["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "gateway"}}
                continue
            for source in sources:
                names = source.get("namespaceSelector", {}).get("matchLabels", {})
                assert "podSelector" in source or names.get("kubernetes.io/metadata.name") != namespace


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_monitoring_follows_deploy_prometheus(overlay):
    objects = rendered(overlay)
    result = subprocess.run(
        [sys.executable, "-m", "ops.kubernetes", "--check"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    rule = named(objects, "PrometheusRule", "disputes-alerts")
    alerts = yaml.safe_load(generate.ALERTS.read_text())
    assert rule["spec"]["groups"] == alerts["groups"]
    # every scrape job of prometheus.yml is a Service a ServiceMonitor selects (the Service's name is the job)
    jobs = {
        job["job_name"]
        for job in yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())["scrape_configs"]
        if job["job_name"].startswith("disputes-")
    }
    monitored = {
        service["metadata"]["name"]
        for service in of_kind(objects, "Service")
        for monitor in of_kind(objects, "ServiceMonitor")
        if monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
        and {e["port"] for e in monitor["spec"]["endpoints"]} & {p["name"] for p in service["spec"]["ports"]}
    }
    assert jobs <= monitored


def test_the_overlays_differ_where_a_province_needs_more():
    county, province = rendered("single-node"), rendered("ha")
    assert named(county, "RabbitmqCluster", "disputes-broker")["spec"]["replicas"] == 1
    assert named(province, "RabbitmqCluster", "disputes-broker")["spec"]["replicas"] == 3
    assert named(county, "Cluster", "disputes-db")["spec"]["instances"] == 1
    assert named(province, "Cluster", "disputes-db")["spec"]["instances"] >= 2
    for objects in (county, province):
        backup = named(objects, "Cluster", "disputes-db")["spec"]["backup"]["barmanObjectStore"]
        assert backup["destinationPath"] and "s3Credentials" in backup
    assert named(county, "ConfigMap", "disputes-config")["data"]["AMQP_QUORUM_QUEUES"] == "0"
    config = named(province, "ConfigMap", "disputes-config")["data"]
    assert config["AMQP_QUORUM_QUEUES"] == "1"
    pooler = named(province, "Pooler", config["DATABASE_HOST"])
    assert pooler["spec"]["pgbouncer"]["poolMode"] == "transaction"
    assert "Pooler" not in {o["kind"] for o in county}
    migration = named(province, "Job", "disputes-migrate")["spec"]["template"]["spec"]["containers"][0]
    assert "@disputes-db-rw:" in {e["name"]: e.get("value") for e in migration["env"]}["DATABASE_URL"]
    for name in SERVICES:
        assert named(province, "Deployment", name)["spec"]["replicas"] >= 2
        scaler = named(province, "HorizontalPodAutoscaler", name)["spec"]["metrics"][0]
        assert scaler["external"]["metric"]["selector"]["matchLabels"] == {"service": name}
    gateway_cpu = named(county, "HorizontalPodAutoscaler", "gateway")["spec"]["metrics"][0]["resource"]
    assert gateway_cpu["name"] == "cpu"
