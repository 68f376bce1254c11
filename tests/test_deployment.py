"""docker-compose.yml and the Dockerfile, checked without a container engine: every service runs
a real entry point of the project with options it accepts, every variable is documented in the
README and has a default or is required, nothing secret is committed."""

from __future__ import annotations

import importlib
import json
import re
import shutil
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import get_commands, load_command_class
from gunicorn.config import Config  # type: ignore[import-untyped]

REPO = Path(__file__).resolve().parent.parent
COMPOSE: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
OUR_IMAGE = {name for name, service in SERVICES.items() if "build" in service}
WORKERS = {
    name
    for name, service in SERVICES.items()
    if {"rqworker", "rqworker-pool"} & set(service.get("command", []))
}
# Variables read by programs other than the settings (gunicorn reads WEB_CONCURRENCY itself).
NOT_SETTINGS = {"WEB_CONCURRENCY"}


@dataclass(frozen=True)
class Reference:
    """One ``${NAME<operator><operand>}`` (or ``$NAME``) in a compose value."""

    name: str
    operator: str  # "" (plain), ":-"/"-" (default), ":?"/"?" (required), ":+"/"+" (alternative)
    operand: str

    @property
    def has_default(self) -> bool:
        return self.operator in {":-", "-"}

    @property
    def is_required(self) -> bool:
        return self.operator in {":?", "?"}


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BRACED = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(:?[-?+])?(.*)", re.DOTALL)


def _closing_brace(text: str, start: int) -> int:
    """Index just past the ``}`` closing the ``${`` at ``start`` (nested ones included)."""
    depth, i = 0, start
    while i < len(text):
        if text.startswith("${", i):
            depth, i = depth + 1, i + 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ValueError(f"unclosed ${{ in {text!r}")


def references(text: str) -> list[Reference]:
    """Every variable reference in ``text``, nested ones included; ``$$`` is a literal ``$``."""
    found: list[Reference] = []
    i = text.find("$")
    while i != -1:
        if text.startswith("$$", i):
            i = text.find("$", i + 2)
            continue
        if text.startswith("${", i):
            end = _closing_brace(text, i)
            match = _BRACED.fullmatch(text[i + 2 : end - 1])
            assert match, f"malformed reference in {text!r}"
            name, operator, operand = match.groups()
            found.append(Reference(name, operator or "", operand))
            found.extend(references(operand))
            i = text.find("$", end)
        else:
            plain = _NAME.match(text, i + 1)
            if plain:
                found.append(Reference(plain.group(), "", ""))
            i = text.find("$", i + 1)
    return found


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """``text`` as Compose would expand it with ``env``; a missing required value fails."""
    out, i = [], 0
    while (start := text.find("$", i)) != -1:
        out.append(text[i:start])
        if text.startswith("$$", start):
            out.append("$")
            i = start + 2
        elif text.startswith("${", start):
            end = _closing_brace(text, start)
            match = _BRACED.fullmatch(text[start + 2 : end - 1])
            assert match
            name, operator, operand = match.groups()
            value = env.get(name)
            unset_or_empty = not value if operator and operator.startswith(":") else value is None
            if operator in {":-", "-"} and unset_or_empty:
                value = interpolate(operand, env)
            elif operator in {":?", "?"} and unset_or_empty:
                raise KeyError(f"{name} is required: {operand}")
            elif operator in {":+", "+"}:
                value = "" if unset_or_empty else interpolate(operand, env)
            out.append(value or "")
            i = end
        else:
            plain = _NAME.match(text, start + 1)
            out.append(env.get(plain.group(), "") if plain else "$")
            i = plain.end() if plain else start + 1
    out.append(text[i:])
    return "".join(out)


