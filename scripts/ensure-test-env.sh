#!/usr/bin/env bash
# Makes sure the machine can run Unlatch's tests against real things:
#   samba-tool / samba  (a throwaway Samba AD DC on loopback, see test/support/directory.ts)
#   kinit               (MIT Kerberos client: the authoritative check of a password)
#   ldapsearch          (OpenLDAP client tools, handy when debugging the test DC)
#   openssl             (makes the test DC's TLS certificate)
#   chromium            (the real browser for extension tests)
#
# Idempotent: when everything is there it only prints one line. When something is missing and we
# run as root with apt-get, it runs `apt-get update` once and installs the Debian packages. As
# a normal user it prints the exact command to run and exits 1.
#
# It never leaves Samba's system services running: the tests start their own DC on 127.0.0.1
# and need ports 88/389/636 free, so services started by the package install are stopped and
# masked.
set -euo pipefail

PACKAGES=(samba samba-ad-dc krb5-user ldap-utils winbind chromium openssl)
SERVICES=(samba-ad-dc smbd nmbd winbind)

# command -> why it is needed (the package list above provides all of them)
declare -A NEEDED=(
  [samba-tool]="samba (provisions the test AD DC)"
  [samba]="samba-ad-dc (runs the test AD DC)"
  [kinit]="krb5-user (checks passwords with real Kerberos)"
  [ldapsearch]="ldap-utils (LDAP client tools)"
  [openssl]="openssl (test DC certificate)"
  [chromium]="chromium (browser tests)"
)

have() {
  # /usr/sbin is not on every root PATH inside containers; samba lives there.
  command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ]
}

missing=()
for cmd in "${!NEEDED[@]}"; do
  have "$cmd" || missing+=("$cmd")
done

# Samba's Python bindings must match samba-tool's interpreter (the test seeding uses them).
samba_python_ok() {
  local tool py
  tool="$(command -v samba-tool 2>/dev/null || echo /usr/bin/samba-tool)"
  [ -r "$tool" ] || return 1
  py="$(head -n1 "$tool" | sed -e 's/^#![[:space:]]*//' -e 's/[[:space:]].*$//')"
  [ -x "$py" ] && "$py" -c 'import samba.samdb' >/dev/null 2>&1
}
if [ ${#missing[@]} -eq 0 ] && ! samba_python_ok; then
  missing+=("python3-samba")
fi

stop_services() {
  # Only when we can: root, and the service tooling exists. Harmless when nothing runs.
  [ "$(id -u)" -eq 0 ] || return 0
  for svc in "${SERVICES[@]}"; do
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
      systemctl stop "$svc" >/dev/null 2>&1 || true
      systemctl mask "$svc" >/dev/null 2>&1 || true
    elif command -v service >/dev/null 2>&1; then
      service "$svc" stop >/dev/null 2>&1 || true
    fi
  done
  # Debian without systemd (containers): the init scripts may still have started daemons that
  # hold 88/389/636. Stop only daemons that run from the system configuration, by their pid
  # files; never touch a test DC (those run with -s <temp dir>/etc/smb.conf).
  for pidfile in /run/samba/samba.pid /run/samba/smbd.pid /run/samba/nmbd.pid /run/samba/winbindd.pid \
                 /var/run/samba/samba.pid /var/run/samba/smbd.pid /var/run/samba/nmbd.pid /var/run/samba/winbindd.pid; do
    if [ -r "$pidfile" ]; then
      pid="$(tr -dc '0-9' <"$pidfile")"
      if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
      fi
    fi
  done
}

if [ ${#missing[@]} -eq 0 ]; then
  echo "ensure-test-env: samba, kinit, ldapsearch, openssl and chromium are present"
  exit 0
fi

echo "ensure-test-env: missing: ${missing[*]}"
install_cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${PACKAGES[*]}"

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-test-env: cannot install them from here. Run, as root (Debian/Ubuntu):" >&2
  echo "  $install_cmd" >&2
  echo "  then stop the system services so the ports 88/389/636 stay free:" >&2
  echo "  for s in ${SERVICES[*]}; do systemctl stop \$s; systemctl mask \$s; done" >&2
  exit 1
fi

# Keep package scripts from starting the daemons at all where the policy hook is honoured.
policy_rc=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy_rc" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy_rc"
  chmod 755 "$policy_rc"
  created_policy=1
fi
cleanup() { if [ "$created_policy" -eq 1 ]; then rm -f "$policy_rc"; fi; }
trap cleanup EXIT

echo "ensure-test-env: installing ${PACKAGES[*]}"
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${PACKAGES[@]}"
stop_services

still=()
for cmd in "${!NEEDED[@]}"; do
  have "$cmd" || still+=("$cmd")
done
if [ ${#still[@]} -ne 0 ] || ! samba_python_ok; then
  echo "ensure-test-env: still missing after install: ${still[*]:-python3-samba}" >&2
  exit 1
fi
echo "ensure-test-env: ready"
