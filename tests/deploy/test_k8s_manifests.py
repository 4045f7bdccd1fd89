"""deploy/k8s is valid for Kubernetes and Strimzi and agrees with the code.

Schemas: Kubernetes' own (strict: an unknown field is an error, as `kubectl apply` makes it),
vendored by the kubernetes-validate package, for the oldest and newest Kubernetes we name;
Strimzi's CRD schemas (0.49), compiled into @kubernetes-models/strimzi-kafka-operator (npm).
Code: environment variable names and values are settings regstream reads, ports and probes
match what the processes serve, topics are the catalog's, the image is the one
deploy/images/build.sh builds.
"""

from __future__ import annotations

import re
import tomllib
from typing import Any

import kubernetes_validate
import pytest
import yaml

from gateway.io.settings import load_gateway_settings, unknown_gateway_vars
from streams.settings import Settings, load_settings, unknown_env_vars
from streams.worker.config import load_worker_settings, unknown_worker_vars
from tests.deploy.manifests import (
    K8S,
    REPO,
    Doc,
    containers,
    k8s_documents,
    of_kind,
    strimzi_errors,
)

KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")
STRIMZI_GROUPS = ("kafka.strimzi.io/",)
DOCS = k8s_documents()
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


def kubernetes_resources() -> list[tuple[str, Doc]]:
    return [(f, d) for f, d in DOCS if not d["apiVersion"].startswith(STRIMZI_GROUPS)]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_kubernetes_resource_matches_the_schema(version: str) -> None:
    problems = []
    for name, doc in kubernetes_resources():
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            where = "/".join(str(p) for p in error.path)
            problems.append(
                f"{name} {doc['kind']}/{doc['metadata']['name']} at {where}: {error.message}"
            )
    assert not problems, "\n".join(problems)


def test_every_strimzi_resource_matches_the_crd_schema() -> None:
    resources = [d for _, d in DOCS if d["apiVersion"].startswith(STRIMZI_GROUPS)]
    assert {d["kind"] for d in resources} == {"Kafka", "KafkaNodePool", "KafkaTopic"}
    errors = strimzi_errors(resources)
    problems = [
        f"{d['kind']}/{d['metadata']['name']}: {e}"
        for d, e in zip(resources, errors, strict=True)
        if e
    ]
    assert not problems, "\n".join(problems)


def test_the_strimzi_validation_rejects_a_broken_resource() -> None:
    # The schema check must be able to fail: a node pool with a role Strimzi does not know.
    pool = of_kind(DOCS, "KafkaNodePool")[0]
    broken = {**pool, "spec": {**pool["spec"], "roles": ["leader"]}}
    assert strimzi_errors([broken])[0]


def environment(container: Doc) -> dict[str, str]:
    """The container's variables: its ConfigMap's, then its own (secrets as in secrets.yaml)."""
    configmaps = {c["metadata"]["name"]: c["data"] for c in of_kind(DOCS, "ConfigMap")}
    secrets = {s["metadata"]["name"]: s["stringData"] for s in of_kind(DOCS, "Secret")}
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(configmaps[source["configMapRef"]["name"]])
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
        elif "secretKeyRef" in var.get("valueFrom", {}):
            ref = var["valueFrom"]["secretKeyRef"]
            env[var["name"]] = secrets[ref["name"]][ref["key"]]
        else:
            env[var["name"]] = "from-the-pod"
    return env


def role(container: Doc) -> str:
    return str(container["args"][0])


def test_every_variable_is_a_setting_and_every_value_parses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for deployment, container in containers(DOCS):
        env = environment(container)
        where = f"{deployment['metadata']['name']}/{container['name']}"
        assert not unknown_env_vars(env), f"{where}: {unknown_env_vars(env)}"
        component = {"gateway": unknown_gateway_vars, "worker": unknown_worker_vars}[
            role(container)
        ]
        assert not component(env), f"{where}: {component(env)}"
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        base = load_settings()
        if role(container) == "gateway":
            gateway = load_gateway_settings()
            gateway.auth_config(base)  # the key sets are JSON the gateway can read
            gateway.resume_key_set(base)
        else:
            load_worker_settings()
        for name in env:
            monkeypatch.delenv(name)


def named_ports(container: Doc) -> dict[str, int]:
    return {p["name"]: p["containerPort"] for p in container.get("ports", [])}


def test_ports_and_probes_are_the_ones_the_processes_serve() -> None:
    for deployment, container in containers(DOCS):
        env, ports = environment(container), named_ports(container)
        if role(container) == "gateway":
            assert ports == {
                "ws": int(env["REGSTREAM_GATEWAY_PORT"]),
                "ops": int(env["REGSTREAM_GATEWAY_OPS_PORT"]),
            }
        else:
            assert env["REGSTREAM_WORKER_WEB_ENABLED"] == "true"
            assert ports == {"ops": int(env["REGSTREAM_WORKER_WEB_PORT"])}
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert int(annotations["prometheus.io/port"]) == ports["ops"]
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "ops"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "ops"}


