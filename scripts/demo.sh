#!/usr/bin/env bash
# `make demo`: shows ctlops on the public sample files. (The local-lab story replaces this
# once the lab lands: see issue 9.)
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
say "A real CUCM-made CTLFile.tlv: six records, signed by the publisher's certificate"
bin/ctlops inspect ctl/testdata/SCFFile.tlv
say "The same file as JSON (first lines)"
bin/ctlops inspect --format json ctl/testdata/SCFFile.tlv | head -20
say "One flipped byte: ctlops refuses the file and says why (exit 1 expected)"
tmp=$(mktemp); trap 'rm -f "$tmp"' EXIT
cp ctl/testdata/SCFFile.tlv "$tmp"; printf '\x00' | dd of="$tmp" bs=1 seek=4000 conv=notrunc status=none
if bin/ctlops inspect "$tmp" >/dev/null; then echo "unexpected: the tampered file verified"; exit 1; fi
echo "exit status 1, as it should be"
