#!/bin/sh
# knocker's tests inside the virtual box (cargo xtask vm-test): cgroup v2 with every controller,
# a kernel-booted knocker init as PID 1, and containers started from the initramfs.
#
# Each test prints one line the host harness parses:
#   KNOCKER-TEST PASS <name>
#   KNOCKER-TEST FAIL <name>: <what was seen>
# and the run ends with "KNOCKER-TEST END <passed> <failed>". Then this job exits and the box's
# init powers off.

R=/var/lib/knocker/rootfs
PASSED=0
FAILED=0
pass() { echo "KNOCKER-TEST PASS $1"; PASSED=$((PASSED + 1)); }
fail() { echo "KNOCKER-TEST FAIL $1: $2" | tr '\n' ' '; echo; FAILED=$((FAILED + 1)); }
# expect NAME EXPECTED ACTUAL
expect() { if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "expected [$2] got [$3]"; fi; }
# contains NAME NEEDLE HAYSTACK
contains() { case "$3" in *"$2"*) pass "$1" ;; *) fail "$1" "no [$2] in [$3]" ;; esac; }
no_cgroups_left() { ls /sys/fs/cgroup/knocker 2>/dev/null | grep -v '^cgroup\.\|^cpu\|^io\.\|^memory\.\|^pids\.\|^hugetlb\|^misc\|^rdma' ; }

# --- the box: knocker's init as the kernel's PID 1 -------------------------------------------
expect init_is_pid_1 /init "$(readlink /proc/1/exe)"
for m in "proc /proc" "sysfs /sys" "devtmpfs /dev" "devpts /dev/pts" "tmpfs /dev/shm" "tmpfs /run"; do
    set -- $m
    if grep -q "^[^ ]* $2 $1 " /proc/mounts; then pass "system_mounts_$1_$(echo $2 | tr / _)"; else fail "system_mounts_$1$2" "$(cat /proc/mounts)"; fi
done
expect hostname_from_etc_hostname knocker-box "$(hostname)"
i=0; while [ $i -lt 200 ]; do (true &); i=$((i + 1)); done; sleep 1
expect zombies_reaped_by_the_box_init 0 "$(grep -l '^State:.*Z' /proc/[0-9]*/status 2>/dev/null | wc -l)"

# --- cgroup v2 ---------------------------------------------------------------------------------
expect cgroup2_mounted cgroup2 "$(grep ' /sys/fs/cgroup ' /proc/mounts | cut -d' ' -f3)"
for c in cpu io memory pids; do contains "cgroup2_controller_$c" " $c " " $(cat /sys/fs/cgroup/cgroup.controllers) "; done

out=$(launcher -v --memory 64M --pids 32 --name first "$R" cat /proc/self/cgroup 2>/tmp/err)
expect container_sees_its_cgroup_as_root "0::/" "$out"
contains started_with_clone3_into_cgroup "clone3(CLONE_INTO_CGROUP)" "$(cat /tmp/err)"

# While a container sleeps, its PID 1 is listed in the group's cgroup.procs.
launcher --memory 64M --name watch "$R" sleep 3 &
sleep 1.5
procs=$(cat /sys/fs/cgroup/knocker/watch/cgroup.procs 2>/dev/null | wc -l)
limit=$(cat /sys/fs/cgroup/knocker/watch/memory.max 2>/dev/null)
wait
if [ "$procs" -ge 2 ]; then pass container_in_its_cgroup; else fail container_in_its_cgroup "cgroup.procs lists $procs"; fi
expect memory_max_written 67108864 "$limit"

# The container's own cgroup, read-only at /sys/fs/cgroup inside (cgroup2 in its namespace).
out=$(launcher --memory 48M --pids 40 "$R" sh -c 'cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max; echo 1 > /sys/fs/cgroup/pids.max 2>/dev/null || echo read-only; grep " /sys/fs/cgroup " /proc/mounts | cut -d" " -f3' | tr '\n' ' ')
expect cgroup_view_inside "50331648 40 read-only cgroup2 " "$out"

