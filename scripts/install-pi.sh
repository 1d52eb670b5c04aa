#!/usr/bin/env bash
# Installs (or updates) the kiosk as an appliance on a Raspberry Pi.
# Run as root from a checkout of the project: sudo ./scripts/install-pi.sh [options]
# Safe to run again: it updates the program and the units, and never overwrites
# /etc/kiosk/kiosk.toml, the broker's ACL or existing broker accounts.
#
#   --no-apt     don't install Debian packages (cage, foot, fonts, mosquitto, ...)
#   --plan       also enable `kiosk plan` (one per community is enough)
#   --no-start   install and enable, but don't (re)start anything
#   --wheelhouse DIR  install the program from DIR only (made by scripts/wheelhouse),
#                for a Pi without internet; with --no-apt nothing is downloaded at all
#
# The program is installed at the tested versions of constraints.txt.
#
# The first run installs an example /etc/kiosk/kiosk.toml and stops: edit it, then run
# the script again. See docs/deploy.md.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
PREFIX=/opt/kiosk
VENV=$PREFIX/.venv
ETC=/etc/kiosk
CONFIG=$ETC/kiosk.toml
UNIT_DIR=/etc/systemd/system
MOSQ_DIR=/etc/mosquitto
PY=${PYTHON:-python3}
APT=1
PLAN=0
START=1
WHEELHOUSE=""

