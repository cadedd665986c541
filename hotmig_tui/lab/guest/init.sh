#!/bin/busybox sh
# /init of a hotmig lab guest (PID 1). Parameters come from the kernel command line as hm.KEY=VALUE; the
# console line format is documented in hotmig_tui/lab/README.md.
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
/bin/busybox --install -s /bin
export PATH=/bin

guest=unknown mem_ws=0 mem_rate=0 disk_ws=0 disk_rate=0
for arg in $(cat /proc/cmdline); do
    case "$arg" in
        hm.guest=*) guest="${arg#*=}" ;;
        hm.mem_ws=*) mem_ws="${arg#*=}" ;;
        hm.mem_rate=*) mem_rate="${arg#*=}" ;;
        hm.disk_ws=*) disk_ws="${arg#*=}" ;;
        hm.disk_rate=*) disk_rate="${arg#*=}" ;;
    esac
done

# virtio modules in dependency order (the list is made when the image is built).
for module in $(cat /lib/modules/load-order); do
    insmod "/lib/modules/$module" || echo "HOTMIG WARN insmod $module failed"
done
disk=/dev/vda
tries=0
while [ ! -b "$disk" ] && [ "$tries" -lt 100 ]; do
    sleep 0.1
    tries=$((tries + 1))
done
[ -b "$disk" ] || disk=none

echo "HOTMIG BOOT guest=$guest mem_ws=$mem_ws mem_rate=$mem_rate disk=$disk disk_ws=$disk_ws disk_rate=$disk_rate"
# Not exec: if the workload dies, PID 1 must stay (its death would panic the kernel) and say so.
/bin/hmguest "$mem_ws" "$mem_rate" "$disk" "$disk_ws" "$disk_rate"
echo "HOTMIG EXIT rc=$?"
while :; do sleep 3600; done