# Without root, limits go to a delegated cgroup v2 subtree (as systemd's user@UID.service): the
# user owns /sys/fs/cgroup/deleg and runs in deleg/shell; the launcher makes deleg/knocker-NAME.
echo "knockeru:x:1000:1000::/tmp:/bin/sh" >> /etc/passwd
echo "knockeru:x:1000:" >> /etc/group
cp -a "$R" /tmp/urootfs && chown -R 1000:1000 /tmp/urootfs
echo "+memory +pids" > /sys/fs/cgroup/cgroup.subtree_control
mkdir -p /sys/fs/cgroup/deleg/shell && chown -R 1000:1000 /sys/fs/cgroup/deleg
sh -c 'echo $$ > /sys/fs/cgroup/deleg/shell/cgroup.procs; exec su knockeru -s /bin/sh -c "launcher --name ul --memory 48M --pids 30 /tmp/urootfs sh -c \"id -u; sleep 2\" > /tmp/ul.out 2>&1"' &
sleep 1
limits="$(cat /sys/fs/cgroup/deleg/knocker-ul/memory.max /sys/fs/cgroup/deleg/knocker-ul/pids.max 2>&1 | tr '\n' ' ')"
wait
expect rootless_limits_in_a_delegated_subtree "50331648 30 " "$limits"
expect rootless_container_ran "0" "$(cat /tmp/ul.out)"
if [ -e /sys/fs/cgroup/deleg/knocker-ul ]; then fail rootless_group_removed "still there"; else pass rootless_group_removed; fi
rmdir /sys/fs/cgroup/deleg/shell /sys/fs/cgroup/deleg 2>/dev/null

# --userns: the box's root is an initramfs, whose file system (on this kernel) cannot be
# idmapped: refused in one line, nothing left.
out=$(launcher --userns "$R" true 2>&1); rc=$?
expect userns_refused_where_rootfs_cannot_be_idmapped 125 "$rc"
contains userns_says_why "--userns: cannot idmap $R: EINVAL" "$out"
expect userns_refusal_is_one_line 1 "$(echo "$out" | wc -l)"

out=$(launcher --memory 32M "$R" tail /dev/zero 2>&1); rc=$?
expect oom_exit_137 137 "$rc"
contains oom_reported "container killed: out of memory (limit 32 MiB)" "$out"

out=$(launcher --pids 16 --tmpfs /tmp "$R" sh -c '(for i in $(seq 40); do sleep 5 & done) 2>/dev/null; n=0; for p in /proc/[0-9]*; do n=$((n+1)); done; echo $n')
if [ "$out" -ge 10 ] && [ "$out" -le 16 ]; then pass pids_limit_contains_a_fork_loop; else fail pids_limit_contains_a_fork_loop "$out processes"; fi

launcher --cpus 0.2 --name busy "$R" sh -c 'while :; do :; done' 2>/tmp/cpu-err &
sleep 2
throttled=$(grep nr_throttled /sys/fs/cgroup/knocker/busy/cpu.stat 2>/dev/null | cut -d' ' -f2)
kill -TERM $!
wait
if [ "${throttled:-0}" -gt 0 ]; then pass cpus_throttling_in_cpu_stat; else fail cpus_throttling_in_cpu_stat "nr_throttled=$throttled $(cat /tmp/cpu-err) $(ls /sys/fs/cgroup/knocker)"; fi

# A launcher killed with SIGKILL takes its container with it; the next run removes its cgroup.
launcher --memory 64M "$R" sleep 1237 &
lpid=$!
sleep 1.5
kill -KILL $lpid; wait $lpid 2>/dev/null
sleep 0.5
expect sigkill_kills_the_container 0 "$(grep -l '[s]leep 1237' /proc/[0-9]*/cmdline 2>/dev/null | wc -l)"
launcher --memory 64M "$R" true
expect stale_cgroup_swept "" "$(ls -d /sys/fs/cgroup/knocker/$lpid 2>/dev/null)"
expect no_cgroup_left_behind "" "$(no_cgroups_left)"

# --- containers as on the host ----------------------------------------------------------------
expect exit_code 3 "$(launcher "$R" sh -c 'exit 3'; echo $?)"
expect init_is_the_containers_pid_1 "2" "$(launcher "$R" sh -c 'echo $$')"
expect no_init_command_is_pid_1 "1" "$(launcher --no-init "$R" sh -c 'echo $$')"
expect only_lo "lo" "$(launcher "$R" sh -c "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '")"
# The OCI default set minus CAP_SYS_CHROOT: the box's root is the initramfs (see below).
expect capabilities "00000000a80025fb" "$(launcher "$R" sh -c "grep CapEff /proc/self/status | cut -f2")"
expect kcore_masked 0 "$(launcher "$R" sh -c 'cat /proc/kcore 2>/dev/null | wc -c')"
contains sysrq_trigger_read_only "Read-only" "$(launcher "$R" sh -c '{ echo h > /proc/sysrq-trigger; } 2>&1')"
contains mount_refused "denied" "$(launcher "$R" sh -c 'mount -t tmpfs x /mnt 2>&1')"
expect missing_command_127 127 "$(launcher "$R" /nonexistent 2>/dev/null; echo $?)"

