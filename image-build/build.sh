#!/usr/bin/env bash
# Builds the Vigil appliance image: a Debian 12 GPT disk image with systemd-boot, the A/B root slots
# and vigil installed in /opt/vigil/venv. The data partition is made on first boot (systemd-repart).
#
#   image-build/build.sh [OUTDIR]        (default OUTDIR: image-build/out; run as root)
#
# Output in OUTDIR: vigil-appliance.img.zst, vigil-appliance.img.zst.sha256, vigil-appliance.img.bmap
# (bmaptool's block map: flashing writes only the used blocks), vigil-appliance.manifest, and
# vigil-<version>.raucb, the same root as a signed RAUC update bundle (image-build/bundle.sh).
#
# Release signing: VIGIL_RELEASE_KEY and VIGIL_RELEASE_CERT sign the bundle; the image trusts
# VIGIL_RELEASE_KEYRING (default: that certificate). Without them a development key is made once in
# OUTDIR/dev-release/ (never commit it): bundles it signs install only on images built with it.
# No loop devices and no mounts: mmdebstrap --mode=unshare makes the root tree, mke2fs -d turns it
# into an ext4 image, mkfs.vfat -C + mtools make the ESP, sfdisk writes the GPT and dd places the
# partitions into a sparse file. How and why: design/appliance.md ("Image build").
#
# Cache: the Debian base (packages only) is kept as OUTDIR/cache/base-<key>.tar, where the key hashes
# image-build/packages and the mmdebstrap options below; it is rebuilt when either changes, or when
# VIGIL_IMAGE_FRESH=1 (do that now and then to pick up Debian security updates). Everything else
# (vigil's wheels and venv, units, the partition images) is rebuilt on every run (~1 min warm).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
OUT=$(realpath -m "${1:-$HERE/out}")
SUITE=bookworm
MIRROR=${VIGIL_DEBIAN_MIRROR:-http://deb.debian.org/debian}
ESP_MIB=256
ROOT_MIB=${VIGIL_ROOT_MIB:-2048}
# Fixed identifiers: the same inputs give the same partition table and loader entries. Two disks
# flashed from this image in one box would clash; a box has one system disk.
DISK_UUID=7a1c0b5e-3f0e-4c55-9b5e-7669676c0001
ESP_UUID=7a1c0b5e-3f0e-4c55-9b5e-7669676c00e5
ROOT_A_UUID=7a1c0b5e-3f0e-4c55-9b5e-7669676c000a
ROOT_B_UUID=7a1c0b5e-3f0e-4c55-9b5e-7669676c000b
FS_A_UUID=7a1c0b5e-3f0e-4c55-9b5e-7669676c0f0a
ESP_VOLID=5649474c   # "VIGL"
TYPE_ESP=C12A7328-F81F-11D2-BA4B-00A0C93EC93B
TYPE_ROOT_X86_64=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709
# The kernel command line of slot A: the serial console is the appliance's console (the boot test
# reads it); the root is found by PARTUUID, which is what differs between the slots.
CMDLINE_COMMON="rw console=tty0 console=ttyS0,115200 systemd.show_status=auto"
BOOT_TRIES=3

# Installs systemd/ (units, *.sysusers, *.tmpfiles) and hw/ (*.rules) into the root tree and enables
# every unit that has an [Install] section.
install_units() {
  local repo=$1 root=$2 f name enable=()
  mkdir -p "$root/usr/lib/systemd/system" "$root/usr/lib/sysusers.d" "$root/usr/lib/tmpfiles.d" \
    "$root/usr/lib/udev/rules.d"
  for f in "$repo"/systemd/*; do
    [ -f "$f" ] || continue
    name=$(basename "$f")
    case "$name" in
      *.service | *.socket | *.timer | *.path | *.target | *.mount)
        install -m 0644 "$f" "$root/usr/lib/systemd/system/$name"
        grep -q '^\[Install\]' "$f" && enable+=("$name") ;;
      *.sysusers) install -m 0644 "$f" "$root/usr/lib/sysusers.d/${name%.sysusers}.conf" ;;
      *.tmpfiles) install -m 0644 "$f" "$root/usr/lib/tmpfiles.d/${name%.tmpfiles}.conf" ;;
      *) die "systemd/$name: not a kind of file build.sh knows how to install" ;;
    esac
  done
  for f in "$repo"/hw/*.rules; do
    [ -f "$f" ] && install -m 0644 "$f" "$root/usr/lib/udev/rules.d/$(basename "$f")"
  done
  if [ ${#enable[@]} -gt 0 ]; then
    systemctl --root="$root" --quiet enable "${enable[@]}"
  fi
  log "installed units: ${enable[*]:-(none: systemd/ has no units yet)}"
}

started=$(date +%s)
log() { printf 'build.sh [%4ds]: %s\n' $(($(date +%s) - started)) "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (the root tree is owned by root and vigil is installed with chroot)"
for tool in mmdebstrap mke2fs mkfs.vfat mmd mcopy sfdisk zstd bmaptool sha256sum systemctl systemd-sysusers openssl \
  rauc mksquashfs; do
  command -v "$tool" >/dev/null || die "$tool is missing: bash .ci/install installs it"
done

export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$REPO" log -1 --format=%ct 2>/dev/null || date +%s)}
export E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH MTOOLS_SKIP_CHECK=1 LC_ALL=C.UTF-8
VERSION=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$REPO/daemon/vigil/__init__.py")
[ -n "$VERSION" ] || die "cannot read __version__ from daemon/vigil/__init__.py"
mkdir -p "$OUT/cache"
if [ -z "${VIGIL_RELEASE_KEY:-}" ]; then
  export VIGIL_RELEASE_KEY="$OUT/dev-release/key.pem" VIGIL_RELEASE_CERT="$OUT/dev-release/cert.pem"
  if [ ! -s "$VIGIL_RELEASE_CERT" ]; then
    mkdir -p -m 0700 "$OUT/dev-release"
    openssl req -x509 -newkey rsa:3072 -nodes -keyout "$VIGIL_RELEASE_KEY" -out "$VIGIL_RELEASE_CERT" \
      -subj "/CN=vigil development release key ($(hostname))" -days 3650 2>/dev/null || die "openssl failed"
  fi
  log "WARNING: no VIGIL_RELEASE_KEY: signing with the development key $VIGIL_RELEASE_KEY"
fi
KEYRING=${VIGIL_RELEASE_KEYRING:-${VIGIL_RELEASE_CERT:?VIGIL_RELEASE_CERT goes with VIGIL_RELEASE_KEY}}
rm -f "$OUT"/cache/*.part "$OUT"/vigil-*.raucb
WORK="$OUT/work"
rm -rf "$WORK"
mkdir -p "$WORK"

# ---- 1. the Debian base (cached) ----------------------------------------------------------------
PACKAGES=$(grep -v '^#' "$HERE/packages" | grep -v '^[[:space:]]*$' | paste -sd, -)
MMDEBSTRAP_ARGS=(
  --mode=unshare --variant=apt --format=tar --include="$PACKAGES"
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*'
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright'
  # GStreamer's GTK/GL plugins drag in Mesa's drivers and LLVM (~190 MB); nothing here draws.
  --dpkgopt='path-exclude=/usr/lib/x86_64-linux-gnu/dri/*' --dpkgopt='path-exclude=/usr/lib/x86_64-linux-gnu/libLLVM*'
  --dpkgopt='path-exclude=/usr/lib/x86_64-linux-gnu/libz3.so*'
  --customize-hook='rm -f "$1"/etc/machine-id "$1"/var/lib/dbus/machine-id && : > "$1"/etc/machine-id'
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin'
)
KEY=$(printf '%s\n' "$SUITE" "$MIRROR" "$PACKAGES" "${MMDEBSTRAP_ARGS[@]}" | sha256sum | cut -c1-16)
BASE="$OUT/cache/base-$KEY.tar"
if [ "${VIGIL_IMAGE_FRESH:-0}" = 1 ] || [ ! -s "$BASE" ]; then
  log "mmdebstrap $SUITE (base $KEY; takes ~1.5 min)"
  rm -f "$OUT"/cache/base-*.tar
  mmdebstrap "${MMDEBSTRAP_ARGS[@]}" "$SUITE" "$BASE.part" "$MIRROR" 2>"$WORK/mmdebstrap.log" \
    || { tail -30 "$WORK/mmdebstrap.log" >&2; die "mmdebstrap failed (log: $WORK/mmdebstrap.log)"; }
  mv "$BASE.part" "$BASE"
else
  log "reusing the cached Debian base $BASE"
fi

# ---- 2. vigil's wheels, built on the host (Debian's Python 3.11, as in the image) -----------------
log "building wheels"
# The web app and the district hub's page are bundled into the package by .ci/install (npm +
# esbuild on the host); the wheel carries the built files, so the image needs no node.
[ -f "$REPO/daemon/vigil/api/static/app/main.js" ] && [ -f "$REPO/daemon/vigil/api/static/hub/hub.js" ] \
  || (cd "$REPO/daemon/web" && npm ci --no-audit --no-fund --loglevel=error && node build.mjs) \
  || die "cannot build the web app (daemon/web): run bash .ci/install first"
rm -rf "$OUT/wheels"
/usr/bin/python3 -m pip wheel --quiet --disable-pip-version-check --wheel-dir "$OUT/wheels" "$REPO[systemd]" \
  || die "pip wheel failed"

# ---- 3. the root tree: base + venv + units + appliance files ------------------------------------
ROOT="$WORK/root"
mkdir -p "$ROOT"
tar -xf "$BASE" -C "$ROOT" --numeric-owner
cp -a "$OUT/wheels" "$ROOT/tmp/wheels"
log "installing vigil $VERSION into /opt/vigil/venv"
# A clean environment: the host's PIP_* settings and paths mean nothing inside the image.
in_root() { env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 chroot "$ROOT" "$@"; }
in_root /usr/bin/python3 -m venv --system-site-packages /opt/vigil/venv
in_root /opt/vigil/venv/bin/python -m pip install --quiet --disable-pip-version-check --no-index \
  --find-links /tmp/wheels "vigil[systemd]==$VERSION"
rm -rf "$ROOT/tmp/wheels" "$ROOT/root/.cache"
ln -sf /opt/vigil/venv/bin/vigil "$ROOT/usr/local/bin/vigil"

# Appliance files (fstab, repart.d, network, loader drop-ins, ...), owned by root.
cp -r --no-preserve=ownership "$HERE/rootfs/." "$ROOT/"
# vigil's own units, sysusers/tmpfiles files and udev rules, from systemd/ and hw/.
install_units "$REPO" "$ROOT"
systemd-sysusers --root="$ROOT"
systemctl --root="$ROOT" --quiet enable systemd-networkd.service systemd-timesyncd.service
systemctl --root="$ROOT" --quiet disable systemd-networkd-wait-online.service
mkdir -p "$ROOT/efi"   # the ESP, mounted on demand by systemd-gpt-auto-generator (boot counting)
printf '%s\n' "$VERSION" >"$ROOT/etc/vigil-image-version"
# Updates: the certificates a bundle must chain to, and what a slot's new boot entry boots.
install -m 0644 "$KEYRING" "$ROOT/etc/rauc/keyring.pem"
cat >"$ROOT/usr/lib/vigil/boot-slots.json" <<EOF
{"cmdline": "$CMDLINE_COMMON", "slots": {"a": {"partuuid": "$ROOT_A_UUID"}, "b": {"partuuid": "$ROOT_B_UUID"}}}
EOF

# ---- 4. partition images -------------------------------------------------------------------------
KVER=$(basename "$(ls -d "$ROOT"/lib/modules/* | sort -V | tail -1)")
[ -f "$ROOT/boot/vmlinuz-$KVER" ] && [ -f "$ROOT/boot/initrd.img-$KVER" ] || die "no kernel/initrd for $KVER"
ROOT_USED_MIB=$(du -sm --apparent-size "$ROOT" | cut -f1)
log "root tree ${ROOT_USED_MIB} MiB, slot size ${ROOT_MIB} MiB, kernel $KVER"
[ "$ROOT_USED_MIB" -lt $((ROOT_MIB * 85 / 100)) ] || die "root tree too big for a ${ROOT_MIB} MiB slot (VIGIL_ROOT_MIB)"
mke2fs -q -F -t ext4 -d "$ROOT" -L vigil-root-a -U "$FS_A_UUID" -E "hash_seed=$FS_A_UUID" \
  "$WORK/root-a.img" "${ROOT_MIB}M"

ESP="$WORK/esp.img"
mkfs.vfat -C -F 32 -n VIGIL-BOOT -i "$ESP_VOLID" --invariant "$ESP" $((ESP_MIB * 1024)) >/dev/null
mmd -i "$ESP" ::/EFI ::/EFI/BOOT ::/EFI/systemd ::/loader ::/loader/entries ::/vigil ::/vigil/a
EFI_BIN="$ROOT/usr/lib/systemd/boot/efi/systemd-bootx64.efi"
mcopy -i "$ESP" "$EFI_BIN" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$ESP" "$EFI_BIN" ::/EFI/systemd/systemd-bootx64.efi
mcopy -i "$ESP" "$ROOT/boot/vmlinuz-$KVER" ::/vigil/a/linux
mcopy -i "$ESP" "$ROOT/boot/initrd.img-$KVER" ::/vigil/a/initrd
printf '%s\n' "$VERSION" >"$WORK/version-a"
mcopy -i "$ESP" "$WORK/version-a" ::/vigil/a/version
mcopy -i "$ESP" "$HERE/esp/loader.conf" ::/loader/loader.conf
# version: the entry's generation, which orders the slots' entries (vigil/core/boot_entries.py).
cat >"$WORK/entry-a.conf" <<EOF
title      Vigil $VERSION (slot A)
version    1
sort-key   vigil
linux      /vigil/a/linux
initrd     /vigil/a/initrd
options    root=PARTUUID=$ROOT_A_UUID rauc.slot=a $CMDLINE_COMMON
EOF
# "+3": systemd-boot counts tries down; systemd-bless-boot renames it to vigil-a.conf once the
# boot reaches boot-complete.target (which vigil.service is required for).
mcopy -i "$ESP" "$WORK/entry-a.conf" "::/loader/entries/vigil-a+$BOOT_TRIES.conf"
for f in "$HERE"/esp/*.txt "$HERE"/esp/*.example; do
  [ -e "$f" ] && mcopy -i "$ESP" "$f" "::/$(basename "$f")"
done

# The same root as an update bundle, signed (a box running any earlier image installs it).
"$HERE/bundle.sh" "$WORK/root-a.img" "$VERSION" "$OUT/vigil-$VERSION.raucb" || die "bundle.sh failed"

# ---- 5. the disk: GPT + partitions at fixed offsets, sparse ----------------------------------------
IMG="$WORK/vigil-appliance.img"
MIB_SECTORS=2048
ESP_START=$MIB_SECTORS
A_START=$((ESP_START + ESP_MIB * MIB_SECTORS))
B_START=$((A_START + ROOT_MIB * MIB_SECTORS))
END=$((B_START + ROOT_MIB * MIB_SECTORS))
truncate -s $(((END + MIB_SECTORS) * 512)) "$IMG"
sfdisk -q --no-reread --no-tell-kernel "$IMG" <<EOF
label: gpt
label-id: $DISK_UUID
first-lba: 2048
start=$ESP_START, size=$((ESP_MIB * MIB_SECTORS)), type=$TYPE_ESP, uuid=$ESP_UUID, name="esp"
start=$A_START, size=$((ROOT_MIB * MIB_SECTORS)), type=$TYPE_ROOT_X86_64, uuid=$ROOT_A_UUID, name="vigil-root-a"
start=$B_START, size=$((ROOT_MIB * MIB_SECTORS)), type=$TYPE_ROOT_X86_64, uuid=$ROOT_B_UUID, name="vigil-root-b"
EOF
dd if="$ESP" of="$IMG" bs=1M seek=$((ESP_START / MIB_SECTORS)) conv=notrunc,sparse status=none
dd if="$WORK/root-a.img" of="$IMG" bs=1M seek=$((A_START / MIB_SECTORS)) conv=notrunc,sparse status=none
# Slot B stays empty (zeros): the first update writes it (design/appliance.md, "Updates").

# ---- 6. compress, checksum, manifest ---------------------------------------------------------------
log "compressing"
zstd -q -f -T0 -6 "$IMG" -o "$OUT/vigil-appliance.img.zst"
(cd "$OUT" && sha256sum vigil-appliance.img.zst >vigil-appliance.img.zst.sha256)
# The block map of the sparse image: which 4 KiB blocks hold data (~1.4 of 4.25 GiB) and a SHA-256
# per range, which `bmaptool copy` checks while it writes only those blocks.
bmaptool create -o "$OUT/vigil-appliance.img.bmap" "$IMG"
cat >"$OUT/vigil-appliance.manifest" <<EOF
version=$VERSION
kernel=$KVER
debian_base=$KEY
image_bytes=$(stat -c %s "$IMG")
esp_offset_bytes=$((ESP_START * 512))
esp_uuid=$ESP_UUID
root_a_partuuid=$ROOT_A_UUID
root_b_partuuid=$ROOT_B_UUID
boot_tries=$BOOT_TRIES
bundle=vigil-$VERSION.raucb
source_date_epoch=$SOURCE_DATE_EPOCH
EOF
rm -rf "$WORK"
log "done in $(($(date +%s) - started)) s: $OUT/vigil-appliance.img.zst ($(du -m "$OUT/vigil-appliance.img.zst" | cut -f1) MiB)"
