#!/bin/bash
# Builds a small container image archive for the tests, from this host's
# busybox-static, with nothing downloaded: shell, tar, gzip and sha256sum.
# Prints the archive's path.
#
# usage: make-image.sh OUTDIR --format oci|docker|layout [--layers N] [--big SIZE]
#                      [--name NAME] [--cmd JSON] [--entrypoint JSON]
#                      [--env JSON] [--workdir DIR] [--user USER]
#
#   oci      OUTDIR/NAME.oci.tar: an OCI archive (a tar of an OCI layout),
#            gzip layers; `ctr image import` takes it (ref NAME:latest)
#   docker   OUTDIR/NAME.docker.tar: what `docker save` writes
#            (manifest.json, plain layer tars)
#   layout   OUTDIR/NAME.oci: the OCI layout directory itself
#   --layers N   N layers (default 2): the first holds busybox, /etc and
#                the usual directories; each next one adds /layers/N, and
#                the second also deletes /etc/motd (a whiteout) and
#                replaces /opt/old with an opaque directory
#   --big SIZE   one more layer with a file /big of SIZE (e.g. 50M) of
#                random bytes (incompressible, like most of a real image)
#   --cmd, --entrypoint, --env: JSON arrays of strings for the config
#                (default Cmd ["sh","-c","echo hello from the image"])
#   --workdir, --user: the config's WorkingDir and User
#   --hostile KIND  a last layer (or a change) that vmjail must refuse:
#                dotdot (an entry ../escaped), absolute (/escaped),
#                symlink (a symlink to /tmp, then a file written through
#                it), device (a character device node), digest (docker
#                format: a layer's bytes changed after its digest was taken)
# The users in /etc/passwd: root (0) and app (1000, group app 1000).
set -euo pipefail
export LC_ALL=C

die() { echo "make-image: $*" >&2; exit 1; }

[ $# -ge 1 ] || die "usage: make-image.sh OUTDIR --format oci|docker|layout [options]"
outdir=$1
shift
format="" layers=2 big="" name=vmjail-test
cmd='["sh","-c","echo hello from the image"]' entrypoint="" env='["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]'
workdir="" user="" hostile=""
while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || die "$1: needs a value"
	case $1 in
	--format) format=$2 ;;
	--layers) layers=$2 ;;
	--big) big=$2 ;;
	--name) name=$2 ;;
	--cmd) cmd=$2 ;;
	--entrypoint) entrypoint=$2 ;;
	--env) env=$2 ;;
	--workdir) workdir=$2 ;;
	--user) user=$2 ;;
	--hostile) hostile=$2 ;;
	*) die "$1: unknown option" ;;
	esac
	shift 2
done
case $format in oci|docker|layout) ;; *) die "--format: expected oci, docker or layout, found '$format'" ;; esac
case $hostile in ""|dotdot|absolute|symlink|device|digest) ;; *) die "--hostile: unknown kind '$hostile'" ;; esac
[ "$hostile" != digest ] || [ "$format" = docker ] || die "--hostile digest: with --format docker"
case $layers in [1-9]|[1-9][0-9]) ;; *) die "--layers: expected 1..99, found '$layers'" ;; esac
busybox=/bin/busybox
[ -x $busybox ] || die "no $busybox (busybox-static)"

