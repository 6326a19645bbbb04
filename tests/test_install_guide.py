"""The README's install guide: every shell command in it is checked here, or is something `iamwhy doctor` does.

AWS CLI commands are checked against botocore's service models (the operation exists, every option is one of its
parameters, enumerated values are allowed) and against the template they deploy; docker, kubectl and iamwhy
commands against the Dockerfile, the Kubernetes manifest and iamwhy's own argument parser. A command nobody checks
fails the test until it is added here. Every line id the doctor can print has its troubleshooting entry.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest
import yaml

from app import DEFAULT_PORT, build_parser, inspect_configuration
from diagnostics.doctor.config import EXAMPLES
from diagnostics.doctor.fixes import deploy_command
from diagnostics.doctor.probes import PROBES, TOOLBOX
from diagnostics.reader import AwsConfig, RoleKind
from tests.test_deploy import _cloudformation

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
GUIDE_HEADING = "## Install guide"
ENV_FILE = "iamwhy.env"
ENV_EXAMPLE = ROOT / "deploy" / "iamwhy.env.example"
K8S = ROOT / "deploy" / "k8s"
K8S_FILES = ["deploy/k8s/deployment.yaml", "deploy/k8s/service.yaml"]
# The image keeps its state file here (a volume): the Docker commands mount one there.
STATE_VOLUME = "/var/lib/iamwhy"
EXAMPLE_BOT = "arn:aws:iam::111111111111:role/iamwhy-bot"
# Options every AWS CLI command takes besides its operation's parameters.
AWS_GLOBAL_OPTIONS = {"--region", "--profile", "--output", "--query", "--endpoint-url", "--no-cli-pager"}
# Variables of the AWS credential chain the bot may be given.
AWS_VARIABLES = {"AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"}


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    following = text.find("\n## ", start + len(heading))
    return text[start : following if following != -1 else len(text)]


GUIDE = _section(README, GUIDE_HEADING)


def _fenced(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", text, re.S | re.M)


DEPLOY_README = (ROOT / "deploy" / "README.md").read_text(encoding="utf-8")
K8S_README = (ROOT / "deploy" / "k8s" / "README.md").read_text(encoding="utf-8")


def guide_commands() -> list[str]:
    """Every command of the guide's ```sh blocks (README and deploy/), continuation lines joined, comments dropped."""
    commands: list[str] = []
    for block in [*_fenced(GUIDE, "sh"), *_fenced(DEPLOY_README, "sh"), *_fenced(K8S_README, "sh")]:
        current = ""
        for line in block.splitlines():
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            if stripped.endswith("\\"):
                current += stripped[:-1] + " "
                continue
            commands.append(current + stripped)
            current = ""
        assert not current, f"a continued line ends a block: {current!r}"
    return commands


# --------------------------------------------------------------------------------------------------------- aws CLI

_SESSION = botocore.session.get_session()
DOCTOR_READS = {("sts", "GetCallerIdentity"), *((p.service, p.operation) for p in (*PROBES, TOOLBOX))}


def _pascal(option: str) -> str:
    return "".join(part.capitalize() for part in option.removeprefix("--").split("-"))


def _options(argv: list[str]) -> dict[str, list[str]]:
    """--option value... pairs (an option may take several values, as --parameters does)."""
    options: dict[str, list[str]] = {}
    current: str | None = None
    for arg in argv:
        if arg.startswith("--"):
            name, _, inline = arg.partition("=")
            current = name
            options[current] = [inline] if inline else []
        else:
            assert current is not None, f"a value before any option: {arg!r}"
            options[current].append(arg)
    return options


def _template_parameters() -> set[str]:
    return set(_cloudformation()["Parameters"])


def _check_template_file(path: str) -> None:
    assert path == "deploy/cloudformation/iamwhy-readonly.yaml", path
    assert (ROOT / path).is_file()