# The box's root is the initramfs, where pivot_root is impossible: the fallback is used, said
# under -v, and the chroot escape it would allow is closed (no CAP_SYS_CHROOT).
contains initramfs_fallback_said "MS_MOVE + chroot" "$(launcher -v "$R" true 2>&1)"
touch /knocker-box-only
contains chroot_escape_closed_in_fallback "refused EPERM" "$(launcher "$R" /probe escape /knocker-box-only)"
expect no_mounts_left "$(wc -l < /proc/self/mountinfo)" "$(launcher "$R" true; wc -l < /proc/self/mountinfo)"

# --- containment on cgroup v2: the device program, the default pids limit, the stale sweep -----
# The box has a virtio disk; the modules it needs come with the test image, named in load order
# (xtask computes it from each module's own depends=); none when the kernel builds them in.
for m in /lib/knocker-test/*.ko; do
    [ -e "$m" ] || continue
    err=$(insmod "$m" 2>&1) || fail "insmod_$(basename $m)" "insmod failed: $err $(dmesg | tail -n 2)"
done
i=0; while [ ! -e /sys/block/vda/dev ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
dev=$(cat /sys/block/vda/dev 2>/dev/null); maj=${dev%:*}; min=${dev#*:}
[ -b /dev/vda ] || mknod /dev/vda b "$maj" "$min"
expect box_reads_its_disk KNOCKER-DISK "$(head -c 12 /dev/vda)"
EPERM="refused EPERM (Operation not permitted)"
EACCES="refused EACCES (Permission denied)"
# The control is the box itself (above); inside, the same node opens nothing: the rootfs is
# nodev, and on a tmpfs that is not (CAP_SYS_ADMIN mounts one) the BPF device program refuses.
expect container_disk_node_in_rootfs_refused "$EACCES" "$(launcher "$R" /probe node /tmp/d b "$maj" "$min")"
expect container_disk_node_in_dev_refused_with_ro "$EACCES" "$(launcher --ro "$R" /probe node /dev/d b "$maj" "$min")"
expect container_disk_refused_by_the_device_program "$EPERM" \
    "$(launcher --cap-add SYS_ADMIN "$R" sh -c "mount -t tmpfs x /mnt && /probe node /mnt/d b $maj $min")"
expect device_program_refuses_kmsg "$EPERM" "$(launcher --cap-add SYS_ADMIN "$R" sh -c 'mount -t tmpfs x /mnt && /probe node /mnt/k c 1 11')"
expect device_program_allows_null "opened" "$(launcher --cap-add SYS_ADMIN "$R" sh -c 'mount -t tmpfs x /mnt && /probe node /mnt/n c 1 3')"
expect device_option_reads "opened" "$(launcher --device /dev/vda:/dev/disk:r "$R" /probe open /dev/disk r)"
expect device_option_only_reads "$EPERM" "$(launcher --device /dev/vda:/dev/disk:r "$R" /probe open /dev/disk rw)"
expect disk_unchanged KNOCKER-DISK "$(head -c 12 /dev/vda)"

# --- --userns on cgroup v2: ROOTFS on the disk's ext4, which (unlike the initramfs) is idmapped ----
mkdir -p /mnt/disk && mount -t ext4 /dev/vda /mnt/disk && cp -a "$R" /mnt/disk/rootfs
U=/mnt/disk/rootfs
# Container root's setuid files land on the disk as host root's: a ROOTFS other users can reach
# is warned about under --userns too, and not once it is private.
contains userns_reachable_rootfs_warned "other users of this host can reach $U" "$(launcher --userns "$U" true 2>&1)"
chmod 700 /mnt/disk
expect userns_private_rootfs_not_warned "" "$(launcher --userns "$U" true 2>&1)"
launcher --userns --memory 48M --pids 30 --name un "$U" sh -c \
    'tr -s " " < /proc/self/uid_map; id -u; stat -c %u:%g /bin/busybox; cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max; touch /made; sleep 2' > /tmp/un.out 2>&1 &
sleep 1.5
first=$(head -1 /sys/fs/cgroup/knocker/un/cgroup.procs 2>/dev/null)
host_uid=$(awk '/^Uid:/ {print $2}' /proc/$first/status 2>/dev/null)
limits="$(cat /sys/fs/cgroup/knocker/un/memory.max /sys/fs/cgroup/knocker/un/pids.max 2>&1 | tr '\n' ' ')"
wait
expect userns_container_runs_as_an_unprivileged_host_id 2147483648 "$host_uid"
expect userns_limits_in_its_cgroup "50331648 30 " "$limits"
expect userns_inside_root_idmapped_limits_seen " 0 2147483648 65536 0 0:0 50331648 30 " "$(tr '\n' ' ' < /tmp/un.out)"
expect userns_file_made_inside_is_host_roots_on_disk 0 "$(stat -c %u $U/made)"
if [ -e /sys/fs/cgroup/knocker/un ] || [ -e /run/knocker/@userns/0.lock ]; then fail userns_nothing_left "$(ls /sys/fs/cgroup/knocker /run/knocker/@userns)"; else pass userns_nothing_left; fi
# With CAP_SYS_ADMIN in its namespace, container root still cannot open a host device the
# device rules allow (control: device_option_reads above), make a node, or write PID 1's memory.
out=$(launcher --userns --cap-add SYS_ADMIN --device /dev/vda:/dev/disk:r "$U" sh -c '/probe open /dev/disk r; /probe node /tmp/k c 1 11; /probe open /proc/1/mem rw')
expect userns_allowed_device_not_opened "$EACCES" "$(echo "$out" | sed -n 1p)"
contains userns_mknod_refused "mknod refused EPERM" "$(echo "$out" | sed -n 2p)"
contains userns_pid1_memory_refused "refused E" "$(echo "$out" | sed -n 3p)"
umount /mnt/disk

# Every container gets a cgroup with a pids limit: 15% of the kernel's, at least 64.
t=$(cat /proc/sys/kernel/threads-max); p=$(cat /proc/sys/kernel/pid_max); [ "$p" -lt "$t" ] && t=$p
want=$((t * 15 / 100)); [ "$want" -lt 64 ] && want=64
launcher --name pidsdefault "$R" sleep 2 &
sleep 1
expect default_pids_limit "$want" "$(cat /sys/fs/cgroup/knocker/pidsdefault/pids.max 2>/dev/null)"
wait

# A PID 1 that cleared its parent-death signal outlives its SIGKILLed launcher (the control);
# the next launcher kills it with cgroup.kill and removes its cgroup.
launcher --no-init --name orphan "$R" /probe nopdeath > /tmp/orphan &
lpid=$!
i=0; while ! grep -q ready /tmp/orphan && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
kill -KILL $lpid; wait $lpid 2>/dev/null
sleep 0.3
expect orphan_outlives_its_launcher 1 "$(grep -l '^/probe' /proc/[0-9]*/cmdline 2>/dev/null | wc -l)"
contains stale_container_killed_by_next_launcher "removed the cgroup knocker/orphan" "$(launcher "$R" true 2>&1)"
sleep 0.3
expect orphan_gone 0 "$(grep -l '^/probe' /proc/[0-9]*/cmdline 2>/dev/null | wc -l)"
expect orphan_cgroup_gone "" "$(ls -d /sys/fs/cgroup/knocker/orphan 2>/dev/null)"
expect no_cgroup_left_at_the_end "" "$(no_cgroups_left)"