mkdir -p "$outdir"
work=$(mktemp -d "$outdir/.make-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
blobs=$work/layout/blobs/sha256
mkdir -p "$blobs"

# A reproducible tar of a tree: owners root unless the tree says so, no times.
tar_tree() { # DIR OUT FORMAT
	tar -C "$1" --sort=name --mtime=@0 --numeric-owner --format="$3" \
		--pax-option=delete=atime,delete=ctime -cf "$2" . 2>/dev/null ||
		tar -C "$1" --sort=name --mtime=@0 --numeric-owner --format="$3" -cf "$2" .
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

diff_ids=() layer_blobs=() layer_sizes=() layer_tars=()
add_layer() { # DIR FORMAT
	local tarf=$work/layer$((${#layer_tars[@]} + 1)).tar
	tar_tree "$1" "$tarf" "$2"
	diff_ids+=("sha256:$(sha "$tarf")")
	layer_tars+=("$tarf")
	gzip -n -c "$tarf" >"$work/gz"
	local d
	d=$(sha "$work/gz")
	mv "$work/gz" "$blobs/$d"
	layer_blobs+=("$d")
	layer_sizes+=("$(stat -c %s "$blobs/$d")")
}

# Layer 1: busybox, one hard link per applet that the tests use, the
# rest as symlinks; /etc with users.
l=$work/l1
mkdir -p $l/bin $l/sbin $l/etc $l/tmp $l/proc $l/sys $l/dev $l/root $l/home/app $l/opt/old $l/usr/bin
cp $busybox $l/bin/busybox
for a in sh cat echo ls id pwd env; do ln $l/bin/busybox $l/bin/$a; done
for a in $($busybox --list); do [ -e $l/bin/$a ] || ln -s busybox $l/bin/$a; done
printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n' >$l/etc/passwd
printf 'root:x:0:\napp:x:1000:\n' >$l/etc/group
echo "welcome" >$l/etc/motd
echo old >$l/opt/old/file
chmod 1777 $l/tmp
chown 1000:1000 $l/home/app
add_layer $l posix
for i in $(seq 2 "$layers"); do
	l=$work/l$i
	mkdir -p $l/layers
	echo "layer $i" >$l/layers/$i
	if [ "$i" = 2 ]; then
		mkdir -p $l/etc $l/opt/old
		: >$l/etc/.wh.motd
		: >$l/opt/old/.wh..wh..opq
		echo new >$l/opt/old/new
	fi
	add_layer $l gnu
done
if [ -n "$big" ]; then
	l=$work/big
	mkdir -p $l
	head -c "$big" /dev/urandom >$l/big 2>/dev/null ||
		die "--big: expected a size head -c takes (50M), found '$big'"
	add_layer $l posix
fi

# GNU tar keeps a leading "../" or "/" only with -P: the layer then says
# what a hostile image would.
hostile_layer() {
	local l=$work/hostile tarf
	mkdir -p $l
	tarf=$work/layer$((${#layer_tars[@]} + 1)).tar
	case $hostile in
	dotdot | absolute)
		echo escaped >$l/escaped
		local to=../escaped
		[ $hostile = absolute ] && to=/tmp/escaped
		tar -C $l -P --transform="s,^escaped,$to," --format=posix -cf "$tarf" escaped ;;
	symlink)
		ln -s /tmp $l/link
		echo through >$l/through
		tar -C $l -P --transform='s,^through,link/through,' --format=posix -cf "$tarf" link through ;;
	device)
		mknod $l/null c 1 3
		tar -C $l --format=posix -cf "$tarf" null ;;
	esac
	diff_ids+=("sha256:$(sha "$tarf")")
	layer_tars+=("$tarf")
	gzip -n -c "$tarf" >"$work/gz"
	local d
	d=$(sha "$work/gz")
	mv "$work/gz" "$blobs/$d"
	layer_blobs+=("$d")
	layer_sizes+=("$(stat -c %s "$blobs/$d")")
}
case $hostile in
dotdot | absolute | symlink | device) hostile_layer ;;
esac

json_list() { local IFS=,; echo "$*"; }
for_ids=()
for d in "${diff_ids[@]}"; do for_ids+=("\"$d\""); done
config="{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":$env"
[ -n "$cmd" ] && config+=",\"Cmd\":$cmd"
[ -n "$entrypoint" ] && config+=",\"Entrypoint\":$entrypoint"
[ -n "$workdir" ] && config+=",\"WorkingDir\":\"$workdir\""
[ -n "$user" ] && config+=",\"User\":\"$user\""
config+="},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[$(json_list "${for_ids[@]}")]}}"
printf '%s' "$config" >"$work/config.json"
config_digest=$(sha "$work/config.json")

case $format in
oci|layout)
	cp "$work/config.json" "$blobs/$config_digest"
	entries=()
	for i in "${!layer_blobs[@]}"; do
		entries+=("{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:${layer_blobs[$i]}\",\"size\":${layer_sizes[$i]}}")
	done
	manifest="{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:$config_digest\",\"size\":$(stat -c %s "$work/config.json")},\"layers\":[$(json_list "${entries[@]}")]}"
	printf '%s' "$manifest" >"$work/manifest.json"
	md=$(sha "$work/manifest.json")
	mv "$work/manifest.json" "$blobs/$md"
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"docker.io/library/%s:latest","org.opencontainers.image.ref.name":"latest"}}]}' \
		"$md" "$(stat -c %s "$blobs/$md")" "$name" >"$work/layout/index.json"
	printf '{"imageLayoutVersion":"1.0.0"}' >"$work/layout/oci-layout"
	if [ $format = layout ]; then
		rm -rf "${outdir:?}/$name.oci"
		mv "$work/layout" "$outdir/$name.oci"
		echo "$outdir/$name.oci"
	else
		tar_tree "$work/layout" "$work/out.tar" posix
		mv "$work/out.tar" "$outdir/$name.oci.tar"
		echo "$outdir/$name.oci.tar"
	fi
	;;
docker)
	d=$work/docker
	mkdir -p "$d"
	cp "$work/config.json" "$d/$config_digest.json"
	paths=()
	for i in "${!layer_tars[@]}"; do
		h=${diff_ids[$i]#sha256:}
		mkdir -p "$d/$h"
		mv "${layer_tars[$i]}" "$d/$h/layer.tar"
		# A byte of /etc/passwd's data, after the digest was taken.
		if [ "$hostile" = digest ] && [ "$i" = 0 ]; then
			off=$(grep -abo 'root:x:0:0' "$d/$h/layer.tar" | head -1 | cut -d: -f1)
			printf 'R' | dd of="$d/$h/layer.tar" bs=1 seek="$off" conv=notrunc status=none
		fi
		paths+=("\"$h/layer.tar\"")
	done
	printf '[{"Config":"%s.json","RepoTags":["%s:latest"],"Layers":[%s]}]' \
		"$config_digest" "$name" "$(json_list "${paths[@]}")" >"$d/manifest.json"
	tar_tree "$d" "$work/out.tar" posix
	mv "$work/out.tar" "$outdir/$name.docker.tar"
	echo "$outdir/$name.docker.tar"
	;;
esac
