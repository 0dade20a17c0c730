#!/bin/sh
# make_certs.sh: a cluster CA and a certificate for each node, for the
# tests of TLS on harbor links: DIR/ca.pem and ca.key, and for each NODE,
# DIR/NODE.pem (CN and subjectAltName DNS = NODE, signed by the CA, for
# either end of a link; localhost's also names IP 127.0.0.1, for the
# gate's TLS clients) and DIR/NODE.key. P-256 keys: made in
# milliseconds. DIR is made whole or not at all (built beside it, then
# renamed into place; an empty DIR is replaced), so that processes racing
# to make the same DIR all find it complete; one already made is kept.
# Usage: make_certs.sh DIR NODE...
set -eu
if [ $# -lt 2 ]; then
	echo "usage: $0 DIR NODE..." >&2
	exit 2
fi
dir=${1%/}
shift
[ -f "$dir/ca.pem" ] && exit 0
tmp=$(mktemp -d "$dir.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

key() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$1" 2>/dev/null
}

cat > "$tmp/ca.ext" <<'END'
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
END
key "$tmp/ca.key"
openssl req -new -key "$tmp/ca.key" -subj "/CN=wisp cluster CA" \
	-out "$tmp/ca.csr"
openssl x509 -req -in "$tmp/ca.csr" -signkey "$tmp/ca.key" -days 3650 \
	-extfile "$tmp/ca.ext" -out "$tmp/ca.pem" 2>/dev/null

for node in "$@"; do
	san="DNS:$node"
	# a server for clients on this host (the gate's tests)
	[ "$node" = localhost ] && san="$san, IP:127.0.0.1"
	printf '%s\n' "subjectAltName = $san" \
		"basicConstraints = critical, CA:FALSE" \
		"keyUsage = critical, digitalSignature" \
		"extendedKeyUsage = serverAuth, clientAuth" > "$tmp/node.ext"
	key "$tmp/$node.key"
	openssl req -new -key "$tmp/$node.key" -subj "/CN=$node" \
		-out "$tmp/node.csr"
	openssl x509 -req -in "$tmp/node.csr" -CA "$tmp/ca.pem" \
		-CAkey "$tmp/ca.key" -CAcreateserial -days 3650 \
		-extfile "$tmp/node.ext" -out "$tmp/$node.pem" 2>/dev/null
done
rm -f "$tmp/ca.csr" "$tmp/ca.ext" "$tmp/ca.srl" "$tmp/node.csr" \
	"$tmp/node.ext"
chmod 755 "$tmp"
# another process may have won the race: then its DIR stands
mv -T "$tmp" "$dir" 2>/dev/null || [ -f "$dir/ca.pem" ]
