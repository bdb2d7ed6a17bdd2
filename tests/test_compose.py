"""The deployment files (Dockerfile, .dockerignore, docker-compose.yml, docs/compose.md), checked by parsing them.

No Docker engine is needed or used: these tests read the files and compare them with the project
(its CLI, its flow's parameters, its pyproject.toml, the paths that exist). Fast, no network.
"""

from __future__ import annotations

import argparse
import fnmatch
import re
import shlex
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
DOCS = ROOT / "docs" / "compose.md"

SERVICES = {"postgres", "prefect-server", "dask-scheduler", "dask-worker", "serve", "trainer"}
PROJECT_SERVICES = {"dask-scheduler", "dask-worker", "serve", "trainer"}  # built from ./Dockerfile
CACHE_USERS = {"serve", "dask-worker", "trainer"}
IMAGE = "la2ds:latest"


# ---------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def compose() -> dict:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict) and isinstance(data.get("services"), dict), "docker-compose.yml has no services mapping"
    return data


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def command_argv(value) -> list[str]:
    """A compose `command`/`test` or Dockerfile CMD as an argv list (exec form or shell form)."""
    if value is None:
        return []
    if isinstance(value, str):
        return shlex.split(value)
    return [str(part) for part in value]


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: str(value) for key, value in env.items()}


def mounts(service: dict) -> list[tuple[str, str, str]]:
    """(source, target, type) of each volume entry, short or long syntax; type is 'volume' or 'bind'."""
    result = []
    for entry in service.get("volumes") or []:
        if isinstance(entry, str):
            parts = entry.split(":")
            if len(parts) == 1:  # anonymous volume
                result.append(("", parts[0], "volume"))
                continue
            source, target = parts[0], parts[1]
            kind = "bind" if source.startswith((".", "/", "~", "$")) else "volume"
        else:
            source, target = entry.get("source", ""), entry["target"]
            kind = entry.get("type", "volume")
        result.append((source, target, kind))
    return result


def depends_on(service: dict) -> dict[str, dict]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {name: {"condition": "service_started"} for name in deps}
    return {name: (spec or {}) for name, spec in deps.items()}


def healthcheck_argv(service: dict) -> list[str]:
    check = service.get("healthcheck") or {}
    if check.get("disable"):
        return []
    test = check.get("test")
    argv = command_argv(test)
    if argv[:1] == ["NONE"]:
        return []
    return argv


def cli_subcommands() -> set[str]:
    from la2ds.cli import build_parser

    parser = build_parser()
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert actions, "la2ds.cli.build_parser() has no subcommands"
    return set(actions[0].choices)


def la2ds_subcommands_in(argv: list[str]) -> list[str]:
    """The subcommand after each `la2ds` program word (also inside `sh -c "..."`)."""
    words: list[str] = []
    for part in argv:
        words.extend(shlex.split(part) if " " in part else [part])
    found = []
    for i, word in enumerate(words):
        if Path(word).name == "la2ds":
            found.append(words[i + 1] if i + 1 < len(words) else "")
    return found


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs: comments dropped, backslash continuations joined."""
    instructions, pending = [], ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):  # comment lines inside a continuation are ignored by Docker
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        if line:
            keyword, _, args = line.partition(" ")
            instructions.append((keyword.upper(), args.strip()))
    assert not pending, "Dockerfile ends inside a line continuation"
    return instructions


def dockerfile_args(instruction: str) -> list[list[str]]:
    """The arguments of each occurrence of an instruction (exec form parsed as JSON-like list)."""
    import json

    result = []
    for keyword, args in dockerfile_instructions():
        if keyword == instruction:
            result.append(json.loads(args) if args.startswith("[") else shlex.split(args))
    return result


def dockerfile_arg_default(name: str) -> str | None:
    for keyword, args in dockerfile_instructions():
        if keyword == "ARG":
            key, _, default = args.partition("=")
            if key.strip() == name:
                return default.strip().strip('"').strip("'") or None
    return None


def dockerignore_patterns() -> list[str]:
    patterns = []
    for raw in DOCKERIGNORE.read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            patterns.append(line.rstrip("/").removeprefix("/").removeprefix("./"))
    return patterns


def ignored(path: str, patterns: list[str]) -> bool:
    """Enough of .dockerignore's matching for these files: later `!` patterns re-include."""
    result = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.removeprefix("!")
        candidates = {pattern, pattern.removeprefix("**/")}
        if any(fnmatch.fnmatch(path, c) or fnmatch.fnmatch(path.split("/")[0], c) for c in candidates):
            result = not negate
    return result


