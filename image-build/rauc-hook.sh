#!/bin/sh
# The bundle's install hook (image-build/bundle.sh puts it in every bundle, so it is signed with it).
# RAUC runs `hook.sh slot-post-install` once the new root filesystem is written into the inactive
# slot and mounted at $RAUC_SLOT_MOUNT_POINT; the boot entry is written after, by set-primary
# (`vigil update backend`, which reads the version this leaves beside the kernel).
#
# What crosses to the new slot: /etc/vigil (the provisioned configuration) and /etc/machine-id.
# Everything else that outlives a slot is on the data partition, which no update touches.
set -eu

case "${1:-}" in
  slot-post-install) ;;
  *) exit 0 ;;
esac
[ "${RAUC_SLOT_CLASS:-}" = rootfs ] || exit 0
new=${RAUC_SLOT_MOUNT_POINT:?}
slot=${RAUC_SLOT_BOOTNAME:?}
esp=${VIGIL_ESP:-/efi}
old=${VIGIL_RUNNING_ROOT:-}  # the running system's root (tests point both elsewhere)

if [ -d "$old/etc/vigil" ]; then
  mkdir -p "$new/etc/vigil"
  cp -a "$old/etc/vigil/." "$new/etc/vigil/"
fi
if [ -s "$old/etc/machine-id" ]; then cp -a "$old/etc/machine-id" "$new/etc/machine-id"; fi

kernel=$(ls "$new"/boot/vmlinuz-* | sort -V | tail -1)
kver=${kernel##*/vmlinuz-}
[ -f "$new/boot/initrd.img-$kver" ] || { echo "hook: no initrd for $kver in the new slot" >&2; exit 1; }
dir="$esp/vigil/$slot"
mkdir -p "$dir"
# Written under new names and renamed, each synced: a power cut leaves the old files or the new.
cp "$kernel" "$dir/linux.new"
cp "$new/boot/initrd.img-$kver" "$dir/initrd.new"
cp "$new/etc/vigil-image-version" "$dir/version.new"
sync "$dir/linux.new" "$dir/initrd.new" "$dir/version.new"
mv "$dir/linux.new" "$dir/linux"
mv "$dir/initrd.new" "$dir/initrd"
mv "$dir/version.new" "$dir/version"
sync "$dir"
echo "hook: slot $slot: kernel $kver, $(cat "$dir/version"); /etc/vigil carried across" >&2
