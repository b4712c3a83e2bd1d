#!/usr/bin/env bash
# Makes a signed RAUC update bundle of a root filesystem image (design/appliance.md, "Updates").
#
#   image-build/bundle.sh ROOT.ext4 VERSION OUT.raucb
#
# Signed with the release key: VIGIL_RELEASE_KEY and VIGIL_RELEASE_CERT (PEM files; a PKCS#11
# URI works for the key too). The appliance accepts a bundle only if that certificate chains to its
# keyring (/etc/rauc/keyring.pem, installed by build.sh from VIGIL_RELEASE_CERT or, for a release
# CA, VIGIL_RELEASE_KEYRING). The bundle is in RAUC's `verity` format: the box checks the signature
# first, then every block it reads against the signed dm-verity root hash, so a truncated or
# altered bundle is refused before anything is written.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
[ $# = 3 ] || { echo "usage: $0 ROOT.ext4 VERSION OUT.raucb" >&2; exit 2; }
ROOT_IMG=$1 VERSION=$2 OUT=$3
: "${VIGIL_RELEASE_KEY:?the release key (PEM file or PKCS#11 URI)}" "${VIGIL_RELEASE_CERT:?its certificate (PEM)}"
for tool in rauc mksquashfs; do
  command -v "$tool" >/dev/null || { echo "bundle.sh: $tool is missing: bash .ci/install installs it" >&2; exit 1; }
done
COMPATIBLE=${VIGIL_COMPATIBLE:-vigil-appliance-x86_64}

content=$(mktemp -d -p "$(dirname "$OUT")" .bundle.XXXXXX)  # beside OUT: the root image is hard-linked
log=$(mktemp)
trap 'rm -rf "$content" "$log"' EXIT
ln "$ROOT_IMG" "$content/root.ext4" 2>/dev/null || cp --sparse=always "$ROOT_IMG" "$content/root.ext4"
install -m 0755 "$HERE/rauc-hook.sh" "$content/hook.sh"
cat >"$content/manifest.raucm" <<EOF
[update]
compatible=$COMPATIBLE
version=$VERSION
description=Vigil $VERSION

[bundle]
format=verity

[hooks]
filename=hook.sh

[image.rootfs]
filename=root.ext4
hooks=post-install
EOF
rm -f "$OUT"
# zstd: about as small as gzip here and several times faster to make and to unpack on the box.
rauc bundle --cert="$VIGIL_RELEASE_CERT" --key="$VIGIL_RELEASE_KEY" --mksquashfs-args="-comp zstd" \
  "$content" "$OUT" >"$log" 2>&1 || { cat "$log" >&2; echo "bundle.sh: rauc bundle failed" >&2; exit 1; }
echo "bundle.sh: $OUT ($COMPATIBLE $VERSION, $(du -m "$OUT" | cut -f1) MiB)" >&2
