#!/usr/bin/env bash
# Installs what `make test` and `make demo` need on a fresh Debian machine (run as root).
# Idempotent: a machine that already has everything spends under a second here.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
have() { command -v "$1" >/dev/null 2>&1; }
have softhsm2-util || need_pkgs+=(softhsm2)
have pkcs11-tool   || need_pkgs+=(opensc)
have certtool      || need_pkgs+=(gnutls-bin)
have in.tftpd      || need_pkgs+=(tftpd-hpa)
have tftp          || need_pkgs+=(tftp-hpa)
have openssl       || need_pkgs+=(openssl)
have curl          || need_pkgs+=(curl)
have npm           || need_pkgs+=(nodejs npm)

# On a fresh machine apt (network and dpkg) and the Go side (module downloads, compiling
# staticcheck and the project) take about as long as each other and wait on different things,
# so apt runs in the background while Go works; neither needs the other (the PKCS#11 binding
# carries its own headers).
apt_pid="" apt_log=""
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing ${need_pkgs[*]}; run as root or install them with apt-get" >&2
    exit 1
  fi
  echo "install-deps: apt-get install ${need_pkgs[*]} (in the background)"
  apt_log=$(mktemp)
  (
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # tftpd-hpa's post-install tries to start its service; that may fail in a container
    # without an init system, which is fine: the tests start in.tftpd themselves.
    apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" || \
      apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}"
  ) >"$apt_log" 2>&1 &
  apt_pid=$!
fi

# ajv-cli (for make schema-check) comes from npm, which is network-bound too: in the
# background from the start when npm is here, else once apt has installed it.
# shellcheck source=scripts/ajv-install.sh
. scripts/ajv-install.sh
ajv_pid=""
if have npm && [ ! -x "$AJV" ]; then
  ajv_install &
  ajv_pid=$!
fi

GOBIN=$(go env GOPATH)/bin
if [ ! -x "$GOBIN/staticcheck" ]; then
  echo "install-deps: go install staticcheck"
  go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
fi

if [ -n "$apt_pid" ]; then
  # While apt works: fetch the modules and compile the project once, so that vet, build and
  # the tests find a warm cache. Errors are left to those steps, which report them properly.
  go mod download >/dev/null 2>&1 || true
  go build ./... >/dev/null 2>&1 || true
  if ! wait "$apt_pid"; then
    echo "install-deps: apt-get install ${need_pkgs[*]} failed:" >&2
    cat "$apt_log" >&2
    rm -f "$apt_log"
    exit 1
  fi
  rm -f "$apt_log"
  echo "install-deps: apt-get install done"
fi

if [ -n "$ajv_pid" ]; then
  wait "$ajv_pid"
else
  ajv_install
fi