# ---------------------------------------------------------------- docker-compose.yml


def test_all_services_exist(services):
    missing = SERVICES - set(services)
    assert not missing, f"docker-compose.yml lacks services: {sorted(missing)}"


def test_project_services_share_one_image_built_from_the_repo(services):
    for name in PROJECT_SERVICES:
        service = services[name]
        build = service.get("build")
        context = build if isinstance(build, str) else (build or {}).get("context")
        assert context in (".", "./"), f"{name}: build context is {context!r}, not the repository root"
        dockerfile = "Dockerfile" if isinstance(build, str) else (build.get("dockerfile") or "Dockerfile")
        assert (ROOT / dockerfile).is_file(), f"{name}: build uses {dockerfile}, absent from the repository"
        assert service.get("image") == IMAGE, f"{name}: image {service.get('image')!r}, expected {IMAGE!r}"
    # every service that is built at all builds the same image
    built = {name: s.get("image") for name, s in services.items() if s.get("build")}
    assert set(built) >= PROJECT_SERVICES and set(built.values()) == {IMAGE}, built


def test_image_is_defined_once_by_a_yaml_anchor():
    text = COMPOSE.read_text()
    assert re.search(r"^x-la2ds-image:\s*&\S+", text, re.M), "no `x-la2ds-image: &anchor` block"
    anchor = re.search(r"^x-la2ds-image:\s*&(\S+)", text, re.M).group(1)
    users = re.findall(rf"<<:\s*\*{re.escape(anchor)}\b", text)
    assert len(users) >= len(PROJECT_SERVICES), f"only {len(users)} services merge *{anchor}"


def test_torch_index_default_agrees_with_the_dockerfile(services):
    default = dockerfile_arg_default("TORCH_INDEX_URL")
    assert default, "Dockerfile: no default for ARG TORCH_INDEX_URL"
    for name in PROJECT_SERVICES:
        build = services[name].get("build")
        args = {} if isinstance(build, str) else (build.get("args") or {})
        if isinstance(args, list):
            args = dict(a.split("=", 1) if "=" in a else (a, "") for a in args)
        value = str(args.get("TORCH_INDEX_URL", ""))
        match = re.fullmatch(r"\$\{TORCH_INDEX_URL:?-(.*)\}", value)
        if value:  # if compose passes the arg, its fallback must be the Dockerfile's default
            assert match and match.group(1) == default, f"{name}: TORCH_INDEX_URL={value!r}, Dockerfile default {default!r}"


def test_prefect_server_runs_on_postgres(services):
    server = services["prefect-server"]
    assert server.get("image", "").startswith("prefecthq/prefect:3.9.1"), "prefect server image must match prefect==3.9.1"
    argv = command_argv(server.get("command"))
    assert argv[:3] == ["prefect", "server", "start"] and "0.0.0.0" in argv, argv
    url = environment(server).get("PREFECT_API_DATABASE_CONNECTION_URL", "")
    match = re.fullmatch(r"postgresql\+asyncpg://([^:@/]+)(?::[^@]*)?@([^:/]+)(?::(\d+))?/(\w+)", url)
    assert match, f"PREFECT_API_DATABASE_CONNECTION_URL is not a postgresql+asyncpg URL: {url!r}"
    user, host, _port, database = match.groups()
    assert host == "postgres" and host in services
    pg_env = environment(services["postgres"])
    assert pg_env.get("POSTGRES_USER", "postgres") == user
    assert pg_env.get("POSTGRES_DB", pg_env.get("POSTGRES_USER", "postgres")) == database
    assert depends_on(server).get("postgres", {}).get("condition") == "service_healthy"
    assert any(str(p).split(":")[-1].split("/")[0] == "4200" for p in server.get("ports") or []), "port 4200 not published"