def check_aws(argv: list[str]) -> None:
    service, operation_name = argv[1], argv[2]
    options = _options(argv[3:])
    if (service, operation_name) == ("cloudformation", "deploy"):
        _check_cloudformation_deploy(options)
        return
    model = _SESSION.get_service_model(service)
    operation = model.operation_model(_pascal(operation_name))
    members = operation.input_shape.members if operation.input_shape else {}
    required = set(operation.input_shape.required_members) if operation.input_shape else set()
    given = {_pascal(o) for o in options if o not in AWS_GLOBAL_OPTIONS}
    assert given <= set(members), f"aws {service} {operation_name}: no parameter {sorted(given - set(members))}"
    assert required <= given, f"aws {service} {operation_name}: missing {sorted(required - given)}"
    for option, values in options.items():
        shape = members.get(_pascal(option))
        if shape is not None:
            _check_values(option, shape, values)
    for value in options.get("--parameters", []):
        fields = dict(part.split("=", 1) for part in value.split(","))
        assert fields["ParameterKey"] in _template_parameters(), value
    if service != "cloudformation":
        # Reads the guide asks people to make are ones the doctor makes itself.
        assert (service, operation.name) in DOCTOR_READS, f"the doctor does not call {service} {operation.name}"


def _check_values(option: str, shape: Any, values: list[str]) -> None:
    """Values in the CLI's shorthand (Key=Value,...) name members of the shape; enumerated values are allowed ones."""
    item = shape.member if shape.type_name == "list" else shape
    for value in values:
        if value.startswith("file://"):
            _check_template_file(value.removeprefix("file://"))
        elif item.type_name == "structure":
            keys = {part.split("=", 1)[0] for part in value.split(",")}
            assert keys <= set(item.members), f"{option}: {sorted(keys - set(item.members))} are not fields"
        elif getattr(item, "enum", None):
            assert value in item.enum, f"{option} {value} is not one of {item.enum}"


def _check_cloudformation_deploy(options: dict[str, list[str]]) -> None:
    assert set(options) <= {"--stack-name", "--template-file", "--capabilities", "--parameter-overrides"}
    _check_template_file(options["--template-file"][0])
    assert options["--capabilities"] == ["CAPABILITY_NAMED_IAM"]
    overrides = dict(value.split("=", 1) for value in options["--parameter-overrides"])
    assert set(overrides) <= _template_parameters()
    assert overrides["ExternalId"] == "$IAMWHY_EXTERNAL_ID", "the ExternalId comes from the variable, never inline"


def check_doctor_deploy_commands() -> None:
    """The guide's one-account deploy commands are the ones the doctor prints in its fixes."""
    printed = {
        deploy_command(RoleKind.READ, "arn:aws:iam::222222222222:role/IamWhyReadOnly", EXAMPLE_BOT),
        deploy_command(RoleKind.ORG, "arn:aws:iam::333333333333:role/IamWhyOrgReadOnly", EXAMPLE_BOT),
    }
    in_guide = {c for c in guide_commands() if c.startswith("aws cloudformation deploy")}
    assert sorted(map(shlex.split, in_guide)) == sorted(map(shlex.split, printed))


# --------------------------------------------------------------------------------------------------------- others


def check_python(argv: list[str]) -> None:
    assert argv[:2] == ["python3", "-c"]
    out = subprocess.run([sys.executable, "-c", argv[2]], capture_output=True, text=True, check=True, timeout=30)
    AwsConfig(external_id=out.stdout.strip())


def check_export(argv: list[str]) -> None:
    name, _, value = argv[1].partition("=")
    assert name == "IAMWHY_EXTERNAL_ID", name
    AwsConfig(external_id=value)


def _terraform_variables() -> dict[str, bool]:
    """Module variable -> whether it must be given (no default)."""
    text = (ROOT / "deploy" / "terraform" / "variables.tf").read_text(encoding="utf-8")
    blocks = re.findall(r'variable "(\w+)" \{(.*?)\n\}', text, re.S)
    return {name: not re.search(r"^\s*default\s*=", body, re.M) for name, body in blocks}