# --- knocker, the OCI runtime, on cgroup v2 --------------------------------------------------------
mkdir -p /tmp/bundle && cd /tmp/bundle && knocker spec
sed -i -e 's/"terminal": true/"terminal": false/' -e "s|\"path\": \"rootfs\"|\"path\": \"$R\"|" \
    -e 's/^\([[:space:]]*\)"sh"$/\1"sh", "-c", "echo in-knocker; sleep 2"/' \
    -e 's/"resources": {/"resources": { "memory": {"limit": 33554432}, "pids": {"limit": 40}, "unified": {"memory.oom.group": "1"},/' config.json
knocker create oci1 > /tmp/oci1.out 2>&1
expect oci_created created "$(knocker state oci1 | sed 's/.*"status":"\([a-z]*\)".*/\1/')"
expect oci_memory_max 33554432 "$(cat /sys/fs/cgroup/knocker/oci1/memory.max 2>/dev/null)"
expect oci_pids_max 40 "$(cat /sys/fs/cgroup/knocker/oci1/pids.max 2>/dev/null)"
expect oci_unified_written 1 "$(cat /sys/fs/cgroup/knocker/oci1/memory.oom.group 2>/dev/null)"
knocker start oci1
sleep 0.5
expect oci_running running "$(knocker state oci1 | sed 's/.*"status":"\([a-z]*\)".*/\1/')"
expect oci_exec 'in exec' "$(knocker exec oci1 sh -c 'echo in exec')"
knocker pause oci1
expect oci_paused_v2 1 "$(grep frozen /sys/fs/cgroup/knocker/oci1/cgroup.events | cut -d' ' -f2)"
knocker resume oci1
knocker kill oci1 KILL
sleep 0.5
expect oci_stopped stopped "$(knocker state oci1 | sed 's/.*"status":"\([a-z]*\)".*/\1/')"
knocker delete oci1
expect oci_deleted "" "$(ls -d /sys/fs/cgroup/knocker/oci1 2>/dev/null)"
contains oci_output in-knocker "$(cat /tmp/oci1.out)"
expect oci_run_exit 3 "$(sed -i 's/sleep 2/exit 3/' config.json; knocker run oci2 >/dev/null 2>&1; echo $?)"
# Block I/O throttles and hugepage limits on cgroup2 (io.max, hugetlb.*.max), the box's disk by
# its numbers; without the hugetlb controller the limit is refused in one line instead.
mkdir -p /tmp/bundle3 && cd /tmp/bundle3 && knocker spec
disk=$(cat /sys/block/vda/dev 2>/dev/null || echo 254:0)
huge=""; case " $(cat /sys/fs/cgroup/cgroup.controllers) " in *" hugetlb "*) huge='"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}],' ;; esac
sed -i -e 's/"terminal": true/"terminal": false/' -e "s|\"path\": \"rootfs\"|\"path\": \"$R\"|" \
    -e 's/^\([[:space:]]*\)"sh"$/\1"sleep", "5"/' \
    -e "s/\"resources\": {/\"resources\": { $huge \"blockIO\": {\"throttleReadBpsDevice\": [{\"major\": ${disk%:*}, \"minor\": ${disk#*:}, \"rate\": 1048576}]},/" config.json