def test_postgres_keeps_its_data_in_a_named_volume(services):
    postgres = services["postgres"]
    assert str(postgres.get("image", "")).startswith("postgres:16")
    assert ("pgdata", "/var/lib/postgresql/data", "volume") in mounts(postgres)


def test_healthchecks(services):
    assert "pg_isready" in " ".join(healthcheck_argv(services["postgres"])), "postgres: no pg_isready healthcheck"
    server_check = " ".join(healthcheck_argv(services["prefect-server"]))
    assert "localhost:4200/api/health" in server_check, f"prefect-server healthcheck: {server_check!r}"
    scheduler_check = " ".join(healthcheck_argv(services["dask-scheduler"]))
    assert scheduler_check and "8786" in scheduler_check, f"dask-scheduler healthcheck: {scheduler_check!r}"
    # only curl-free checks: neither python:3.11-slim nor the prefect image ships curl or wget
    for name in ("prefect-server", "dask-scheduler"):
        assert not {"curl", "wget"} & set(healthcheck_argv(services[name])), f"{name}: healthcheck needs curl/wget"


def test_dask_workers_point_at_the_scheduler_service(services):
    scheduler_argv = command_argv(services["dask-scheduler"].get("command"))
    assert scheduler_argv[:2] == ["dask", "scheduler"], scheduler_argv
    port = scheduler_argv[scheduler_argv.index("--port") + 1] if "--port" in scheduler_argv else "8786"
    worker = services["dask-worker"]
    argv = command_argv(worker.get("command"))
    assert argv[:2] == ["dask", "worker"], argv
    address = next((a for a in argv[2:] if "://" in a or re.fullmatch(r"[\w.-]+:\d+", a)), None)
    assert address == f"tcp://dask-scheduler:{port}", f"worker connects to {address!r}"
    assert "--nthreads" in argv and argv[argv.index("--nthreads") + 1] == "1"
    assert (worker.get("deploy") or {}).get("replicas") == 2
    assert "container_name" not in worker, "a fixed container_name forbids replicas"
    assert depends_on(worker).get("dask-scheduler"), "dask-worker should start after the scheduler"


def test_serve_talks_to_prefect_and_dask(services):
    serve = services["serve"]
    env = environment(serve)
    assert env.get("PREFECT_API_URL") == "http://prefect-server:4200/api"
    assert env.get("LA2DS_DASK_SCHEDULER") == "tcp://dask-scheduler:8786"
    assert env.get("PENN_ACTION_ROOT", "").startswith("/data/")
    deps = depends_on(serve)
    assert deps.get("prefect-server", {}).get("condition") == "service_healthy"
    assert "dask-scheduler" in deps


def test_cache_volume_is_shared_at_one_path(services):
    targets = {}
    for name in CACHE_USERS:
        cache = [target for source, target, kind in mounts(services[name]) if source == "cache" and kind == "volume"]
        assert len(cache) == 1, f"{name}: the `cache` volume is mounted {len(cache)} times"
        targets[name] = cache[0]
    assert len(set(targets.values())) == 1, f"cache mounted at different paths: {targets}"
    (target,) = set(targets.values())
    for name in CACHE_USERS:
        cache_env = environment(services[name]).get("LA2DS_CACHE")
        if cache_env is not None:
            assert cache_env.startswith(target.rstrip("/") + "/"), f"{name}: LA2DS_CACHE={cache_env} is not on the volume"
        data = [(s, t) for s, t, kind in mounts(services[name]) if kind == "bind" and t == "/data"]
        assert data, f"{name}: ./data is not mounted at /data"
    # the serving process chooses the cache path; the workers write to it: it must be on the volume
    assert environment(services["serve"]).get("LA2DS_CACHE", "").startswith(target.rstrip("/") + "/")


