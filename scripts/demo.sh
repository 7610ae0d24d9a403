#!/usr/bin/env bash
# `make demo`: the whole ctlops story on a built-in lab, without a question.
#
# Two simulated token-based CUCM clusters (hq: publisher, subscriber, TFTP-only node; branch: one
# node that is also hq's alternate TFTP server) and a tokenless one (metro) run on loopback with
# real TLS and TFTP, and SoftHSM2 tokens stand in for USB eTokens. The story: plan the first
# CTL, apply it (signed on a token),
# check for drift, change a node's IP address as a real cluster would, find that drift, plan
# and apply the fix, check again, reset the lab's phones and see them registered over TLS with the
# new CTL, and stop everything. It ends with every phone, metro's included, on the newest CTL.
#
# A third cluster, metro, is the other kind: a tokenless CUCM 12.5 (lab/cucmsim) reached only
# through its platform CLI over SSH and TFTP. CUCM signs its CTL itself (ITLRecovery); ctlops
# plans what CUCM will build, runs `utils ctl …` on the publisher and checks every node's copy.
set -euo pipefail
cd "$(dirname "$0")/.."

CTLOPS=${CTLOPS:-bin/ctlops}
LAB=${LAB:-.ctlops-demo}
SPEC=$LAB/ctlops.yaml

bold=$'\033[1m' dim=$'\033[2m' reset=$'\033[0m'
if [ ! -t 1 ] || [ -n "${NO_COLOR:-}" ]; then bold='' dim='' reset=''; fi
step=0
say() { step=$((step + 1)); printf '\n%s== %d. %s%s\n' "$bold" "$step" "$1" "$reset"; shift; for l in "$@"; do printf '%s   %s%s\n' "$dim" "$l" "$reset"; done; }
run() { printf '%s$ %s%s\n' "$bold" "$*" "$reset"; "$@"; }
# expect CODE CMD...: run CMD and insist on its exit status.
expect() {
  local want=$1; shift
  printf '%s$ %s%s\n' "$bold" "$*" "$reset"
  set +e; "$@"; local got=$?; set -e
  if [ "$got" != "$want" ]; then echo "demo: expected exit status $want, got $got" >&2; exit 1; fi
  printf '%s(exit status %d, as expected)%s\n' "$dim" "$got" "$reset"
}

"$CTLOPS" lab down --dir "$LAB" --purge >/dev/null 2>&1 || true
trap '"$CTLOPS" lab down --dir "$LAB" --purge >/dev/null 2>&1 || true' EXIT

say "Start the lab" \
  "Reference CTL Providers stand in for CUCM nodes; SoftHSM2 tokens stand in for eTokens." \
  "lab.env exports the lab's passwords, token PIN and PKCS#11 module (a lab PIN is no secret)."
run "$CTLOPS" lab up --dir "$LAB"
# shellcheck disable=SC1090,SC1091
. "$LAB/lab.env"

say "The desired state, as it would sit in Git" \
  "Mode, tokens (by certificate) and the alternate TFTP server are declared; servers are discovered (R14)."
grep -v '^#' "$SPEC" | sed -n '1,22p'
echo "  ..."
sed -n '/- name: metro/,$p' "$SPEC"   # metro: tokenless, reached through the platform CLI
run "$CTLOPS" validate -f "$SPEC"

say "Plan the first CTL" \
  "No CTL exists yet: two tokens (R16), every CallManager/TFTP/CAPF server, br1 as hq's alternate TFTP." \
  "metro (tokenless) is non-secure: its plan is CUCM's own CTL, made by 'utils ctl set-cluster mixed-mode'."
expect 2 "$CTLOPS" plan -f "$SPEC" --detailed-exitcode --out "$LAB/first.plan"

say "Apply it" \
  "apply re-reads every server, refuses the plan if anything changed, locks every node (R24)," \
  "signs on token lab-alice over PKCS#11 (PIN from lab.env), pushes, reads back and verifies." \
  "--auto-approve answers the 'Type yes' question, as in CI."
run "$CTLOPS" apply "$LAB/first.plan" -f "$SPEC" --auto-approve

say "What a phone downloads" \
  "The file cm2 serves over TFTP, decoded; the signature verifies against lab-alice's certificate."
cm2_tftp=$("$CTLOPS" lab status --dir "$LAB" | awk '$1 == "hq" && $2 == "cm2" { print $5 }')
tmp=$(mktemp -d); trap 'rm -rf "$tmp"; "$CTLOPS" lab down --dir "$LAB" --purge >/dev/null 2>&1 || true' EXIT
tftp -m binary "${cm2_tftp%:*}" "${cm2_tftp#*:}" -c get CTLFile.tlv "$tmp/CTLFile.tlv"
run "$CTLOPS" inspect "$tmp/CTLFile.tlv" | awk 'NR <= 12 || /^Signature:/'  # each line once

