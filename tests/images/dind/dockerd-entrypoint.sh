#!/bin/sh
# Test stand-in for docker:dind's entrypoint, same contract:
# - no arguments, or arguments starting with "-", mean "dockerd with these extra flags";
# - the unix socket is $DOCKER_HOST when that is a unix:// URL, else /var/run/docker.sock;
# - DOCKER_TLS_CERTDIR non-empty: make a CA plus server and client certificates under it and
#   serve tcp://0.0.0.0:2376 with --tlsverify; empty: serve tcp://0.0.0.0:2375 with --tls=false
#   (said explicitly, else dockerd waits ~15 s before serving plain TCP).
set -eu

make_certs() {
  dir=$1
  [ -s "$dir/server/cert.pem" ] && return 0
  mkdir -p "$dir/ca" "$dir/server" "$dir/client"
  openssl genrsa -out "$dir/ca/key.pem" 2048 2>/dev/null
  openssl req -new -x509 -days 7 -key "$dir/ca/key.pem" -subj /CN=docker:dind-CA \
    -out "$dir/ca/cert.pem" 2>/dev/null
  sans="DNS:docker,DNS:localhost,DNS:$(hostname),IP:127.0.0.1"
  for ip in $(hostname -i 2>/dev/null); do sans="$sans,IP:$ip"; done
  [ -n "${DOCKER_TLS_SAN:-}" ] && sans="$sans,$DOCKER_TLS_SAN"
  sign "$dir" server "subjectAltName=$sans
extendedKeyUsage=serverAuth"
  sign "$dir" client "extendedKeyUsage=clientAuth"
  cp "$dir/ca/cert.pem" "$dir/server/ca.pem"
  cp "$dir/ca/cert.pem" "$dir/client/ca.pem"
  chmod 0644 "$dir/client/key.pem"
}

sign() {
  dir=$1 who=$2 ext=$3
  openssl genrsa -out "$dir/$who/key.pem" 2048 2>/dev/null
  openssl req -new -key "$dir/$who/key.pem" -subj "/CN=docker:dind $who" \
    -out "$dir/$who/csr.pem" 2>/dev/null
  printf '%s\n' "$ext" > "$dir/$who/ext.cnf"
  openssl x509 -req -days 7 -in "$dir/$who/csr.pem" -CA "$dir/ca/cert.pem" \
    -CAkey "$dir/ca/key.pem" -CAcreateserial -extfile "$dir/$who/ext.cnf" \
    -out "$dir/$who/cert.pem" 2>/dev/null
  rm -f "$dir/$who/csr.pem" "$dir/$who/ext.cnf"
}

if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
  sock=unix:///var/run/docker.sock
  case "${DOCKER_HOST:-}" in unix://*) sock=$DOCKER_HOST ;; esac
  if [ -n "${DOCKER_TLS_CERTDIR:-}" ]; then
    make_certs "$DOCKER_TLS_CERTDIR"
    c=$DOCKER_TLS_CERTDIR/server
    set -- dockerd --host="$sock" --host=tcp://0.0.0.0:2376 --tlsverify \
      --tlscacert "$c/ca.pem" --tlscert "$c/cert.pem" --tlskey "$c/key.pem" "$@"
  else
    set -- dockerd --host="$sock" --host=tcp://0.0.0.0:2375 --tls=false "$@"
  fi
fi
exec "$@"
