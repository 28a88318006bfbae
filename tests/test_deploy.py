"""deploy/: install.sh into a throwaway root, the systemd unit's hardening, the compose file's structure.

install.sh runs for real (bash, install, pip) but only below a temp directory (``--root``): it creates no
user, chowns nothing and runs no systemctl there; the owners it would set are in its manifest, which
these tests check against the files' real modes.  The compose file is checked for structure only: Docker
does not run in CI.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from energimon.config.settings import load_settings

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
INSTALL = DEPLOY / "install.sh"
UNIT = DEPLOY / "energimon.service"
COMPOSE = DEPLOY / "compose.yaml"

# what install.sh creates: path -> (mode, owner:group, type)
EXPECTED = {
    "/opt/energimon": ("0755", "root:root", "dir"),
    "/etc/energimon": ("0750", "root:energimon", "dir"),
    "/var/lib/energimon": ("0750", "energimon:energimon", "dir"),
    "/etc/systemd/system": ("0755", "root:root", "dir"),
    "/opt/energimon/constraints.txt": ("0644", "root:root", "file"),
    "/opt/energimon/README.md": ("0644", "root:root", "file"),
    "/etc/energimon/energimon.example.toml": ("0640", "root:energimon", "file"),
    "/etc/energimon/energimon.toml": ("0640", "root:energimon", "file"),
    "/etc/energimon/energimon.env": ("0640", "root:energimon", "file"),
    "/etc/systemd/system/energimon.service": ("0644", "root:root", "file"),
    "/opt/energimon/install-manifest.txt": ("0644", "root:root", "file"),
}
# places on the machine itself that a staged install must never touch
HOST_PATHS = ["/opt/energimon", "/etc/energimon", "/var/lib/energimon", "/etc/systemd/system/energimon.service"]


def install(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["bash", str(INSTALL), *args], capture_output=True, text=True, timeout=900)
    if check:
        assert proc.returncode == 0, f"install.sh {args} failed\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


def host_state() -> dict:
    user = subprocess.run(["getent", "passwd", "energimon"], capture_output=True, text=True).stdout
    return {"user": user, **{p: os.path.lexists(p) for p in HOST_PATHS}}


def read_manifest(root: Path) -> dict[str, tuple[str, str, str]]:
    out = {}
    for line in (root / "opt/energimon/install-manifest.txt").read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        mode, owner, kind, path = line.split(" ", 3)
        out[path] = (mode, owner, kind)
    return out


def tree(root: Path) -> dict[str, tuple[str, bytes | None]]:
    snap = {}
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        snap[str(p.relative_to(root))] = (oct(st.st_mode), p.read_bytes() if p.is_file() else None)
    return snap


def test_install_script_is_valid_bash_and_has_help():
    subprocess.run(["bash", "-n", str(INSTALL)], check=True)
    assert os.access(INSTALL, os.X_OK), "deploy/install.sh must be executable"
    help_text = install("--help").stdout
    for opt in ("--root", "--dry-run", "--no-venv", "--source"):
        assert opt in help_text
    bad = install("--bogus", check=False)
    assert bad.returncode == 64 and "unknown option --bogus" in bad.stderr


def test_staged_install_creates_the_tree_with_modes_and_records_owners(tmp_path):
    root = tmp_path / "root"
    before = host_state()
    out = install("--root", str(root), "--no-venv").stdout
    assert host_state() == before, "a staged install changed the machine itself"
    assert "no user, no chown, no systemctl" in out

    manifest = read_manifest(root)
    assert manifest == EXPECTED
    for path, (mode, _owner, kind) in manifest.items():
        p = root / path.lstrip("/")
        assert (p.is_dir() if kind == "dir" else p.is_file()), path
        actual = f"{p.stat().st_mode & 0o7777:04o}"
        assert actual == mode, f"{path}: mode {actual}, manifest {mode}"
    # staged: nothing chowned to a user that may not exist
    assert {(root / p.lstrip("/")).stat().st_uid for p in manifest} == {os.getuid()}
    assert (root / "etc/systemd/system/energimon.service").read_bytes() == UNIT.read_bytes()
    assert (root / "opt/energimon/constraints.txt").read_bytes() == (REPO / "constraints.txt").read_bytes()

    # the starter configuration is valid and keeps the data in /var/lib/energimon (the only writable path)
    settings = load_settings(root / "etc/energimon/energimon.toml")
    assert settings.store.path == Path("/var/lib/energimon/store.db")
    assert settings.spool.path == Path("/var/lib/energimon/spool.db")
    assert not settings.devices


def test_staged_install_is_idempotent_and_keeps_the_users_config(tmp_path):
    root = tmp_path / "root"
    install("--root", str(root), "--no-venv")
    first = tree(root)
    second_out = install("--root", str(root), "--no-venv").stdout
    assert tree(root) == first, "a second run changed the tree"
    assert "/etc/systemd/system/energimon.service is up to date" in second_out

    # an edited config that someone made world-readable: content kept, mode repaired
    cfg = root / "etc/energimon/energimon.toml"
    edited = cfg.read_text(encoding="utf-8") + '\n[sites.soro-raadhus]\nname = "Sorø Rådhus"\n'
    cfg.write_text(edited, encoding="utf-8")
    cfg.chmod(0o644)
    (root / "etc/systemd/system/energimon.service").write_text("stale\n", encoding="utf-8")
    out = install("--root", str(root), "--no-venv").stdout
    assert cfg.read_text(encoding="utf-8") == edited
    assert cfg.stat().st_mode & 0o777 == 0o640
    assert "keep existing /etc/energimon/energimon.toml" in out
    assert (root / "etc/systemd/system/energimon.service").read_bytes() == UNIT.read_bytes()  # upgraded


def test_dry_run_prints_every_step_and_changes_nothing(tmp_path):
    root = tmp_path / "root"
    out = install("--dry-run", "--root", str(root)).stdout
    assert not root.exists()
    assert f"+ install -d -m 0750 {root}/etc/energimon" in out
    assert f"+ install -d -m 0750 {root}/var/lib/energimon" in out
    assert f"+ python3 -m venv {root}/opt/energimon/venv" in out
    pip = next(line for line in out.splitlines() if "/bin/pip install" in line)
    assert f"-c {root}/opt/energimon/constraints.txt {REPO}" in pip
    for path, (mode, owner, kind) in EXPECTED.items():
        if path != "/opt/energimon/install-manifest.txt":
            assert f"{mode} {owner} {kind} {path}" in out


def test_dry_run_on_the_real_machine_shows_user_and_owners_without_touching_anything():
    before = host_state()
    out = install("--dry-run").stdout
    assert host_state() == before
    assert ("+ useradd --system --user-group" in out) or ("user energimon exists" in out)
    assert "+ chown root:energimon /etc/energimon" in out
    assert "+ chown energimon:energimon /var/lib/energimon" in out
    assert "+ chown root:energimon /etc/energimon/energimon.toml" in out
    assert "+ chown root:root /etc/systemd/system/energimon.service" in out


@pytest.mark.slow
def test_staged_install_with_venv_gives_a_working_energimon_with_the_pinned_versions(tmp_path):
    """The full install: venv + ``pip install -c constraints.txt`` of this source tree.  Without byte-compiling
    (``--pip-args --no-compile``): compiling pandas, scipy and matplotlib is most of the install's CPU time on a
    2-core machine (285 s at load 11) and proves nothing the versions and a working command do not."""
    root = tmp_path / "root"
    install("--root", str(root), "--pip-args", "--no-compile")
    venv = root / "opt/energimon/venv"
    check = subprocess.run([str(venv / "bin/energimon"), "check-config", str(root / "etc/energimon/energimon.toml")],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stderr
    assert "OK" in check.stdout
    freeze = subprocess.run([str(venv / "bin/python"), "-m", "pip", "freeze"], capture_output=True, text=True,
                            check=True).stdout.lower()
    pins = [line.strip().lower() for line in (REPO / "constraints.txt").read_text().splitlines()
            if "==" in line and not line.startswith("#")]
    for pin in pins:
        name = pin.split("==")[0]
        if name in ("pymodbus", "pydantic", "pandas", "paho-mqtt", "influxdb-client", "apscheduler"):
            assert pin in freeze.replace("_", "-") or pin in freeze, f"{pin} not installed as pinned"
    # not editable: the code lives in the venv, not in the source tree
    where = subprocess.run([str(venv / "bin/python"), "-c", "import energimon; print(energimon.__file__)"],
                           capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(venv))
    # a second run upgrades in place
    assert "upgrade the venv" in install("--root", str(root), "--pip-args", "--no-compile").stdout


# -- the systemd unit ---------------------------------------------------------------------------------------------
def parse_unit(text: str) -> dict[str, list[tuple[str, str]]]:
    sections: dict[str, list[tuple[str, str]]] = {}
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        assert current is not None and "=" in line, f"not a unit file line: {raw!r}"
        key, value = line.split("=", 1)
        current.append((key.strip(), value.strip()))
    return sections


def unit_service() -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for k, v in parse_unit(UNIT.read_text(encoding="utf-8"))["Service"]:
        values.setdefault(k, []).append(v)
    return values


def test_unit_has_the_hardening_keys():
    svc = unit_service()
    one = {k: v[-1] for k, v in svc.items()}
    expected = {
        "Type": "notify", "Restart": "on-failure", "User": "energimon", "Group": "energimon",
        "ProtectSystem": "strict", "ReadWritePaths": "/var/lib/energimon", "NoNewPrivileges": "yes",
        "PrivateTmp": "yes", "ProtectHome": "yes", "CapabilityBoundingSet": "", "AmbientCapabilities": "",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX", "PrivateDevices": "yes",
        "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes", "ProtectControlGroups": "yes",
        "RestrictSUIDSGID": "yes", "RestrictNamespaces": "yes", "LockPersonality": "yes",
        "SystemCallArchitectures": "native", "StateDirectory": "energimon",
    }
    for key, value in expected.items():
        assert one.get(key) == value, f"{key}: expected {value!r}, unit has {one.get(key)!r}"
    assert int(one["WatchdogSec"]) >= 10
    assert "@system-service" in svc["SystemCallFilter"]
    assert one["RestartPreventExitStatus"] == "2"  # config error: no restart loop
    # ExecStart points where install.sh puts things
    assert one["ExecStart"] == "/opt/energimon/venv/bin/energimon run --config /etc/energimon/energimon.toml"
    assert one["EnvironmentFile"].startswith("-/etc/energimon/")
    # only the data directory is writable
    assert svc["ReadWritePaths"] == ["/var/lib/energimon"]
    assert "ReadOnlyPaths" not in svc and "InaccessiblePaths" not in svc


def _systemd_analyze() -> str:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.fail("systemd-analyze not found (Debian package systemd; .ci/run installs it)")
    return tool


def _verify(unit_text: str, tmp_path: Path) -> str:
    # the real ExecStart does not exist here; verify also checks that the binary exists
    unit = tmp_path / "energimon.service"
    unit.write_text(unit_text.replace("/opt/energimon/venv/bin/energimon", shutil.which("true") or "/bin/true"),
                    encoding="utf-8")
    proc = subprocess.run([_systemd_analyze(), "verify", str(unit)], capture_output=True, text=True, timeout=60)
    return proc.stdout + proc.stderr + (f"\nexit {proc.returncode}" if proc.returncode else "")


def test_unit_passes_systemd_analyze_verify(tmp_path):
    text = UNIT.read_text(encoding="utf-8")
    report = _verify(text, tmp_path)
    assert "energimon.service" not in report, report
    # the check can fail: a misspelt key is reported
    assert "Unknown key" in _verify(text.replace("ProtectHome=", "ProtectHom="), tmp_path)


def test_unit_exposure_level_is_low(tmp_path):
    unit = tmp_path / "energimon.service"
    unit.write_text(UNIT.read_text(encoding="utf-8"), encoding="utf-8")
    proc = subprocess.run([_systemd_analyze(), "security", "--offline=true", "--no-pager", str(unit)],
                          capture_output=True, text=True, timeout=60)
    m = re.search(r"Overall exposure level for energimon\.service: ([0-9.]+)", proc.stdout + proc.stderr)
    assert m, proc.stdout + proc.stderr
    assert float(m.group(1)) <= 2.0, proc.stdout  # systemd: <= 2.0 is "OK"; an unhardened service is 9.6


# -- compose (structure only: Docker is not run in CI) ------------------------------------------------------------
def _scalar(text: str):
    text = text.strip()
    if text.startswith("["):
        return json.loads(text)
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return ast.literal_eval(text) if text[0] == '"' else text[1:-1]
    return None if text == "" else text


def mini_yaml(text: str):
    """The block-style YAML subset our deploy files use: mappings, lists, scalars, JSON flow lists, comments.

    Anything outside that subset (anchors, multi-line strings, flow mappings) raises: the files must stay
    simple enough for a person to read, and this test keeps them so.
    """
    lines = []
    for raw in text.splitlines():
        stripped = raw.split(" #", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if stripped.strip():
            if re.search(r"(^|\s)[&*!|>]\S*\s*$|: [{&*!|>]", stripped):
                raise ValueError(f"YAML feature outside the subset: {raw!r}")
            lines.append((len(stripped) - len(stripped.lstrip(" ")), stripped.strip()))

    def block(i: int, indent: int):
        if lines[i][1].startswith("- "):
            out: list = []
            while i < len(lines) and lines[i][0] == indent and lines[i][1].startswith("- "):
                item = lines[i][1][2:]
                if re.match(r"^[\w.-]+:( |$)", item) and not item.startswith(("'", '"')):
                    # a mapping inside a list item: re-read it as a block at the item's content indent
                    lines[i] = (indent + 2, item)
                    value, i = block(i, indent + 2)
                else:
                    value, i = _scalar(item), i + 1
                out.append(value)
            return out, i
        mapping: dict = {}
        while i < len(lines) and lines[i][0] == indent and not lines[i][1].startswith("- "):
            key, sep, rest = lines[i][1].partition(":")
            assert sep and (rest == "" or rest.startswith(" ")), f"not a mapping line: {lines[i][1]!r}"
            key = _scalar(key)
            assert key not in mapping, f"duplicate key {key!r}"
            i += 1
            if rest.strip():
                mapping[key] = _scalar(rest)
            elif i < len(lines) and (lines[i][0] > indent or (lines[i][0] == indent and lines[i][1].startswith("- "))):
                mapping[key], i = block(i, lines[i][0])
            else:
                mapping[key] = None
        return mapping, i

    doc, end = block(0, 0)
    assert end == len(lines), f"unparsed YAML from line {lines[end]}"
    return doc


def test_mini_yaml_parser_reads_what_it_should_and_refuses_the_rest():
    doc = mini_yaml("a: 1\nb:\n  - x\n  - name: y\n    opts:\n      p: '/q'\nc: [\"CMD\", \"ping\"]\nd:\n")
    assert doc == {"a": "1", "b": ["x", {"name": "y", "opts": {"p": "/q"}}], "c": ["CMD", "ping"], "d": None}
    with pytest.raises(ValueError):
        mini_yaml("a: &anchor\n  b: 1\n")


def test_compose_file_structure():
    compose = mini_yaml(COMPOSE.read_text(encoding="utf-8"))

    services = compose["services"]
    assert set(services) == {"influxdb", "mosquitto", "grafana"}
    assert services["influxdb"]["image"].startswith("influxdb:2")
    assert services["mosquitto"]["image"].startswith("eclipse-mosquitto:2")
    assert services["grafana"]["image"].startswith("grafana/grafana")
    for name, svc in services.items():
        assert svc["restart"] == "unless-stopped", name
        for port in svc.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
        for vol in svc.get("volumes", []):
            source = vol.split(":")[0]
            if source.startswith("."):
                if source.startswith("./grafana") and not (DEPLOY / "grafana").exists():
                    continue  # another part of the project provides deploy/grafana
                assert (DEPLOY / source).exists(), f"{name} mounts {source}, which does not exist in deploy/"
            else:
                assert source in compose["volumes"], f"{name}: named volume {source} not declared"
        # secrets come from .env and are required, never written into the file
        for key, value in (svc.get("environment") or {}).items():
            if re.search(r"PASSWORD|TOKEN|SECRET", key):
                assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]+\}", value), f"{name}.{key} must be ${{VAR:?…}}"

    influx_env = services["influxdb"]["environment"]
    assert influx_env["DOCKER_INFLUXDB_INIT_MODE"] == "setup"
    assert "/var/lib/influxdb2" in " ".join(services["influxdb"]["volumes"])

    mosq = (DEPLOY / "mosquitto/mosquitto.conf").read_text(encoding="utf-8")
    assert "persistence true" in mosq and "allow_anonymous false" in mosq
    assert "password_file /mosquitto/config/passwd" in mosq
    assert any(v.startswith("./mosquitto:/mosquitto/config") for v in services["mosquitto"]["volumes"])


def test_compose_mounts_grafana_provisioning_where_the_provider_looks():
    grafana = DEPLOY / "grafana"
    if not grafana.exists():
        pytest.fail("deploy/grafana/ is missing: the compose file mounts its provisioning")
    svc = mini_yaml(COMPOSE.read_text(encoding="utf-8"))["services"]["grafana"]
    mounts = dict(v.rsplit(":", 1)[0].split(":", 1) for v in svc["volumes"] if v.startswith("./"))
    assert mounts["./grafana/provisioning/datasources"] == "/etc/grafana/provisioning/datasources"
    assert mounts["./grafana/provisioning/dashboards"] == "/etc/grafana/provisioning/dashboards"
    provider = mini_yaml((grafana / "provisioning/dashboards/energimon.yaml").read_text(encoding="utf-8"))
    assert mounts["./grafana/dashboards"] == provider["providers"][0]["options"]["path"]
    assert list((grafana / "dashboards").glob("*.json")), "no dashboards to provision"
    # every ${VAR} the datasource reads is set in the grafana container's environment
    datasource = (grafana / "provisioning/datasources/energimon.yaml").read_text(encoding="utf-8")
    used = set(re.findall(r"\$\{(\w+)\}", "\n".join(
        line for line in datasource.splitlines() if not line.lstrip().startswith("#"))))
    assert used and used <= set(svc["environment"]), used - set(svc["environment"])
