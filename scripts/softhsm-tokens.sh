#!/usr/bin/env bash
# Creates SoftHSM2 test tokens that behave like SafeNet eTokens, in a private directory, by
# TOOLCHAIN.md's recipe: an RSA-2048 key generated on the token, a self-signed certificate
# with the same CKA_ID, and no public-key object. Each certificate gets its own serial: the
# CTL header names its signer by serial, so two SAST certificates must never share one.
#
#   scripts/softhsm-tokens.sh DIR LABEL:PIN [LABEL:PIN...]
#   export SOFTHSM2_CONF=DIR/softhsm2.conf CTLOPS_PKCS11_MODULE=/usr/lib/softhsm/libsofthsm2.so
#
# DIR must not exist or be empty (or be one this script made). It never touches the system
# token directory. Test PINs only: they appear on the tools' command lines.
set -euo pipefail
[ $# -ge 2 ] || { sed -n '2,12p' "$0" >&2; exit 2; }
dir=$1; shift
mod=${CTLOPS_SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
[ -f "$mod" ] || { echo "softhsm-tokens: $mod missing (apt-get install softhsm2)" >&2; exit 1; }
for t in softhsm2-util pkcs11-tool certtool openssl; do
  command -v $t >/dev/null || { echo "softhsm-tokens: $t missing (run scripts/install-deps.sh)" >&2; exit 1; }
done
if [ -e "$dir" ] && [ -n "$(ls -A "$dir")" ] && [ ! -f "$dir/.ctlops-softhsm" ]; then
  echo "softhsm-tokens: $dir is not empty and was not made by ctlops; refusing" >&2; exit 1
fi
mkdir -p "$dir/tokens"; dir=$(cd "$dir" && pwd)
touch "$dir/.ctlops-softhsm"
[ -f "$dir/softhsm2.conf" ] || printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
  "$dir/tokens" > "$dir/softhsm2.conf"
export SOFTHSM2_CONF=$dir/softhsm2.conf
for spec in "$@"; do
  label=${spec%%:*}; pin=${spec#*:}
  [ "$label" != "$spec" ] && [ ${#pin} -ge 4 ] || { echo "softhsm-tokens: want LABEL:PIN (PIN of 4+ characters), got $spec" >&2; exit 2; }
  softhsm2-util --init-token --free --label "$label" --pin "$pin" --so-pin "$pin-so" >/dev/null
  pkcs11-tool --module "$mod" --token-label "$label" --login --pin "$pin" \
    --keypairgen --key-type rsa:2048 --label "$label" --id 01 >/dev/null
  serial=$(od -An -N7 -tu8 /dev/urandom | tr -d ' ')
  printf 'cn = "SAST-%s"\nunit = "IPCBU"\norganization = "ctlops lab"\nserial = %s\nexpiration_days = 3650\nsigning_key\n' \
    "$label" "$serial" > "$dir/$label.tmpl"
  GNUTLS_PIN=$pin certtool --provider "$mod" --generate-self-signed \
    --load-privkey "pkcs11:token=$label;object=$label;type=private" \
    --load-pubkey "pkcs11:token=$label;object=$label;type=public" \
    --template "$dir/$label.tmpl" --outfile "$dir/$label.pem" 2>/dev/null
  openssl x509 -in "$dir/$label.pem" -outform DER -out "$dir/$label.der"
  pkcs11-tool --module "$mod" --token-label "$label" --login --pin "$pin" \
    --write-object "$dir/$label.der" --type cert --id 01 --label "$label" >/dev/null
  pkcs11-tool --module "$mod" --token-label "$label" --login --pin "$pin" \
    --delete-object --type pubkey --id 01 >/dev/null
  echo "token $label: certificate $dir/$label.pem"
done
echo "export SOFTHSM2_CONF=$dir/softhsm2.conf CTLOPS_PKCS11_MODULE=$mod"
