"""Static checks of docker-compose.yml and the Dockerfile (no Docker engine needed).

The compose checks run twice: on the file as PyYAML reads it (anchors and ``<<`` merge
keys resolved; always runs) and on ``docker compose config --format json``, Compose's own
normalised model (skipped when the docker CLI or its compose plugin is missing).
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"

ALL_SERVICES = {"redis", "postgres", "migrate", "worker", "beat", "flower", "api", "prometheus", "alertmanager",
                "grafana", "n8n"}
ONE_SHOT = {"migrate"}
APP_SERVICES = ("worker", "beat", "api")


@functools.cache
def _docker_compose_config() -> dict | str:
    """Compose's normalised JSON model, or the reason it is unavailable (a str)."""
    if shutil.which("docker") is None:
        return "docker CLI not on PATH"
    try:
        version = subprocess.run(
            ["docker", "compose", "version"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`docker compose version` failed: {exc}"
    if version.returncode != 0:
        output = (version.stderr or version.stdout).strip()
        first_line = output.splitlines()[0] if output else f"exit code {version.returncode}"
        return f"`docker compose version` failed: {first_line}"
    result = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE_FILE), "config", "--format", "json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"docker compose config failed:\n{result.stderr}"
    return json.loads(result.stdout)


def _yaml_config() -> dict:
    with COMPOSE_FILE.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@pytest.fixture(scope="module", params=["yaml", "docker-compose-config"])
def compose(request) -> dict:
    if request.param == "yaml":
        return _yaml_config()
    config = _docker_compose_config()
    if isinstance(config, str):
        pytest.skip(config)
    return config


def _environment(service: dict) -> dict:
    env = service.get("environment") or {}
    if isinstance(env, list):  # ["KEY=value", ...] form
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return env


def test_no_version_key():
    assert "version" not in _yaml_config(), "Compose spec files have no top-level `version:`"


def test_services_exist(compose):
    assert ALL_SERVICES <= set(compose["services"])


def test_worker_is_scalable(compose):
    assert "container_name" not in compose["services"]["worker"]


def test_long_running_services_have_healthchecks(compose):
    for name, service in compose["services"].items():
        if name in ONE_SHOT:
            continue
        healthcheck = service.get("healthcheck")
        assert healthcheck, f"{name} has no healthcheck"
        assert not healthcheck.get("disable"), f"{name} has its healthcheck disabled"
        assert healthcheck.get("test"), f"{name} healthcheck has no test"


def test_migrate_is_one_shot_and_gates_the_app(compose):
    services = compose["services"]
    assert str(services["migrate"].get("restart")) == "no"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in APP_SERVICES:
        deps = services[name]["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully", name
        assert deps["redis"]["condition"] == "service_healthy", name


def test_single_beat(compose):
    beat = compose["services"]["beat"]
    assert beat.get("deploy", {}).get("replicas") == 1
    assert "scale" not in beat or beat["scale"] == 1


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_environment(compose, name):
    env = _environment(compose["services"][name])
    assert env.get("MODELWATCH_BROKER_URL", "").startswith("redis://redis:6379"), env
    assert env.get("MODELWATCH_DATABASE_URL", "").startswith("postgresql+psycopg://"), env
    assert "@postgres:5432/" in env["MODELWATCH_DATABASE_URL"]
    assert "MODELWATCH_API_TOKEN" in env


def test_dockerfile_runs_as_non_root():
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    instructions = [
        line.split(None, 1)
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    froms = [args for ins, *args in instructions if ins.upper() == "FROM"]
    assert froms and froms[-1][0].startswith("python:3.11-slim")  # the final image; the first stage builds the dashboard
    assert froms[0][0].startswith("node:20") and "npm ci" in text and "static/app" in text
    users = [args[0].strip() for ins, *args in instructions if ins.upper() == "USER" and args]
    assert users and users[-1] not in {"root", "0", "0:0"}, "the final image must not run as root"


def test_dockerignore_keeps_what_pip_install_needs():
    ignored = {
        line.strip().rstrip("/")
        for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv"} <= ignored
    assert not {"pyproject.toml", "README.md", "monitor", "workers", "tasks"} & ignored


def _mounts(service: dict) -> dict[str, Path]:
    """container path -> repository path of each bind mount (short "src:dst[:ro]" or Compose's long form)."""
    found = {}
    for volume in service.get("volumes") or []:
        if isinstance(volume, str):
            source, _, rest = volume.partition(":")
            target = rest.split(":")[0]
        else:
            source, target = volume.get("source", ""), volume.get("target", "")
        if source.startswith((".", "/")):
            found[target] = (REPO / source).resolve() if source.startswith(".") else Path(source)
    return found


def test_prometheus_scrapes_the_api_metrics(compose):
    prometheus = compose["services"]["prometheus"]
    config_path = _mounts(prometheus)["/etc/prometheus/prometheus.yml"]
    assert config_path == REPO / "deploy/prometheus/prometheus.yml" and config_path.is_file()
    assert any("--config.file=/etc/prometheus/prometheus.yml" in part for part in prometheus["command"])
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    modelwatch = jobs["modelwatch"]
    assert modelwatch.get("metrics_path", "/metrics") == "/metrics"
    targets = [t for group in modelwatch["static_configs"] for t in group["targets"]]
    api = compose["services"]["api"]["command"]
    assert targets == [f"api:{api[api.index('--port') + 1]}"]


def test_prometheus_loads_the_rules_and_sends_alerts_to_alertmanager(compose):
    prometheus, alertmanager = compose["services"]["prometheus"], compose["services"]["alertmanager"]
    mounts = _mounts(prometheus)
    config = yaml.safe_load(mounts["/etc/prometheus/prometheus.yml"].read_text(encoding="utf-8"))
    # rule files resolve from the config file's folder, in the container as beside it in the repository
    for rule_file in config["rule_files"]:
        assert mounts[f"/etc/prometheus/{rule_file}"] == REPO / "deploy/prometheus" / rule_file
    assert config["rule_files"] == ["rules.yml"]
    targets = [t for am in config["alerting"]["alertmanagers"] for group in am["static_configs"] for t in group["targets"]]
    assert targets == ["alertmanager:9093"]
    ports = [p if isinstance(p, str) else f"{p.get('published')}:{p['target']}" for p in alertmanager["ports"]]
    assert "9093:9093" in ports
    am_config = _mounts(alertmanager)["/etc/alertmanager/alertmanager.yml"]
    assert am_config == REPO / "deploy/alertmanager/alertmanager.yml" and am_config.is_file()
    assert any("--config.file=/etc/alertmanager/alertmanager.yml" in part for part in alertmanager["command"])
    assert "alertmanager" in prometheus["depends_on"]


def test_grafana_provisions_the_prometheus_datasource_and_the_dashboard(compose):
    grafana = compose["services"]["grafana"]
    mounts = _mounts(grafana)
    provisioning = mounts["/etc/grafana/provisioning"]
    assert provisioning == REPO / "deploy/grafana/provisioning"
    datasources = yaml.safe_load((provisioning / "datasources/prometheus.yml").read_text())["datasources"]
    assert [(d["type"], d["url"]) for d in datasources] == [("prometheus", "http://prometheus:9090")]
    provider, = yaml.safe_load((provisioning / "dashboards/modelwatch.yml").read_text())["providers"]
    dashboards = mounts[provider["options"]["path"]]
    assert dashboards == REPO / "deploy/grafana/dashboards"
    dashboard = json.loads((dashboards / "modelwatch.json").read_text())
    uids = {p["datasource"]["uid"] for p in dashboard["panels"]}
    assert uids == {datasources[0]["uid"]}
    assert grafana["depends_on"]["prometheus"]["condition"] == "service_healthy"
    assert "GF_SECURITY_ADMIN_PASSWORD" in _environment(grafana)


def test_prometheus_config_passes_promtool():
    from tests.conftest import unavailable

    promtool = shutil.which("promtool")
    if promtool is None:
        unavailable("promtool is not installed (make services installs Debian's prometheus package)")
    result = subprocess.run([promtool, "check", "config", str(REPO / "deploy/prometheus/prometheus.yml")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_n8n_gets_the_example_workflows_and_reaches_the_api(compose):
    n8n = compose["services"]["n8n"]
    assert _mounts(n8n)["/workflows"] == REPO / "deploy/n8n"
    env = _environment(n8n)
    api = compose["services"]["api"]["command"]
    assert env["MODELWATCH_URL"] == f"http://api:{api[api.index('--port') + 1]}"
    assert str(env.get("N8N_BLOCK_ENV_ACCESS_IN_NODE")).lower() == "false"  # the workflows read $env.MODELWATCH_URL
    assert "N8N_ENCRYPTION_KEY" in env
    assert n8n["depends_on"]["api"]["condition"] == "service_healthy"
    # the worker sends the webhook channel's auth header value from this variable
    assert "N8N_WEBHOOK_AUTH" in _environment(compose["services"]["worker"])
    workflows = sorted((REPO / "deploy/n8n").glob("*.json"))
    assert workflows
    for path in workflows:
        workflow = json.loads(path.read_text())
        urls = [n["parameters"]["url"] for n in workflow["nodes"] if n["type"] == "n8n-nodes-base.httpRequest"]
        assert urls and all(u.startswith("={{ $env.MODELWATCH_URL }}/v1/") for u in urls), path.name