def strings(value: Any) -> Iterator[str]:
    """Every string value (not key) in a YAML document."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


ALL_REFERENCES = [ref for text in strings(COMPOSE) for ref in references(text)]
# What an operator must provide; everything else has a default.
REQUIRED = {"SECRET_KEY": "x" * 50, "POSTGRES_PASSWORD": "pw"}


def command(service: str, env: Mapping[str, str] = REQUIRED) -> list[str]:
    return [interpolate(str(arg), env) for arg in SERVICES[service]["command"]]


def test_the_reference_parser_reads_nested_defaults_and_escapes() -> None:
    refs = references("${A:-x${B:?need B}y} $$NOT $C ${D}")
    assert [(r.name, r.operator, r.operand) for r in refs] == [
        ("A", ":-", "x${B:?need B}y"),
        ("B", ":?", "need B"),
        ("C", "", ""),
        ("D", "", ""),
    ]
    assert interpolate("${A:-x${B:?need B}y} $$NOT", {"B": "b"}) == "xby $NOT"
    with pytest.raises(KeyError, match="need B"):
        interpolate("${A:-${B:?need B}}", {})


def test_every_variable_has_a_default_or_is_required() -> None:
    plain = sorted({ref.name for ref in ALL_REFERENCES if not (ref.has_default or ref.is_required)})
    assert not plain, f"would silently be empty when unset: {plain}"


def test_every_variable_is_documented_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text()
    missing = sorted({ref.name for ref in ALL_REFERENCES if f"`{ref.name}`" not in readme})
    assert not missing, f"not documented in README.md: {missing}"


def test_only_the_secrets_are_required_and_none_is_committed() -> None:
    assert {ref.name for ref in ALL_REFERENCES if ref.is_required} == set(REQUIRED)
    for text in strings(COMPOSE):
        for secret in ("SECRET_KEY", "POSTGRES_PASSWORD"):
            if secret in text:
                assert all(r.is_required for r in references(text) if r.name == secret)
    for name in OUR_IMAGE:
        env = SERVICES[name]["environment"]
        assert env["SECRET_KEY"].startswith("${SECRET_KEY:?")
        assert interpolate(env["DEBUG"], {}) == "false"
        for key, value in env.items():
            if re.search("PASSWORD|SECRET", key):
                assert references(value), f"{name}: {key} is a literal"


def test_the_app_environment_is_what_the_settings_read() -> None:
    settings_source = (REPO / "demo" / "settings.py").read_text()
    for name in OUR_IMAGE:
        for key in SERVICES[name]["environment"]:
            assert key in NOT_SETTINGS or f'"{key}"' in settings_source, f"{name}: {key} unused"


@pytest.mark.parametrize("service", sorted(s for s in OUR_IMAGE if s != "web"))
def test_each_manage_py_command_exists_and_accepts_its_options(service: str) -> None:
    python, script, name, *args = command(service)
    assert (python, script) == ("python", "manage.py")
    commands = get_commands()
    assert name in commands, f"{service}: no manage.py command {name!r}"
    parser = load_command_class(commands[name], name).create_parser("manage.py", name)
    parser.parse_args(args)  # exits (SystemExit) on an unknown option or a bad value


def test_the_web_runs_gunicorn_on_the_projects_wsgi_application() -> None:
    executable, *args = command("web")
    assert executable == "gunicorn"
    assert shutil.which("gunicorn", path=str(Path(sys.executable).parent))
    parsed = Config().parser().parse_args(args)
    [target] = parsed.args
    module, _, attribute = target.partition(":")
    assert callable(getattr(importlib.import_module(module), attribute or "application"))
    dockerfile = (REPO / "Dockerfile").read_text()
    default = re.search(r"^CMD (\[.*\])$", dockerfile, re.MULTILINE)
    assert default and json.loads(default.group(1))[:2] == ["gunicorn", module]


def test_migrations_run_once_before_the_app_starts() -> None:
    assert command("migrate") == ["python", "manage.py", "migrate", "--noinput"]
    assert SERVICES["migrate"]["restart"] == "no"
    for name in OUR_IMAGE - {"migrate", "receiver"}:
        depends = SERVICES[name]["depends_on"]
        assert depends["migrate"] == {"condition": "service_completed_successfully"}
        assert depends["postgres"] == depends["redis"] == {"condition": "service_healthy"}


def test_the_workers_are_one_pool_of_several_processes_on_the_queue() -> None:
    """Concurrency comes from processes: django-rq's rqworker-pool forks them (each may run rq's
    scheduler, which takes a lock), and starts a new one when one dies."""
    assert set(WORKERS) == {"worker"}
    args = command("worker")
    assert args[2:4] == ["rqworker-pool", "default"]
    assert int(args[args.index("--num-workers") + 1]) > 1
    assert int(command("worker", {**REQUIRED, "WORKER_PROCESSES": "8"})[-1]) == 8
    assert SERVICES["worker"]["mem_limit"]
    assert SERVICES["worker"]["restart"] == "unless-stopped"
    assert SERVICES["worker"]["stop_grace_period"]


def test_redis_persists_jobs_and_never_evicts_them() -> None:
    args = SERVICES["redis"]["command"]
    assert args[args.index("--appendonly") + 1] == "yes"
    assert args[args.index("--maxmemory-policy") + 1] == "noeviction"
    assert "redis-data:/data" in SERVICES["redis"]["volumes"]


def test_data_lives_in_named_volumes() -> None:
    declared = set(COMPOSE["volumes"])
    used = {
        volume.split(":")[0]
        for service in SERVICES.values()
        for volume in service.get("volumes", [])
    }
    assert used == declared == {"postgres-data", "redis-data"}


def test_every_long_running_service_has_a_health_check() -> None:
    for name, service in SERVICES.items():
        if name == "migrate":
            continue
        test = service["healthcheck"]["test"]
        assert test[0] in {"CMD", "CMD-SHELL"}, name
        if test[1:3] == ["python", "-c"]:
            compile(test[3], f"{name} healthcheck", "exec")


def test_the_image_installs_the_demo_extra_and_runs_unprivileged() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", dockerfile, re.MULTILINE)
    assert 'pip install ".[demo]"' in dockerfile
    assert "manage.py collectstatic --noinput" in dockerfile
    users = re.findall(r"^USER (\S+)$", dockerfile, re.MULTILINE)
    assert users and users[-1] not in {"root", "0"}
