#!/usr/bin/env bash
# Install or upgrade energimon on a Debian server (12 "bookworm" or later).  Idempotent: run it again to upgrade.
#
#   sudo deploy/install.sh                 install/upgrade from this source tree
#   deploy/install.sh --dry-run            print every step, change nothing
#   deploy/install.sh --root /tmp/stage    install into a staging root (CI, packaging): creates nothing outside
#                                          it, no user, no chown, no systemctl; intended owners go to the manifest
#
# What it creates (see deploy/README.md):
#   user/group energimon (system, no login, no home)
#   /opt/energimon/venv               0755 root:root         the program (pip install -c constraints.txt)
#   /opt/energimon/constraints.txt, README.md, install-manifest.txt
#   /etc/energimon                    0750 root:energimon
#   /etc/energimon/energimon.toml     0640 root:energimon    only if missing: a starter config (never overwritten)
#   /etc/energimon/energimon.example.toml 0640 root:energimon  every key documented (refreshed on upgrade)
#   /etc/energimon/energimon.env      0640 root:energimon    only if missing: secrets as environment variables
#   /var/lib/energimon                0750 energimon:energimon  spool and embedded store
#   /etc/systemd/system/energimon.service 0644 root:root     (refreshed on upgrade)
set -euo pipefail

usage() {
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
    cat <<'EOF'
Options:
  --root DIR        install below DIR instead of / (also: DESTDIR=DIR in the environment)
  --dry-run         print what would be done, do nothing
  --source DIR      energimon source tree (default: the folder above this script)
  --python PYTHON   Python 3.11+ to build the venv with (default: python3)
  --no-venv         skip creating/upgrading the venv (tree, config and unit only)
  --pip-args ARGS   extra arguments for pip install (e.g. "--no-index --find-links /srv/wheels")
  -h, --help        this help
EOF
}

SERVICE_USER=energimon
ROOT="${DESTDIR:-}"
DRY_RUN=0
NO_VENV=0
PYTHON=python3
PIP_ARGS=""
SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

while (($#)); do
    case "$1" in
        --root) ROOT="${2:?--root needs a directory}"; shift 2 ;;
        --root=*) ROOT="${1#--root=}"; shift ;;
        --dry-run) DRY_RUN=1; shift ;;
        --source) SOURCE="${2:?--source needs a directory}"; shift 2 ;;
        --python) PYTHON="${2:?--python needs a program}"; shift 2 ;;
        --no-venv) NO_VENV=1; shift ;;
        --pip-args) PIP_ARGS="${2?}"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 64 ;;
    esac
done