while [ $# -gt 0 ]; do
  case $1 in
    --no-apt) APT=0 ;;
    --plan) PLAN=1 ;;
    --no-start) START=0 ;;
    --wheelhouse)
      [ $# -ge 2 ] || { echo "--wheelhouse needs a directory" >&2; exit 2; }
      [ -d "$2" ] || { echo "no such wheelhouse: $2" >&2; exit 2; }
      WHEELHOUSE=$(cd "$2" && pwd); shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "unknown option: $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done

say() { printf '\n== %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root: sudo $0 $*"
[ -f "$SRC/pyproject.toml" ] || die "run from a checkout of the kiosk project"

if [ "$APT" -eq 1 ]; then
  say "Debian packages"
  apt-get update
  # python3-lgpio: gpiozero's pin driver on current Raspberry Pi OS, seen by the venv
  # through --system-site-packages below.
  apt-get install -y --no-install-recommends \
    python3 python3-venv python3-lgpio \
    cage foot fonts-noto-cjk \
    mosquitto mosquitto-clients
fi

# Touch in foot arrived in 1.15 (Debian 12 has 1.13: use Raspberry Pi OS on Debian 13).
foot_version=$(dpkg-query -W -f='${Version}' foot 2>/dev/null || true)
if [ -z "$foot_version" ]; then
  echo "warning: foot is not installed; the kiosk screen needs it" >&2
elif dpkg --compare-versions "$foot_version" lt 1.15; then
  echo "warning: foot $foot_version takes no touch input; 1.15 or later is needed" >&2
fi

say "Service user and groups"
for group in gpio dialout video input render; do
  if ! getent group "$group" >/dev/null; then
    echo "note: group $group did not exist; creating it (the device rules may not use it)"
    groupadd --system "$group"
  fi
done
if ! id kiosk >/dev/null 2>&1; then
  # Home = the unit's StateDirectory; no password, no login shell.
  useradd --system --user-group --home-dir /var/lib/kiosk --no-create-home \
    --shell /usr/sbin/nologin --comment "community kiosk" kiosk
fi
usermod --append --groups gpio,dialout,video,input,render kiosk

say "Program in $VENV"
install -d -m 0755 "$PREFIX"
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv --system-site-packages "$VENV"
fi
if [ -n "$WHEELHOUSE" ]; then
  # Offline: only what the wheelhouse holds, at the tested versions.
  "$VENV/bin/python" -m pip install --quiet --no-index --find-links "$WHEELHOUSE" \
    -c "$SRC/constraints.txt" --upgrade community-kiosk
else
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -c "$SRC/constraints.txt" --upgrade "$SRC"
fi
# /opt is read-only to the running kiosk (ProtectSystem=strict), so Python could never
# write its bytecode there: compile it now, or every start is several times slower.
site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
for pkg in kiosk devices mqtt plan monitor tui; do
  if [ -d "$site/$pkg" ]; then
    "$VENV/bin/python" -m compileall -q -j 0 "$site/$pkg"
  fi
done
# Third-party packages may carry files that don't compile (old test data); skip those.
"$VENV/bin/python" -m compileall -q -j 0 "$site" >/dev/null || true

say "Configuration in $ETC"
install -d -m 0750 -o root -g kiosk "$ETC"
install -m 0644 "$SRC/systemd/foot.ini" "$ETC/foot.ini.dist"
[ -e "$ETC/foot.ini" ] || install -m 0644 "$SRC/systemd/foot.ini" "$ETC/foot.ini"
install -m 0644 "$SRC/systemd/kiosk.toml.example" "$ETC/kiosk.toml.example"
if [ ! -e "$CONFIG" ]; then
  install -m 0640 -o root -g kiosk "$SRC/systemd/kiosk.toml.example" "$CONFIG"
fi
install -m 0644 "$SRC/systemd/pam.d/kiosk" /etc/pam.d/kiosk

say "systemd units"
install -m 0644 "$SRC/systemd/kiosk.service" "$SRC/systemd/kiosk-plan.service" "$UNIT_DIR/"
systemctl daemon-reload

if cmp -s "$SRC/systemd/kiosk.toml.example" "$CONFIG"; then
  cat <<EOF

$CONFIG is still the example. Set your community_id, kiosk_id, lock boards,
GPIO pins and MQTT password in it, check it with
    $VENV/bin/kiosk config check $CONFIG
and run this script again.
EOF
  exit 0
fi
"$VENV/bin/kiosk" config check "$CONFIG" || die "fix $CONFIG, then run this script again"

say "Mosquitto (the kiosk's own broker)"
read -r community kiosk_id mqtt_user mqtt_password < <(
  "$VENV/bin/python" - "$CONFIG" <<'EOF'
import sys
from kiosk.config import load_config
c = load_config(sys.argv[1])
user = c.mqtt.username or f"kiosk-{c.kiosk_id}"
print(c.community_id, c.kiosk_id, user, c.mqtt.password or "-")
EOF
)
if [ "$mqtt_password" = "-" ] || [ "$mqtt_password" = "change-me" ]; then
  die "set [mqtt] password in $CONFIG (any long random string), then run this script again"
fi
[[ $mqtt_user =~ ^[A-Za-z0-9._-]+$ ]] || die "[mqtt] username may use letters, digits, . _ -"
getent group mosquitto >/dev/null || die "mosquitto is not installed (apt-get install mosquitto)"
install -d -m 0755 "$MOSQ_DIR/conf.d"
install -m 0644 "$SRC/systemd/mosquitto/kiosk.conf" "$MOSQ_DIR/conf.d/kiosk.conf"
install -m 0644 "$SRC/systemd/mosquitto/bridge.conf.example" "$MOSQ_DIR/bridge.conf.example"
if [ ! -e "$MOSQ_DIR/kiosk.acl" ]; then
  sed -e "s/maple-court/$community/g" -e "s/gate-east/$kiosk_id/g" \
      -e "s/^user kiosk-$kiosk_id\$/user $mqtt_user/" \
      "$SRC/systemd/mosquitto/acl.example" > "$MOSQ_DIR/kiosk.acl"
  chown mosquitto:mosquitto "$MOSQ_DIR/kiosk.acl"
  chmod 0640 "$MOSQ_DIR/kiosk.acl"
fi
passwd_file=$MOSQ_DIR/kiosk.passwd
# mosquitto 2.0.16+ warns about (and later refuses) files it does not own or others can read.
# The kiosk's account always matches kiosk.toml; the others are made once, at random.
if [ -e "$passwd_file" ]; then
  mosquitto_passwd -b "$passwd_file" "$mqtt_user" "$mqtt_password"
else
  mosquitto_passwd -c -b "$passwd_file" "$mqtt_user" "$mqtt_password"
fi
for account in notifier plan; do
  if ! grep -q "^$account:" "$passwd_file"; then
    secret=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
    mosquitto_passwd -b "$passwd_file" "$account" "$secret"
    if [ "$account" = plan ]; then
      (umask 077; printf 'KIOSK_MQTT_USERNAME=plan\nKIOSK_MQTT_PASSWORD=%s\n' "$secret" \
        > "$ETC/plan.env")
    else
      (umask 077; printf '%s\n' "$secret" > "$ETC/notifier.secret")
      echo "The notifier's MQTT password is in $ETC/notifier.secret (root only)."
    fi
  fi
done
chown mosquitto:mosquitto "$passwd_file"
chmod 0640 "$passwd_file"

say "Enable"
# The kiosk screen owns tty1; maintainers use SSH, or Ctrl+Alt+F2 for a console.
systemctl disable getty@tty1.service >/dev/null 2>&1 || true
systemctl enable mosquitto.service kiosk.service
if [ "$PLAN" -eq 1 ]; then
  systemctl enable kiosk-plan.service
fi
if [ "$START" -eq 1 ]; then
  systemctl restart mosquitto.service  # picks up kiosk.conf, the ACL and the accounts
  systemctl stop getty@tty1.service || true
  systemctl restart kiosk.service
  if [ "$PLAN" -eq 1 ]; then
    systemctl restart kiosk-plan.service
  fi
fi

cat <<EOF

Installed. Useful commands:
    systemctl status kiosk            # running? last status line from the kiosk
    journalctl -u kiosk -b            # this boot's log; add -p warning for problems only
    $VENV/bin/kiosk config check $CONFIG
EOF
