# A stand-in for a checkout's CI job, run by policy/examples/ci-job.yaml
# from its scratch disk (`make` puts this directory on
# build/guest/scratch.ext4): it reports what the job sees and leaves a mark
# on the scratch disk, which the next run counts.
set -e
echo "ci: cpus $(nproc)"
echo "ci: eth0 $(cat /sys/class/net/eth0/address)"
ip link set eth0 up && echo "ci: eth0 up"
if touch /ci-root-test 2>/dev/null; then
	echo "ci: root writable"
else
	echo "ci: root read-only"
fi
echo run >>runs.log
echo "ci: run $(wc -l <runs.log)"