def check_terraform(argv: list[str]) -> None:
    """`terraform init` / `apply` of the guide's module blocks: each names the module and only its variables."""
    assert argv[1] in ("init", "apply"), argv
    variables = _terraform_variables()
    blocks = [*_fenced(GUIDE, "hcl"), *_fenced(DEPLOY_README, "hcl")]
    modules = [m for block in blocks for m in re.findall(r'^module "\w+" \{\n(.*?)^\}', block, re.S | re.M)]
    assert len(modules) >= 3
    for module in modules:
        given = dict(re.findall(r"^\s*(\w+)\s*=\s*(.+)$", module, re.M))
        given.pop("providers", None)
        assert (ROOT / json.loads(given.pop("source")).removeprefix("./")).is_dir()
        assert set(given) <= set(variables), sorted(set(given) - set(variables))
        assert {name for name, needed in variables.items() if needed} <= set(given)


def check_cp(argv: list[str]) -> None:
    assert argv[1:] == ["deploy/iamwhy.env.example", ENV_FILE]
    problems, settings = inspect_configuration(_env_file(ENV_EXAMPLE))
    assert problems == ()
    assert settings is not None


def _env_file(path: Path) -> dict[str, str]:
    pairs = [line.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines() if "=" in line]
    return {k.strip(): v.strip() for k, v in pairs if not k.strip().startswith("#")}


def check_pip(argv: list[str]) -> None:
    assert argv == ["pip", "install", "."]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["scripts"]["iamwhy"] == "app:main"


def _iamwhy(args: list[str]) -> None:
    """Arguments the `iamwhy` command accepts (the doctor and serve run in tests/test_doctor_cli.py, test_app.py)."""
    parsed = build_parser().parse_args(args)
    assert parsed.command in ("doctor", "serve")


def check_iamwhy(argv: list[str]) -> None:
    _iamwhy(argv[1:])


def check_docker(argv: list[str]) -> None:
    if argv[1] == "build":
        assert argv[2:] == ["-t", "iamwhy", "."]
        assert (ROOT / "Dockerfile").is_file()
        return
    assert argv[1] == "run"
    rest = argv[2:]
    entrypoint = ["iamwhy", "serve"]
    while rest and rest[0].startswith("-"):
        flag = rest.pop(0)
        if flag in ("--rm", "-d"):
            continue
        value = rest.pop(0)
        if flag == "--name":
            assert value == "iamwhy"
        elif flag == "-p":
            assert value.split(":")[1] == str(DEFAULT_PORT)
        elif flag == "--env-file":
            assert value == ENV_FILE
        elif flag == "-e":
            assert value in AWS_VARIABLES, value
        elif flag == "-v":
            assert value.split(":", 1)[1] == STATE_VOLUME
            assert f"VOLUME {STATE_VOLUME}" in (ROOT / "Dockerfile").read_text(encoding="utf-8")
        elif flag == "--entrypoint":
            entrypoint = [value]
        else:
            raise AssertionError(f"docker run {flag} is not checked")
    image, *args = rest
    assert image == "iamwhy"
    assert entrypoint[0] == "iamwhy"
    _iamwhy([*entrypoint[1:], *args])


