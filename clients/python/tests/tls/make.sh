#!/usr/bin/env bash
# Makes the test-only TLS files of test_tls.py: a CA, a server certificate for localhost and
# 127.0.0.1, and a client certificate for mutual TLS, all EC P-256, valid for 100 years so the
# committed files do not expire under the tests. The keys are test fixtures, never trusted anywhere.
set -euo pipefail
cd "$(dirname "$0")"
days=36500
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days "$days" -subj "/CN=mcp0 test CA" \
  -keyout ca.key -out ca.crt -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign"
for who in server client; do
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=mcp0 test $who" -keyout "$who.key" -out "$who.csr"
  if [ "$who" = server ]; then ext="subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth"; else ext="extendedKeyUsage=clientAuth"; fi
  openssl x509 -req -in "$who.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days "$days" -out "$who.crt" -extfile <(printf '%s\n' "$ext")
  rm "$who.csr"
done
# The CA key signs nothing after this: not kept.
rm -f ca.srl ca.key