say "Check for drift" "Nothing changed since the apply: exit 0."
expect 0 "$CTLOPS" drift -f "$SPEC"

say "The cluster changes" "cm2 gets a new IP address; its CTL record is now stale (R22)."
run "$CTLOPS" lab event --dir "$LAB" ip-change cm2 10.10.0.12

say "Drift is found" "ctlops drift names the node and the record: exit 2."
expect 2 "$CTLOPS" drift -f "$SPEC"

say "Plan the fix" "One record to refresh (~), shown as a diff of the show-ctl text."
expect 2 "$CTLOPS" plan -f "$SPEC" --cluster hq --detailed-exitcode

say "Apply the fix" "Signed again on lab-alice, which the installed CTL trusts (R19)."
run "$CTLOPS" apply -f "$SPEC" --cluster hq --auto-approve

say "Check again" "The live clusters match the spec: exit 0."
expect 0 "$CTLOPS" drift -f "$SPEC"

say "Phones take the new CTL" \
  "Every device is reset, as after any CTL update (R23): each lab phone fetches CTLSEP<MAC>.tlv," \
  "checks its signer against the CTL it holds (R19, P14) and registers over TLS with a CallManager" \
  "whose certificate that CTL holds (P42). docs/phones.md says what the phones model."
run "$CTLOPS" lab event --dir "$LAB" reset-phones >/dev/null
run "$CTLOPS" lab phones --dir "$LAB"
if "$CTLOPS" lab phones --dir "$LAB" --format json | grep -q '"secure": false'; then
  echo "demo: a phone is not registered over TLS after the apply" >&2; exit 1
fi

say "What metro's phones download" \
  "The first apply ran 'utils ctl set-cluster mixed-mode' on mpub over SSH; CUCM signed with ITLRecovery."
msub_tftp=$("$CTLOPS" lab status --dir "$LAB" | awk '$1 == "metro" && $2 == "msub" { print $5 }')
tftp -m binary "${msub_tftp%:*}" "${msub_tftp#*:}" -c get CTLFile.tlv "$tmp/metro.tlv"
run "$CTLOPS" inspect "$tmp/metro.tlv" | awk 'NR <= 12 || /^Signature:/'

say "A tokenless cluster changes" "msub's CallManager certificate is regenerated; nobody ran 'utils ctl update CTLFile' (R22)."
run "$CTLOPS" lab event --dir "$LAB" regen-cert metro/msub
expect 2 "$CTLOPS" drift -f "$SPEC" --cluster metro

say "Apply the fix on metro" "ctlops runs 'utils ctl update CTLFile' on the publisher and checks every node's copy."
run "$CTLOPS" apply -f "$SPEC" --cluster metro --auto-approve
expect 0 "$CTLOPS" drift -f "$SPEC"

say "Every phone on the new CTL" \
  "Every device is reset again (R23). metro's phones fetch the CTL CUCM rebuilt from its TFTP service" \
  "and register over TLS with msub's new CallManager certificate, which only that CTL holds (P42)."
run "$CTLOPS" lab event --dir "$LAB" reset-phones >/dev/null
run "$CTLOPS" lab phones --dir "$LAB"
if "$CTLOPS" lab phones --dir "$LAB" --format json | grep -q '"secure": false'; then
  echo "demo: a phone is not registered over TLS after the apply" >&2; exit 1
fi
tftp -m binary "${msub_tftp%:*}" "${msub_tftp#*:}" -c get CTLFile.tlv "$tmp/metro-new.tlv"
metro_ctl=$(sha256sum "$tmp/metro-new.tlv" | cut -d' ' -f1)
if [ "$("$CTLOPS" lab phones --dir "$LAB" --format json | grep -c "\"ctlSHA256\": \"$metro_ctl\"")" != 2 ]; then
  echo "demo: metro's two phones do not hold the CTL metro's TFTP serves now" >&2; exit 1
fi

say "Stop the lab" "Every node process is stopped and the demo's lab directory deleted: nothing is left running."
run "$CTLOPS" lab down --dir "$LAB" --purge
trap 'rm -rf "$tmp"' EXIT

cat <<EOF

${bold}What to try next${reset}
  $CTLOPS lab up                      # a lab of your own in .ctlops-lab
  . .ctlops-lab/lab.env
  $CTLOPS plan -f .ctlops-lab/ctlops.yaml --format markdown    # the pull-request view
  $CTLOPS lab event --help            # certificates regenerated, nodes added, CAPF enabled, tampering
  $CTLOPS drift -f .ctlops-lab/ctlops.yaml --every 10s --metrics drift.prom
  $CTLOPS tokens                      # the lab's SoftHSM2 tokens
  $CTLOPS lab down
EOF