knocker run -d oci3 > /tmp/oci3.out 2>&1
contains oci_io_max_written "$disk rbps=1048576" "$(cat /sys/fs/cgroup/knocker/oci3/io.max 2>/dev/null; cat /tmp/oci3.out)"
if [ -n "$huge" ]; then
    expect oci_hugetlb_written 4194304 "$(cat /sys/fs/cgroup/knocker/oci3/hugetlb.2MB.max 2>/dev/null)"
else
    # (This kernel has no hugetlb controller: the limit is refused, never dropped.)
    sed -i 's/"resources": {/"resources": { "hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}],/' config.json
    contains oci_hugetlb_refused_without_its_controller "hugetlb" "$(knocker run oci4 2>&1; echo " exit $?")"
fi
# update, as containerd's CRI sends it: the new values read back from the group.
echo "{\"blockIO\": {\"throttleReadBpsDevice\": [{\"major\": ${disk%:*}, \"minor\": ${disk#*:}, \"rate\": 2097152}]}, \"unified\": {\"memory.high\": \"67108864\"}}" > /tmp/update3.json
knocker update --resources /tmp/update3.json oci3 > /tmp/update3.out 2>&1
contains oci_io_max_updated "$disk rbps=2097152" "$(cat /sys/fs/cgroup/knocker/oci3/io.max 2>/dev/null; cat /tmp/update3.out)"
expect oci_unified_updated 67108864 "$(cat /sys/fs/cgroup/knocker/oci3/memory.high 2>/dev/null)"
knocker delete -f oci3
expect oci3_deleted "" "$(ls -d /sys/fs/cgroup/knocker/oci3 2>/dev/null)"
cd /

echo "KNOCKER-TEST END $PASSED $FAILED"