if [[ -n "$ROOT" ]]; then
    [[ "$ROOT" == /* ]] || ROOT="$(pwd)/$ROOT"
    ROOT="${ROOT%/}"
    [[ "$ROOT" != "" && "$ROOT" != "/" ]] || ROOT=""
fi
STAGED=0; [[ -n "$ROOT" ]] && STAGED=1

OPT=/opt/energimon
ETC=/etc/energimon
DATA=/var/lib/energimon
UNIT=/etc/systemd/system/energimon.service
MANIFEST="$OPT/install-manifest.txt"
MANIFEST_LINES=()

say() { printf 'energimon install: %s\n' "$*"; }
die() { printf 'energimon install: ERROR: %s\n' "$*" >&2; exit 1; }

# run CMD…: execute, or print it under --dry-run
run() {
    if ((DRY_RUN)); then
        printf '+ %s\n' "$*"
    else
        "$@"
    fi
}

# record MODE OWNER:GROUP TYPE PATH — the manifest (the truth for --root mode, where nothing is chowned)
record() { MANIFEST_LINES+=("$1 $2 $3 $4"); }

# set_owner OWNER:GROUP PATH — chown on a real install only
set_owner() {
    if ((STAGED)); then
        return 0
    fi
    run chown "$1" "$ROOT$2"
}

# ensure_dir MODE OWNER:GROUP PATH
ensure_dir() {
    local mode=$1 owner=$2 path=$3
    if [[ -d "$ROOT$path" ]]; then
        say "directory $path exists"
    else
        say "create directory $path"
    fi
    run install -d -m "$mode" "$ROOT$path"
    run chmod "$mode" "$ROOT$path"   # install -d does not change the mode of an existing directory
    set_owner "$owner" "$path"
    record "$mode" "$owner" dir "$path"
}

# install_file MODE OWNER:GROUP SRC DEST [keep] — keep: never overwrite an existing DEST (only fix mode/owner)
install_file() {
    local mode=$1 owner=$2 src=$3 dest=$4 keep=${5:-}
    if [[ -e "$ROOT$dest" && "$keep" == keep ]]; then
        say "keep existing $dest (mode set to $mode)"
        run chmod "$mode" "$ROOT$dest"
    elif [[ -e "$ROOT$dest" ]] && cmp -s "$src" "$ROOT$dest"; then
        say "$dest is up to date"
        run chmod "$mode" "$ROOT$dest"
    else
        say "install $dest"
        run install -m "$mode" "$src" "$ROOT$dest"
    fi
    set_owner "$owner" "$dest"
    record "$mode" "$owner" file "$dest"
}

# -- checks -------------------------------------------------------------------------------------------------------
[[ -f "$SOURCE/pyproject.toml" && -f "$SOURCE/constraints.txt" ]] \
    || die "$SOURCE is not an energimon source tree (no pyproject.toml/constraints.txt); give --source"
for f in deploy/energimon.service config/energimon.example.toml; do
    [[ -f "$SOURCE/$f" ]] || die "missing $SOURCE/$f"
done
if ((!STAGED && !DRY_RUN)) && [[ $EUID -ne 0 ]]; then
    die "run as root (sudo), or use --root DIR / --dry-run"
fi
if ((!NO_VENV)); then
    command -v "$PYTHON" >/dev/null || die "$PYTHON not found (Debian: apt-get install -y python3 python3-venv)"
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || die "$PYTHON is older than 3.11 ($("$PYTHON" -V 2>&1))"
    "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null \
        || die "$PYTHON cannot create venvs (Debian: apt-get install -y python3-venv)"
fi
((DRY_RUN)) && say "dry run: nothing is changed"
((STAGED)) && say "staging root $ROOT: no user, no chown, no systemctl; owners recorded in $MANIFEST"

# -- 1. system user -----------------------------------------------------------------------------------------------
if ((STAGED)); then
    say "would ensure system user $SERVICE_USER (not in staging mode)"
elif getent passwd "$SERVICE_USER" >/dev/null; then
    say "user $SERVICE_USER exists"
else
    say "create system user $SERVICE_USER"
    run useradd --system --user-group --home-dir "$DATA" --no-create-home \
        --shell /usr/sbin/nologin --comment "energimon daemon" "$SERVICE_USER"
fi

# -- 2. directories -----------------------------------------------------------------------------------------------
ensure_dir 0755 root:root "$OPT"
ensure_dir 0750 "root:$SERVICE_USER" "$ETC"
ensure_dir 0750 "$SERVICE_USER:$SERVICE_USER" "$DATA"
ensure_dir 0755 root:root /etc/systemd/system

# -- 3. the program: a venv with exactly the tested versions ---------------------------------------------------------
install_file 0644 root:root "$SOURCE/constraints.txt" "$OPT/constraints.txt"
install_file 0644 root:root "$SOURCE/README.md" "$OPT/README.md"
if ((NO_VENV)); then
    say "skip the venv (--no-venv)"
else
    if [[ -x "$ROOT$OPT/venv/bin/python" ]]; then
        say "upgrade the venv $OPT/venv"
    else
        say "create the venv $OPT/venv"
        run "$PYTHON" -m venv "$ROOT$OPT/venv"
    fi
    # shellcheck disable=SC2086  # PIP_ARGS is a list of words on purpose
    run "$ROOT$OPT/venv/bin/pip" install --quiet --upgrade $PIP_ARGS -c "$ROOT$OPT/constraints.txt" "$SOURCE"
    record 0755 root:root dir "$OPT/venv"
fi

# -- 4. configuration -------------------------------------------------------------------------------------------------
install_file 0640 "root:$SERVICE_USER" "$SOURCE/config/energimon.example.toml" "$ETC/energimon.example.toml"
STARTER="$(mktemp)"
trap 'rm -f "$STARTER"' EXIT
cat >"$STARTER" <<'EOF'
# energimon configuration.  Every key is documented in energimon.example.toml next to this file.
# Check it with:  /opt/energimon/venv/bin/energimon check-config /etc/energimon/energimon.toml
# Secrets: put them in files (password_file = "/etc/energimon/smtp.password", mode 0640 root:energimon)
# or in /etc/energimon/energimon.env (ENERGIMON_SMTP__PASSWORD=…), never in a world-readable file.

[store]
kind = "sqlite"
path = "/var/lib/energimon/store.db"

[spool]
path = "/var/lib/energimon/spool.db"

[log]
level = "INFO"

# Add [sites.<id>] and [[devices]] tables here (copy them from energimon.example.toml).
EOF
install_file 0640 "root:$SERVICE_USER" "$STARTER" "$ETC/energimon.toml" keep
cat >"$STARTER" <<'EOF'
# Secrets for energimon as environment variables, read by the systemd unit (EnvironmentFile=).
# Keep this file 0640 root:energimon.  Examples:
# ENERGIMON_SMTP__PASSWORD=...
# ENERGIMON_MQTT__PASSWORD=...
# ENERGIMON_STORE__INFLUXDB__TOKEN=...
EOF
install_file 0640 "root:$SERVICE_USER" "$STARTER" "$ETC/energimon.env" keep

# -- 5. systemd -------------------------------------------------------------------------------------------------------
install_file 0644 root:root "$SOURCE/deploy/energimon.service" "$UNIT"
if ((STAGED)); then
    say "staging root: systemctl not run"
elif [[ -d /run/systemd/system ]]; then
    run systemctl daemon-reload
    if systemctl is-active --quiet energimon; then
        say "energimon is running: restart it to use the new version: systemctl restart energimon"
    fi
else
    say "systemd is not running here: unit installed, not loaded"
fi

# -- 6. manifest: what this script made, with the intended mode and owner -------------------------------------------
record 0644 root:root file "$MANIFEST"
if ((DRY_RUN)); then
    say "would write $MANIFEST:"
    printf '  %s\n' "${MANIFEST_LINES[@]}"
else
    {
        echo "# energimon install manifest: mode owner:group type path (written by deploy/install.sh)"
        printf '%s\n' "${MANIFEST_LINES[@]}"
    } >"$ROOT$MANIFEST"
    chmod 0644 "$ROOT$MANIFEST"
fi

say "done."
if ((!STAGED)); then
    cat <<EOF
Next steps:
  1. edit $ETC/energimon.toml (sites and devices; see $ETC/energimon.example.toml)
  2. $OPT/venv/bin/energimon check-config $ETC/energimon.toml
  3. systemctl enable --now energimon && journalctl -u energimon -f
EOF
fi