def test_data_is_bind_mounted_read_only(services):
    for name in CACHE_USERS:
        entries = [e for e in services[name].get("volumes") or [] if isinstance(e, str) and e.split(":")[1:2] == ["/data"]]
        assert entries == ["./data:/data:ro"], f"{name}: data mounts {entries}"


def test_trainer_reserves_an_nvidia_gpu(services):
    devices = (((services["trainer"].get("deploy") or {}).get("resources") or {}).get("reservations") or {}).get("devices") or []
    assert any(d.get("driver") == "nvidia" and "gpu" in (d.get("capabilities") or []) and (d.get("count") or d.get("device_ids"))
               for d in devices), f"trainer reserves no NVIDIA GPU: {devices}"


def test_named_volumes_are_declared(compose, services):
    declared = set((compose.get("volumes") or {}).keys())
    used = {source for service in services.values() for source, _, kind in mounts(service) if kind == "volume" and source}
    assert used, "no named volumes used"
    assert used <= declared, f"volumes used but not declared: {sorted(used - declared)}"
    assert {"pgdata", "cache"} <= declared


def test_commands_use_existing_cli_subcommands(services):
    subcommands = cli_subcommands()
    seen = []
    for name, service in services.items():
        for sub in la2ds_subcommands_in(command_argv(service.get("command"))) + la2ds_subcommands_in(
                command_argv(service.get("entrypoint"))):
            assert sub in subcommands, f"{name}: `la2ds {sub}` is not a subcommand (have {sorted(subcommands)})"
            seen.append(name)
    for args in dockerfile_args("CMD") + dockerfile_args("ENTRYPOINT"):
        for sub in la2ds_subcommands_in(args):
            assert sub in subcommands, f"Dockerfile: `la2ds {sub}` is not a subcommand"
    assert {"serve", "trainer"} <= set(seen), "serve and trainer should run la2ds"


# ---------------------------------------------------------------- Dockerfile, .dockerignore


def test_dockerfile_base_image():
    froms = dockerfile_args("FROM")
    assert froms, "Dockerfile has no FROM"
    assert froms[-1][0].startswith("python:3.11"), f"final stage is FROM {froms[-1][0]}"


def test_dockerfile_runs_as_a_non_root_user():
    users = dockerfile_args("USER")
    assert users, "Dockerfile has no USER: the image would run as root"
    final = users[-1][0].split(":")[0]
    assert final not in {"root", "0"}, f"final USER is {final}"


def test_dockerfile_runs_la2ds_by_default():
    commands = dockerfile_args("ENTRYPOINT")[-1:] + dockerfile_args("CMD")[-1:]
    argv = [word for args in commands for word in args]
    assert argv[:2] == ["la2ds", "serve"], f"default command: {argv}"


def test_dockerfile_installs_the_project_and_torch_from_the_index_arg():
    runs = " ".join(args for keyword, args in dockerfile_instructions() if keyword == "RUN")
    installs = [shlex.split(part) for part in re.split(r"&&|;|\|\|", runs) if "pip install" in part]
    assert any({".", "./"} & set(words) for words in installs), "Dockerfile does not `pip install .` the project"
    default = dockerfile_arg_default("TORCH_INDEX_URL")
    assert default == "https://download.pytorch.org/whl/cpu", f"ARG TORCH_INDEX_URL default: {default!r}"
    assert re.search(r"--(?:extra-)?index-url[= ]\"?\$\{?TORCH_INDEX_URL\b", runs), "TORCH_INDEX_URL is not passed to pip"
    # the ARG must be declared after FROM to be visible in RUN
    keywords = [k for k, _ in dockerfile_instructions()]
    arg_at = next(i for i, (k, a) in enumerate(dockerfile_instructions()) if k == "ARG" and a.startswith("TORCH_INDEX_URL"))
    assert max(i for i, k in enumerate(keywords) if k == "FROM") < arg_at


def test_dockerfile_environment_and_workdir():
    instructions = dockerfile_instructions()
    assert ("WORKDIR", "/app") in instructions
    env = " ".join(args for keyword, args in instructions if keyword == "ENV")
    assert re.search(r"\bPREFECT_SERVER_ANALYTICS_ENABLED=false\b", env)
    assert re.search(r"\bNUMBA_CACHE_DIR=/tmp/numba\b", env)