def _k8s(name: str) -> dict[str, Any]:
    document = yaml.safe_load((K8S / name).read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def _known_variables() -> set[str]:
    return {*EXAMPLES, *AWS_VARIABLES}


def check_kubectl(argv: list[str]) -> None:
    deployment = _k8s("deployment.yaml")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    secret_keys = {
        e["valueFrom"]["secretKeyRef"]["key"]
        for e in container["env"]
        if "valueFrom" in e and e["valueFrom"]["secretKeyRef"]["name"] == "iamwhy"
    }
    if argv[1:4] == ["create", "secret", "generic"]:
        assert argv[4] == "iamwhy"
        literals = [a.removeprefix("--from-literal=") for a in argv[5:]]
        assert all(a.startswith("--from-literal=") for a in argv[5:])
        assert {literal.split("=", 1)[0] for literal in literals} == secret_keys
    elif argv[1] == "apply":
        files = [argv[i + 1] for i, a in enumerate(argv) if a == "-f"]
        assert files == K8S_FILES
        _check_kubernetes(deployment, container)
    elif argv[1] == "exec":
        target, separator, *command = argv[2:]
        assert (target, separator) == (f"deploy/{deployment['metadata']['name']}", "--")
        assert command[0] == "iamwhy"
        _iamwhy(command[1:])
    else:
        raise AssertionError(f"kubectl {argv[1]} is not checked")


def _check_kubernetes(deployment: dict[str, Any], container: dict[str, Any]) -> None:
    spec = deployment["spec"]
    env = {e["name"]: e for e in container["env"]}
    assert set(env) <= _known_variables(), sorted(set(env) - _known_variables())
    if spec["replicas"] > 1:
        # Several replicas answer once only with their state shared.
        assert "IAMWHY_STATE_URL" in env
    pod = spec["template"]["spec"]
    dockerfile_user = re.search(r"^USER (\d+)$", (ROOT / "Dockerfile").read_text(encoding="utf-8"), re.M)
    assert dockerfile_user is not None
    assert pod["securityContext"]["runAsUser"] == int(dockerfile_user.group(1))
    assert container["ports"] == [{"name": "http", "containerPort": DEFAULT_PORT}]
    assert container["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    _iamwhy(["serve", *container.get("args", [])])
    service = _k8s("service.yaml")
    assert service["spec"]["selector"].items() <= spec["template"]["metadata"]["labels"].items()


CHECKERS: dict[str, Callable[[list[str]], None]] = {
    "aws": check_aws,
    "python3": check_python,
    "export": check_export,
    "terraform": check_terraform,
    "cp": check_cp,
    "pip": check_pip,
    "iamwhy": check_iamwhy,
    "docker": check_docker,
    "kubectl": check_kubectl,
}


def _cases() -> Iterator[Any]:
    for command in guide_commands():
        yield pytest.param(command, id=command[:60])


def test_the_guide_has_its_steps() -> None:
    steps = re.findall(r"^### (\d)\. ", GUIDE, re.M)
    assert steps == ["1", "2", "3", "4", "5", "6"]
    assert len(guide_commands()) >= 15


@pytest.mark.parametrize("command", list(_cases()))
def test_every_command_of_the_install_guide_is_checked(command: str) -> None:
    argv = shlex.split(command, posix=True)
    checker = CHECKERS.get(argv[0])
    assert checker is not None, f"nothing checks {command!r}: add a checker to tests/test_install_guide.py"
    checker(argv)


def test_the_guide_deploys_roles_with_the_command_the_doctor_prints() -> None:
    check_doctor_deploy_commands()


def test_the_environment_example_names_only_known_variables() -> None:
    assert set(_env_file(ENV_EXAMPLE)) <= set(EXAMPLES)


# -------------------------------------------------------------------------------------------------- troubleshooting


def _doctor_line_ids() -> set[str]:
    """Every line id the doctor can print: the literals its modules pass, and one per probe."""
    ids = {"config", "check", "aws.toolbox", *(f"aws.read.{p.id}" for p in PROBES)}
    sources = [*(ROOT / "diagnostics" / "doctor").rglob("*.py"), ROOT / "handlers" / "doctor.py", ROOT / "app.py"]
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            literal = node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else ""
            if re.fullmatch(r"(aws|slack)\.[a-z0-9_]+(\.[a-z0-9_]+)?", literal):
                ids.add(literal)
    assert TOOLBOX.id == "toolbox"
    return ids


def test_every_line_the_doctor_can_print_has_a_troubleshooting_entry() -> None:
    troubleshooting = _section(GUIDE, "### Troubleshooting")
    documented = set(re.findall(r"`((?:aws|slack)\.[a-z0-9_.]+|config|check)`", troubleshooting))
    ids = _doctor_line_ids()
    assert ids - documented == set(), "document these in the README's Troubleshooting"
    assert documented - ids == set(), "the README documents lines the doctor no longer prints"
