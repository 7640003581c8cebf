"""The deploy files say what hablo does: no container engine runs here, so these tests
read the Dockerfile, docker-compose.yml, deploy/nginx.conf and the systemd units, and
hold them to the code: every setting they set exists and validates, every `hablo`
command they name parses (and its --help runs), nginx's body limits are hablo's own, and
its locations match the routes the real app mounts."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from configparser import ConfigParser
from pathlib import Path
from typing import Any

import pytest
import yaml

from hablo.adapters.whatsapp_cloud import MAX_WEBHOOK_BYTES
from hablo.api.media_store import MAX_BYTES as MEDIA_MAX_BYTES
from hablo.api.routes.contacts import IMPORT_MAX_BYTES
from hablo.api.routes.webhooks import MAX_EVENT_BYTES
from hablo.api.server import create_app
from hablo.bootstrap import bootstrap
from hablo.cli import build_parser
from hablo.config import ConfigError, Settings, load_settings
from tests.conftest import make_settings
from tests.e2e.deploy_files import (
    DEPLOY,
    ROOT,
    Block,
    command_lines,
    dockerfile_stages,
    effective_user,
    exec_form,
    locations,
    nginx_seconds,
    nginx_size,
    parse_nginx,
    tls_server,
)

HABLO = Path(sys.executable).with_name("hablo")
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = DEPLOY / "env.example"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
# The multipart envelope hablo allows around an uploaded file (message_media._read).
MEDIA_FORM_ALLOWANCE = 64 * 1024


def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def _nginx() -> Block:
    return parse_nginx((DEPLOY / "nginx.conf").read_text())


def _env_example() -> dict[str, str]:
    """Every NAME=value of env.example, commented-out ones included."""
    found = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.match(r"#?\s*([A-Z][A-Z0-9_]+)=(.*)$", line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def _example_substituted(value: str) -> str:
    """${VAR...} of the compose file replaced by env.example's value."""
    example = _env_example()
    return re.sub(r"\$\{(\w+)[^}]*\}", lambda m: example[m.group(1)], value)