def test_dockerfile_copies_existing_paths_not_ignored_by_dockerignore():
    patterns = dockerignore_patterns()
    copied = []
    for keyword, args in dockerfile_instructions():
        if keyword not in {"COPY", "ADD"}:
            continue
        words = [w for w in shlex.split(args) if not w.startswith("--")]
        if any(w.startswith("--from") for w in shlex.split(args)):
            continue  # from another stage, not from the repository
        assert len(words) >= 2, f"{keyword} {args}: needs a source and a destination"
        for source in words[:-1]:
            copied.append(source)
            assert (ROOT / source).exists(), f"Dockerfile {keyword}s {source}, absent from the repository"
            assert not ignored(source.rstrip("/"), patterns), f"Dockerfile copies {source}, excluded by .dockerignore"
    assert "pyproject.toml" in copied


def test_dockerfile_copies_every_package_pyproject_installs():
    """`pip install .` in the image only installs the packages that were COPYed."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = config["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file()
                and any(fnmatch.fnmatch(p.name, pattern) for pattern in include)}
    copied = {w.rstrip("/").removeprefix("./") for k, a in dockerfile_instructions() if k == "COPY"
              for w in shlex.split(a)[:-1] if not w.startswith("--")}
    missing = packages - copied
    assert packages and not missing, f"Dockerfile does not COPY packages: {sorted(missing)}"
    readme = config["project"].get("readme")
    if isinstance(readme, str):
        assert readme in copied, f"pyproject's readme {readme} must be copied for `pip install .`"


def test_dockerignore_keeps_local_state_out_of_the_context():
    patterns = dockerignore_patterns()
    for path in (".venv", ".la2ds", ".git", "__pycache__", "pipeline/__pycache__", ".pytest_cache", "data"):
        assert ignored(path, patterns), f".dockerignore does not exclude {path}"
    for path in ("pyproject.toml", "la2ds", "flows"):
        assert not ignored(path, patterns), f".dockerignore excludes {path}, which the image needs"


# ---------------------------------------------------------------- docs/compose.md


def test_docs_describe_every_service_and_the_run_command(services):
    text = DOCS.read_text()
    for name in list(services) + ["pgdata", "cache", "TORCH_INDEX_URL", "tests/test_compose.py"]:
        assert f"`{name}`" in text or name in text, f"docs/compose.md does not mention {name}"
    assert "docker compose up -d --build" in text


def test_docs_commands_match_the_code():
    """The la2ds subcommands, deployment and flow parameter that the docs tell people to use exist."""
    text = DOCS.read_text()
    code = "\n".join(re.findall(r"```[^\n]*\n(.*?)```", text, re.S) + re.findall(r"`([^`\n]+)`", text))
    subcommands = cli_subcommands()
    for sub in re.findall(r"(?:^|[\s/])la2ds\s+([a-z][\w-]*)", code, re.M):
        assert sub in subcommands, f"docs/compose.md uses `la2ds {sub}`, not a subcommand"
    runs = re.findall(r"prefect deployment run (\S+)((?:\s+-p\s+\S+)*)", code)
    assert runs, "docs/compose.md shows no `prefect deployment run`"

    import inspect

    from flows.preprocess import preprocess
    from flows.retrain import retrain_flow
    from flows.serve import deployments
    from flows.train import evaluate_flow, train_flow

    flows = {f.name: f for f in (preprocess, train_flow, evaluate_flow, retrain_flow)}
    served = {f"{d.flow_name}/{d.name}": d.flow_name for d in deployments()}
    for deployment, options in runs:
        assert deployment in served, f"docs run {deployment}; `la2ds serve` serves {sorted(served)}"
        parameters = set(inspect.signature(flows[served[deployment]].fn).parameters)
        for option in re.findall(r"-p\s+(\w+)=", options):
            assert option in parameters, f"docs pass -p {option}=..., not a parameter of {deployment}"
