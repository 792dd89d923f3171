#!/bin/bash
# `make docker-base`: the Debian base image every project image builds on, made from Debian's
# packages instead of pulled from a registry (for machines that reach a Debian mirror but no image
# registry). debootstrap writes a minimal bookworm, `docker import` turns it into an image.
# Trust anchors this host added to Debian's own (a TLS-inspecting proxy's CA, say) go in too,
# so builds on it reach the package registries the host reaches; the Dockerfile installs them.
# Needs root (debootstrap) and a Docker engine.
set -euo pipefail
image=${1:?usage: docker/base.sh IMAGE}
if [ "$(id -u)" != 0 ]; then echo "docker-base: debootstrap needs root" >&2; exit 1; fi
command -v debootstrap >/dev/null || { echo "docker-base: no debootstrap (apt-get install debootstrap)" >&2; exit 1; }
root=$(mktemp -d /tmp/docker-base.XXXXXX)
trap 'rm -rf "$root"' EXIT
started=$SECONDS
debootstrap --variant=minbase bookworm "$root" >/dev/null
anchors="$root/usr/local/share/ca-certificates"
mkdir -p "$anchors"
cp /usr/local/share/ca-certificates/*.crt "$anchors/" 2>/dev/null || true
# a PEM file of /etc/ssl/certs that is no link into Debian's ca-certificates was added by hand
for pem in /etc/ssl/certs/*.pem; do
  case "$(basename "$pem")" in ssl-cert-snakeoil.pem) continue ;; esac  # this host's own, no CA
  if [ -f "$pem" ] && [ ! -L "$pem" ] && grep -q 'BEGIN CERTIFICATE' "$pem"; then
    cp "$pem" "$anchors/$(basename "${pem%.pem}").crt"
  fi
done
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import -c 'CMD ["/bin/bash"]' - "$image" >/dev/null
echo "docker-base: $image built from Debian's packages in $((SECONDS - started)) s" \
     "($(ls "$anchors" | wc -l) extra trust anchor(s) from this host)"