def _assert_real_settings(
    values: dict[str, str], where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each name is a hablo setting and the values load as the process would load them
    from its environment (empty ones are left to the operator: unset here)."""
    fields = {f"HABLO_{name.upper()}" for name in Settings.model_fields}
    unknown = sorted(set(values) - fields)
    assert unknown == [], f"{where} sets what is no hablo setting: {unknown}"
    with monkeypatch.context() as patched:
        for name in [n for n in os.environ if n.upper().startswith("HABLO_")]:
            patched.delenv(name)
        for name, value in values.items():
            if value:
                patched.setenv(name, value)
        try:
            load_settings()
        except ConfigError as exc:
            pytest.fail(f"{where}: {exc}")


def _drain_s() -> float:
    """How long a process may take to stop after SIGTERM with the default settings."""
    defaults = Settings()
    return defaults.shutdown_announce_s + defaults.shutdown_grace_s


# -- Dockerfile ---------------------------------------------------------------------------


def test_the_image_builds_a_wheel_and_runs_it_unprivileged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stages = dockerfile_stages(ROOT / "Dockerfile")
    names = [s.name for s in stages]
    assert names[0] == "builder" and names[-1] == "runtime", names  # plain build: runtime
    builder = stages[0]
    assert any("python -m build --wheel" in run for run in builder.all("RUN"))
    for stage in stages[1:]:
        assert stage.base in names or stage.base.startswith("python:3.11-slim"), stage.base
        if stage.base not in names:  # a runtime stage: only the installed venv is copied
            assert any("--from=builder" in c for c in stage.all("COPY")), stage.name
    for final in ("runtime", "whatsapp-web"):
        user = effective_user(stages, final)
        assert user not in ("root", "0") and not user.startswith("0:"), (final, user)
    base = next(s for s in stages if s.name == "base")
    (healthcheck,) = base.all("HEALTHCHECK")
    assert "/healthz" in healthcheck and "CMD" in healthcheck
    env = dict(
        pair.split("=", 1) for line in base.all("ENV") for pair in line.split() if "=" in pair
    )
    hablo_env = {k: v for k, v in env.items() if k.startswith("HABLO_")}
    _assert_real_settings(hablo_env, "the Dockerfile", monkeypatch)
    (volume,) = base.all("VOLUME")
    state = hablo_env["HABLO_STATE_DIR"]
    # The media store keeps its files in <state_dir>/media (hablo.api.media_store).
    assert exec_form(volume) == [state, f"{state}/media"]
    (cmd,) = base.all("CMD")
    assert exec_form(cmd) == ["hablo", "serve"]


def test_only_the_whatsapp_web_variant_carries_debians_chromium(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stages = dockerfile_stages(ROOT / "Dockerfile")
    with_chromium = [s.name for s in stages if any("chromium" in r for r in s.all("RUN"))]
    assert with_chromium == ["whatsapp-web"]
    (variant,) = [s for s in stages if s.name == "whatsapp-web"]
    env = dict(pair.split("=", 1) for line in variant.all("ENV") for pair in line.split())
    _assert_real_settings(env, "the whatsapp-web stage", monkeypatch)
    assert env["HABLO_WHATSAPP_WEB_CHROMIUM"] == "/usr/bin/chromium"  # Debian's path


def test_the_build_context_is_the_package_only() -> None:
    lines = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*"
    included = {line[1:] for line in lines if line.startswith("!")}
    copied = {
        part
        for stage in dockerfile_stages(ROOT / "Dockerfile")
        for copy in stage.all("COPY")
        if "--from" not in copy
        for part in copy.split()[:-1]
    }
    assert copied <= included, copied - included


def test_the_image_can_dump_the_composed_database() -> None:
    """`hablo backup` runs pg_dump in the image: its major version must be the server's."""
    (base,) = [s for s in dockerfile_stages(ROOT / "Dockerfile") if s.name == "base"]
    clients = re.findall(r"postgresql-client-(\d+)", " ".join(base.all("RUN")))
    server = re.fullmatch(r"postgres:(\d+)-bookworm", _compose()["services"]["postgres"]["image"])
    assert server is not None and clients == [server.group(1)]


# -- docker-compose.yml -------------------------------------------------------------------


def test_compose_runs_the_whole_deployment_with_health_checks() -> None:
    services = _compose()["services"]
    assert set(services) == {"postgres", "redis", "migrate", "edge", "worker", "nginx"}
    assert services["edge"]["command"] == ["hablo", "serve"]
    assert services["worker"]["command"] == ["hablo", "worker"]
    assert services["worker"]["deploy"]["replicas"] == 2
    assert services["migrate"]["command"] == ["hablo", "db", "upgrade"]
    for name, service in services.items():
        if name != "migrate":  # a one-off: it exits once the schema is current
            assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
    for name in ("edge", "worker"):
        needs = services[name]["depends_on"]
        assert needs["migrate"]["condition"] == "service_completed_successfully"
        assert needs["postgres"]["condition"] == "service_healthy"
        assert needs["redis"]["condition"] == "service_healthy"
        env = services[name]["environment"]
        assert env["HABLO_ROUTER"] == "redis"
        # Edge and workers share the state and the media files (media is <state>/media).
        state = env["HABLO_STATE_DIR"]
        mounts = {v.split(":")[1]: v.split(":")[0] for v in services[name]["volumes"]}
        assert mounts[state] == "hablo-state" and mounts[f"{state}/media"] == "hablo-media"
    assert services["edge"]["environment"]["HABLO_SERVE_WORKER"] == "false"
    for name in ("edge", "worker"):  # Docker waits for the drain before its SIGKILL
        assert int(services[name]["stop_grace_period"].removesuffix("s")) > _drain_s()
    assert services["nginx"]["depends_on"]["edge"]["condition"] == "service_healthy"
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in services["nginx"]["volumes"]
    assert set(_compose()["volumes"]) == {"postgres-data", "hablo-state", "hablo-media"}


def test_compose_sets_only_real_settings_and_trusts_only_nginx(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    services = _compose()["services"]
    for name, service in services.items():
        env = {k: str(v) for k, v in (service.get("environment") or {}).items()}
        hablo_env = {k: _example_substituted(v) for k, v in env.items() if k.startswith("HABLO_")}
        if hablo_env:
            _assert_real_settings(hablo_env, f"compose service {name}", monkeypatch)
    trusted = services["edge"]["environment"]["HABLO_TRUSTED_PROXIES"]
    nginx_address = services["nginx"]["networks"]["hablo"]["ipv4_address"]
    assert trusted == f'["{nginx_address}"]'
    port = services["edge"]["environment"]["HABLO_PORT"]
    assert f"server edge:{port};" in (DEPLOY / "nginx.conf").read_text()


def _merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = value
    return merged


def test_the_whatsapp_web_override_runs_one_process_with_chromium(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    override = yaml.safe_load((DEPLOY / "compose.whatsapp-web.yml").read_text())
    services = _merged(_compose(), override)["services"]
    edge = services["edge"]
    assert edge["build"]["target"] == "whatsapp-web"
    assert "whatsapp-web" in [s.name for s in dockerfile_stages(ROOT / "Dockerfile")]
    assert services["worker"]["deploy"]["replicas"] == 0
    env = {k: _example_substituted(str(v)) for k, v in edge["environment"].items()}
    assert env["HABLO_ROUTER"] == "inprocess" and "whatsapp_web" in env["HABLO_CHANNELS"]
    _assert_real_settings(env, "compose.whatsapp-web.yml", monkeypatch)


def test_every_variable_compose_reads_is_documented_in_env_example(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    used = set(re.findall(r"\$\{(\w+)", COMPOSE.read_text()))
    documented = _env_example()
    assert used - set(documented) == set()
    for name in used:  # the ones compose needs are set (not commented out) in the example
        assert re.search(rf"^{name}=", ENV_EXAMPLE.read_text(), re.M), name
    _assert_real_settings(
        {k: v for k, v in documented.items() if k.startswith("HABLO_")},
        "env.example",
        monkeypatch,
    )


# -- nginx --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app_routes(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[dict[str, set[str]]]:
    """Path templates the real app mounts (every channel that has routes switched on),
    with their methods."""
    database = tmp_path_factory.mktemp("routes") / "hablo.db"
    shutil.copy(sqlite_template, database)
    settings = make_settings(
        f"sqlite:///{database}", channels=["webchat", "whatsapp_cloud", "twilio_sms"]
    )
    runtime = bootstrap(settings, upgrade_schema=False)
    try:
        app = create_app(runtime)
        routes: dict[str, set[str]] = {}
        for route in app.router.routes():
            info = route.resource.get_info() if route.resource else {}
            path = info.get("path") or info.get("formatter")
            if path:
                routes.setdefault(path, set()).add(route.method)
        yield routes
    finally:
        runtime.close()


def _location_for(server: Block, path: str) -> Block:
    """The location nginx picks for a concrete path: exact, then regex, then the longest
    prefix (the order nginx uses when no ^~ is present)."""
    exact = [b for b in server.children("location") if b.args[0] == "=" and b.args[1] == path]
    if exact:
        return exact[0]
    regex = [b for b in server.children("location") if b.args[0] == "~"]
    for block in regex:
        if re.search(block.args[1], path):
            return block
    prefixes = [b for b in server.children("location") if len(b.args) == 1]
    return max((b for b in prefixes if path.startswith(b.args[0])), key=lambda b: len(b.args[0]))


def _body_limit(server: Block, location: Block) -> int:
    own = location.one("client_max_body_size") or server.one("client_max_body_size")
    assert own is not None
    return nginx_size(own[0])


def test_nginx_body_limits_are_hablos_own(app_routes: dict[str, set[str]]) -> None:
    server = tls_server(_nginx())
    assert _body_limit(server, _location_for(server, "/api/bookings")) == Settings().max_body_bytes

    def limit(path: str) -> int:
        concrete = re.sub(r"\{[^}]+\}", "x1", path)
        return _body_limit(server, _location_for(server, concrete))

    uploads = [p for p in app_routes if p.endswith("/media") and "POST" in app_routes[p]]
    assert sorted(uploads) == [
        "/api/conversations/{conversation_id}/media",
        "/app/conversations/{conversation_id}/media",
    ]
    for path in uploads:
        assert limit(path) == MEDIA_MAX_BYTES + MEDIA_FORM_ALLOWANCE, path
    assert limit("/api/contacts/import") == IMPORT_MAX_BYTES
    assert "/api/contacts/import" in app_routes
    assert limit("/webhooks/whatsapp") == MAX_WEBHOOK_BYTES
    for path in [p for p in app_routes if p.startswith("/api/webhooks/")]:
        assert limit(path) == MAX_EVENT_BYTES, path


def test_nginx_keeps_web_chat_sockets_and_console_events_flowing(
    app_routes: dict[str, set[str]],
) -> None:
    server = tls_server(_nginx())
    assert "/chat/{slug}" in app_routes  # the page and its socket
    chat = _location_for(server, "/chat/demo")
    headers = {args[0]: args[1] for args in chat.get("proxy_set_header")}
    assert headers["Upgrade"] == "$http_upgrade"
    assert headers["Connection"] == "$connection_upgrade"
    assert nginx_seconds(chat.one("proxy_read_timeout")) >= 3600  # idle visitors stay
    assert "/app/live" in app_routes  # the console's server-sent events
    live = _location_for(server, "/app/live")
    assert live.one("proxy_buffering") == ["off"]
    assert nginx_seconds(live.one("proxy_read_timeout")) >= 3600
    http = _nginx().children("http")[0]
    (upgrade_map,) = http.children("map")
    assert upgrade_map.args == ["$http_upgrade", "$connection_upgrade"]


def test_nginx_forwards_what_hablo_believes_everywhere() -> None:
    """A location with a proxy_set_header of its own inherits none of the server's: each
    must pass the client's address and scheme itself (hablo.api.proxies reads them)."""
    conf = _nginx()
    server = tls_server(conf)
    wanted = {
        "X-Forwarded-For": "$proxy_add_x_forwarded_for",
        "X-Forwarded-Proto": "$scheme",
        "X-Request-Id": "$request_id",
    }
    for block in [server, *server.children("location")]:
        headers = {args[0]: args[1] for args in block.get("proxy_set_header")}
        if headers:
            assert {k: headers.get(k) for k in wanted} == wanted, block.args
    (plain,) = [s for s in conf.children("http")[0].children("server") if s is not server]
    assert locations(plain)["/"].one("return") == ["301", "https://$host$request_uri"]
    assert server.one("ssl_certificate") and server.one("ssl_certificate_key")


def test_nginx_rate_limits_every_provider_webhook(app_routes: dict[str, set[str]]) -> None:
    server = tls_server(_nginx())
    hooks = [p for p in app_routes if p.startswith(("/webhooks/", "/api/webhooks/"))]
    assert len(hooks) >= 4, hooks  # WhatsApp, Twilio, Stripe, MercadoPago
    for path in hooks:
        concrete = re.sub(r"\{[^}]+\}", "x1", path)
        assert _location_for(server, concrete).one("limit_req"), path


# -- systemd ------------------------------------------------------------------------------


def _unit(path: Path) -> ConfigParser:
    parser = ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path)
    return parser


HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectControlGroups": "yes",
    "RestrictSUIDSGID": "yes",
    "CapabilityBoundingSet": "",
}


def test_systemd_units_run_hablo_unprivileged_and_hardened() -> None:
    names = {unit.name for unit in UNITS}
    assert names == {"hablo-edge.service", "hablo-worker@.service", "hablo-migrate.service"}
    for path in UNITS:
        service = _unit(path)["Service"]
        assert service["User"] not in ("root", "0"), path.name
        assert service["EnvironmentFile"] == "/etc/hablo/hablo.env"
        assert service["StateDirectory"] == "hablo"  # /var/lib/hablo, HABLO_STATE_DIR
        for key, value in HARDENING.items():
            assert service.get(key) == value, (path.name, key)
        # systemd waits for the drain (HABLO_SHUTDOWN_GRACE_S after the announcement).
        assert service["KillSignal"] == "SIGTERM"
        assert int(service["TimeoutStopSec"]) > _drain_s(), path.name
    assert _unit(DEPLOY / "systemd" / "hablo-edge.service")["Service"]["ExecStart"].endswith(
        "hablo serve"
    )
    assert _unit(DEPLOY / "systemd" / "hablo-worker@.service")["Service"]["ExecStart"].endswith(
        "hablo worker"
    )
    migrate = _unit(DEPLOY / "systemd" / "hablo-migrate.service")["Service"]
    assert migrate["Type"] == "oneshot" and migrate["ExecStart"].endswith("hablo db upgrade")


def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian: apt-get install systemd)")
    paths = []
    for path in UNITS:
        text = path.read_text().replace("/opt/hablo/venv/bin/hablo", str(HABLO))
        name = path.name.replace("@.", "@1.")  # an instance of the template
        (tmp_path / path.name).write_text(text)
        (tmp_path / name).write_text(text)
        paths.append(str(tmp_path / name))
    done = subprocess.run([analyze, "verify", *paths], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr


# -- the hablo commands every file names ----------------------------------------------------


def _files_naming_commands() -> list[Path]:
    return [
        ROOT / "Dockerfile",
        COMPOSE,
        DEPLOY / "compose.whatsapp-web.yml",
        ENV_EXAMPLE,
        DEPLOY / "nginx.conf",
        *UNITS,
        ROOT / "docs" / "deploy.md",
    ]


def _named_commands() -> dict[str, list[list[str]]]:
    found: dict[str, list[list[str]]] = {}
    for path in _files_naming_commands():
        found[path.name] = command_lines(path.read_text())
    stages = dockerfile_stages(ROOT / "Dockerfile")
    found["Dockerfile"] += [exec_form(c)[1:] for s in stages for c in s.all("CMD")]
    for service in _compose()["services"].values():
        command = service.get("command")
        if isinstance(command, list) and command[0] == "hablo":
            found["docker-compose.yml"].append(command[1:])
    return found


def test_every_hablo_command_the_deploy_files_name_parses() -> None:
    parser = build_parser()
    named = _named_commands()
    quiet = {"nginx.conf", "compose.whatsapp-web.yml"}
    assert all(named[p.name] for p in _files_naming_commands() if p.name not in quiet)
    for where, commands in named.items():
        for argv in commands:
            try:
                parser.parse_args(argv)
            except SystemExit:
                pytest.fail(f"{where}: `hablo {' '.join(argv)}` is not a valid command")


def test_every_hablo_command_the_deploy_files_name_has_help() -> None:
    commands = sorted({argv[0] for found in _named_commands().values() for argv in found})
    assert {"serve", "worker", "db", "secrets", "backup", "restore"} <= set(commands)
    for command in commands:
        done = subprocess.run(
            [str(HABLO), command, "--help"], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0 and "usage: hablo" in done.stdout, (command, done.stderr)


def test_the_routes_fixture_sees_the_real_app(app_routes: dict[str, set[str]]) -> None:
    """Guards the route checks above from passing on an empty app."""
    assert "/healthz" in app_routes and "GET" in app_routes["/healthz"]