def test_selectors_services_ingress_and_autoscaler_find_their_targets() -> None:
    pods = {
        d["metadata"]["name"]: (d["spec"]["template"]["metadata"]["labels"], d)
        for d in of_kind(DOCS, "Deployment")
    }

    def selected(selector: dict[str, str]) -> list[str]:
        return [name for name, (labels, _) in pods.items() if selector.items() <= labels.items()]

    for name, (labels, deployment) in pods.items():
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items(), name
    for pdb in of_kind(DOCS, "PodDisruptionBudget"):
        assert len(selected(pdb["spec"]["selector"]["matchLabels"])) == 1, pdb["metadata"]["name"]
    services = {}
    for service in of_kind(DOCS, "Service"):
        [target] = selected(service["spec"]["selector"])
        container_ports = named_ports(pods[target][1]["spec"]["template"]["spec"]["containers"][0])
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in container_ports
        services[service["metadata"]["name"]] = {p["name"] for p in service["spec"]["ports"]}
    for ingress in of_kind(DOCS, "Ingress"):
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                assert backend["port"]["name"] in services[backend["name"]]
    for hpa in of_kind(DOCS, "HorizontalPodAutoscaler"):
        assert hpa["spec"]["scaleTargetRef"]["name"] in pods


def test_the_gateway_knows_the_url_browsers_reach_it_at() -> None:
    [ingress] = of_kind(DOCS, "Ingress")
    hosts = {rule["host"] for rule in ingress["spec"]["rules"]}
    tls_hosts = {host for tls in ingress["spec"]["tls"] for host in tls["hosts"]}
    for _, container in containers(DOCS):
        if role(container) == "gateway":
            url = environment(container)["REGSTREAM_GATEWAY_PUBLIC_URL"]
            assert url in {f"https://{host}" for host in hosts & tls_hosts}


def test_topics_are_the_catalog_at_the_configured_replication() -> None:
    [config] = of_kind(DOCS, "ConfigMap")
    settings = Settings(replication_factor=int(config["data"]["REGSTREAM_REPLICATION_FACTOR"]))
    wanted = {
        s.name: (s.partitions, s.replication_factor, dict(s.config))
        for s in settings.catalog.all_specs()
    }
    [kafka] = of_kind(DOCS, "Kafka")
    declared = {}
    for topic in of_kind(DOCS, "KafkaTopic"):
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]
        spec = topic["spec"]
        config_values = {k: str(v).lower() for k, v in spec["config"].items()}
        declared[spec["topicName"]] = (spec["partitions"], spec["replicas"], config_values)
    assert declared == wanted


def test_kafka_is_where_regstream_looks_and_keeps_what_it_promises() -> None:
    [config] = of_kind(DOCS, "ConfigMap")
    [kafka] = of_kind(DOCS, "Kafka")
    [pool] = of_kind(DOCS, "KafkaNodePool")
    [plain] = [x for x in kafka["spec"]["kafka"]["listeners"] if not x["tls"]]
    bootstrap = f"{kafka['metadata']['name']}-kafka-bootstrap:{plain['port']}"
    assert config["data"]["REGSTREAM_BOOTSTRAP_SERVERS"] == bootstrap
    assert pool["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]
    replication = int(config["data"]["REGSTREAM_REPLICATION_FACTOR"])
    assert pool["spec"]["replicas"] >= replication
    broker = kafka["spec"]["kafka"]["config"]
    assert broker["min.insync.replicas"] == 2
    assert broker["unclean.leader.election.enable"] is False
    assert broker["transaction.state.log.replication.factor"] == replication


def test_the_image_is_the_one_the_repository_builds() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    [image] = kustomization["images"]
    assert image == {"name": "regstream", "newTag": VERSION}
    for _, container in containers(DOCS):
        assert container["image"] == f"regstream:{VERSION}"
    # build.sh tags the image with pyproject's version under that same name.
    build = (REPO / "deploy" / "images" / "build.sh").read_text()
    assert re.search(r"build_image regstream \"\$version\"", build)
    listed = set(kustomization["resources"])
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml", "secrets.yaml"}
    assert listed == on_disk, "secrets.yaml is created by hand; every other file is applied"


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((REPO / "deploy" / "compose" / "compose.yaml").read_text()))


def test_compose_and_image_variables_are_settings() -> None:
    containerfile = (REPO / "deploy" / "images" / "regstream" / "Containerfile").read_text()
    names = set(re.findall(r"\b(REGSTREAM_[A-Z_]+)=", containerfile))
    for service in compose()["services"].values():
        names |= {n for n in service.get("environment", {}) if n.startswith("REGSTREAM_")}
    env = dict.fromkeys(names, "x")
    assert not unknown_env_vars(env)
    assert not unknown_gateway_vars(env)
    assert not unknown_worker_vars(env)


def test_compose_requires_the_secrets_and_names_them() -> None:
    regstream = compose()["x-regstream"]["environment"]
    for name in ("REGSTREAM_JWT_SECRET", "REGSTREAM_RESUME_SECRET"):
        assert re.fullmatch(rf"\$\{{{name}:\?.+\}}", regstream[name]), name
