#!/bin/sh
# make-seeds.sh - generate the seed corpora of the fuzz targets.
#
# Usage: fuzz/make-seeds.sh [DIR]     (default: fuzz/corpus next to this script)
#
# Writes DIR/jsonrpc, DIR/ipc, DIR/url, DIR/certificate, DIR/subject, DIR/display and
# DIR/chain
# afresh; certificates and keys are made with the openssl CLI, so every run
# gives new bytes with the same meaning.  The output is committed (it is
# small) so that `make check` replays it without openssl; never edit a seed
# by hand, change this script.  A regression input found by fuzzing is
# added here too, as a seed named after what it caught.
set -eu
LC_ALL=C	# byte lengths and byte-exact printf
export LC_ALL

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/corpus}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

for t in jsonrpc ipc url certificate subject display chain; do
	rm -rf "${out:?}/$t"
	mkdir -p "$out/$t"
done

# seed TARGET NAME TEXT: TEXT exactly, no newline added.
seed() {
	printf '%s' "$3" >"$out/$1/$2"
}

# --- certificates (openssl CLI) ---

# openssl, quiet unless it fails
ossl() {
	openssl "$@" 2>"$tmp/openssl.err" || { cat "$tmp/openssl.err" >&2; return 1; }
}

cat >"$tmp/ca.cnf" <<'EOF'
[req]
distinguished_name = dn
[dn]
[ca]
default_ca = demo
[demo]
database = db.txt
new_certs_dir = .
serial = serial.txt
default_md = sha256
policy = any
copy_extensions = none
unique_subject = no
[any]
commonName = supplied
[leaf]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth, emailProtection
subjectAltName = email:anna@example.org
[ca_ext]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
(
	cd "$tmp"
	: >db.txt
	echo 1000 >serial.txt
	ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
		-subj "/C=DE/O=Demo CA/CN=Demo Root CA" -days 3650 -config ca.cnf \
		-extensions ca_ext -out ca.pem
	ossl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf-ec.key \
		-subj "/CN=Anna Example" -out leaf-ec.csr
	ossl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -extensions leaf -days 365 \
		-in leaf-ec.csr -out leaf-ec.pem -notext
	ossl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -extensions leaf \
		-startdate 20200101000000Z -enddate 20210101000000Z \
		-in leaf-ec.csr -out expired.pem -notext
	ossl req -x509 -newkey rsa:2048 -nodes -keyout rsa.key -days 365 \
		-subj "/C=FR/ST=Île-de-France/L=Paris/O=Exemple SA/OU=IT/CN=Zoé Exemple/emailAddress=zoe@example.fr" \
		-utf8 -out leaf-rsa.pem
	ossl req -x509 -newkey ed25519 -nodes -keyout ed.key -days 365 \
		-subj "/CN=Ed25519 key" -out ed25519.pem
	ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout p384.key \
		-days 365 -utf8 -subj "/CN=Иван Петров/O=Пример\, ООО/serialNumber=PNODE-1234" \
		-out utf8.pem
	for c in ca leaf-ec leaf-rsa expired ed25519 utf8; do
		ossl x509 -in $c.pem -outform DER -out $c.der
	done
)

cert=$out/certificate
for c in ca leaf-ec leaf-rsa expired ed25519 utf8; do
	cp "$tmp/$c.pem" "$cert/$c.pem"
	# the DER forms of the target: 0x00 = one line of base64, 0x01 = PEM
	{ printf '\000'; cat "$tmp/$c.der"; } >"$cert/der-base64-$c"
	{ printf '\001'; cat "$tmp/$c.der"; } >"$cert/der-pem-$c"
done
base64 -w0 <"$tmp/leaf-ec.der" >"$cert/leaf-ec.b64"
base64 -w64 <"$tmp/leaf-rsa.der" >"$cert/leaf-rsa-wrapped.b64"
{ printf '  \n\t'; cat "$tmp/leaf-ec.pem"; } >"$cert/leading-space.pem"
cat "$tmp/leaf-ec.pem" "$tmp/ca.pem" >"$cert/two-blocks.pem"
{ cat "$tmp/leaf-ec.pem"; printf 'trailing words\n'; } >"$cert/trailing-text.pem"
head -c 300 "$tmp/leaf-rsa.pem" >"$cert/truncated.pem"
{ cat "$tmp/leaf-ec.der"; printf 'XY'; } | base64 -w0 >"$cert/trailing-der.b64"
head -c 200 "$tmp/leaf-ec.der" | base64 -w0 >"$cert/truncated-der.b64"
cp "$tmp/leaf-ec.csr" "$cert/csr-not-certificate.pem"
sed 's/CERTIFICATE/X509 CRL/' "$tmp/ca.pem" >"$cert/wrong-label.pem"
base64 -w0 <"$tmp/leaf-ec.der" | sed 's/=*$/===/' >"$cert/bad-padding.b64"
# regression (fuzz-certificate): the NULL parameters of the outer (unsigned)
# signatureAlgorithm turned into an empty constructed [UNIVERSAL 15], which
# OpenSSL re-encodes differently (doc/TESTING.md, finding C1).  RSA leaf:
# 30 82 xx xx, then the tbsCertificate 30 82 LL LL, then 30 0d 06 09 <9> 05 00.
der=$tmp/leaf-rsa.der
tbs_len=$(($(od -An -tu1 -j6 -N1 "$der") * 256 + $(od -An -tu1 -j7 -N1 "$der")))
at=$((8 + tbs_len + 13))
test "$(od -An -tx1 -j$at -N1 "$der" | tr -d ' ')" = 05
cp "$der" "$tmp/odd-param.der"
printf '\057' | dd of="$tmp/odd-param.der" bs=1 seek=$at conv=notrunc 2>/dev/null
{ printf '\000'; cat "$tmp/odd-param.der"; } >"$cert/der-base64-outer-algorithm-odd-tag"
# ... and as an empty constructed [UNIVERSAL 0], which OpenSSL reads but
# re-encodes as 00 00, which it then cannot read back (finding C1).
cp "$der" "$tmp/eoc-param.der"
printf '\040' | dd of="$tmp/eoc-param.der" bs=1 seek=$at conv=notrunc 2>/dev/null
{ printf '\001'; cat "$tmp/eoc-param.der"; } >"$cert/der-pem-outer-algorithm-eoc"
seed certificate garbage 'MII not base64 at all!'
seed certificate empty-pem '-----BEGIN CERTIFICATE-----
-----END CERTIFICATE-----
'

# --- jsonrpc: a page's messages ---

# The leaf certificate as a JSON string body (newlines escaped).
pem_json() {
	awk '{ printf "%s\\n", $0 }' "$1"
}
leaf=$(pem_json "$tmp/leaf-ec.pem")
ca=$(pem_json "$tmp/ca.pem")
head='"jsonrpc":"2.0","id":1'
token='"token":"pkcs11:model=PKCS%2315%20emulated;serial=0123456789abcdef;token=Anna"'

seed jsonrpc hello "{$head,\"method\":\"system.hello\"}"
seed jsonrpc hello-string-id '{"jsonrpc":"2.0","id":"a-1","method":"system.hello","params":{}}'
seed jsonrpc hello-notification '{"jsonrpc":"2.0","method":"system.hello"}'
seed jsonrpc hello-id-null '{"jsonrpc":"2.0","id":null,"method":"system.hello"}'
seed jsonrpc tokens-list "{$head,\"method\":\"tokens.list\",\"params\":{}}"
seed jsonrpc certificates-list "{$head,\"method\":\"certificates.list\",\"params\":{$token}}"
seed jsonrpc keys-list "{$head,\"method\":\"keys.list\",\"params\":{$token}}"
seed jsonrpc pins-change-so "{$head,\"method\":\"pins.change\",\"params\":{$token,\"which\":\"so\"}}"
seed jsonrpc pins-unblock "{$head,\"method\":\"pins.unblock\",\"params\":{$token}}"
seed jsonrpc pins-initialize "{$head,\"method\":\"pins.initialize\",\"params\":{$token}}"
seed jsonrpc keys-delete "{$head,\"method\":\"keys.delete\",\"params\":{$token,\
\"keyId\":\"5c2f0e8a4b1d9f3e\",\"withCertificates\":true}}"
seed jsonrpc certificates-delete-serial "{$head,\"method\":\"certificates.delete\",\"params\":{\
$token,\"serial\":\"1A2b\",\"issuer\":\"CN=Demo CA,O=Example\"}}"
seed jsonrpc certificates-delete-both "{$head,\"method\":\"certificates.delete\",\"params\":{\
$token,\"keyId\":\"01\",\"serial\":\"01\",\"issuer\":\"CN=x\"}}"
seed jsonrpc param-key-id-odd "{$head,\"method\":\"keys.delete\",\"params\":{$token,\"keyId\":\"abc\"}}"
seed jsonrpc events-subscribe "{$head,\"method\":\"events.subscribe\"}"
seed jsonrpc events-unsubscribe "{$head,\"method\":\"events.unsubscribe\"}"
seed jsonrpc keys-generate-ec "{$head,\"method\":\"keys.generate\",\"params\":{$token,\
\"algorithm\":{\"type\":\"ec\",\"curve\":\"P-256\"},\"label\":\"Signature key\",\
\"subject\":{\"CN\":\"Anna Example\",\"emailAddress\":\"anna@example.org\",\"GN\":\"Anna\",\
\"SN\":\"Example\",\"O\":\"Example AG\",\"OU\":\"IT\",\"C\":\"CH\",\"L\":\"Bern\",\"ST\":\"BE\",\
\"serialNumber\":\"ID-4711\"},\"overwrite\":false}}"
seed jsonrpc keys-generate-rsa "{$head,\"method\":\"keys.generate\",\"params\":{$token,\
\"algorithm\":{\"type\":\"rsa\",\"bits\":2048},\"subject\":{\"CN\":\"Zo\\u00e9 \\/ \\\"x\\\"\"}}}"
seed jsonrpc certificates-install "{$head,\"method\":\"certificates.install\",\"params\":{$token,\
\"certificate\":\"$leaf\",\"chain\":[\"$ca\"],\"label\":\"Anna\",\"allowExpired\":false}}"
seed jsonrpc control-origins-allow \
	"{$head,\"method\":\"control.origins.allow\",\"params\":{\"origin\":\"https://portal.example\"}}"
seed jsonrpc control-status "{$head,\"method\":\"control.status\"}"
# envelope and JSON edge cases, each refused with a specific error
seed jsonrpc dup-key '{"jsonrpc":"2.0","id":1,"id":2,"method":"system.hello"}'
seed jsonrpc dup-key-escaped '{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":1,"\u0061":2}}'
seed jsonrpc dup-key-nul '{"jsonrpc":"2.0","id":1,"method":"x","params":{"a\u0000b":1,"a\u0000c":2}}'
seed jsonrpc dup-key-nested '{"jsonrpc":"2.0","id":1,"method":"x","params":{"s":{"CN":"a","CN":"b"}}}'
seed jsonrpc dup-key-surrogates '{"jsonrpc":"2.0","id":1,"method":"x","params":{"\ud800":1,"\udc00":2}}'
# regression (fuzz-jsonrpc): proto_check_duplicate_keys() shifted -1 on a bad \u escape
seed jsonrpc dup-key-bad-hex-escape '{"jsonrpc":"2.0","id":1,"method":"x","params":{"\uzzzz":1}}'
# regression (fuzz-jsonrpc): a \u escape that swallows the closing quote made
# proto_check_duplicate_keys() write past its key buffer (heap overflow)
seed jsonrpc dup-key-escape-eats-quote '{"jsonrpc":"2.0","id":1,"method":"x","params":{"\u"abcdefgh":1}}'
seed jsonrpc batch '[{"jsonrpc":"2.0","id":1,"method":"system.hello"}]'
seed jsonrpc top-null 'null'
seed jsonrpc top-string '"system.hello"'
# 16 levels in all (the default max_depth), then 17
open=; close=
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14; do open="$open["; close="$close]"; done
seed jsonrpc depth-16 "{$head,\"method\":\"x\",\"params\":{\"a\":$open$close}}"
seed jsonrpc depth-17 "{$head,\"method\":\"x\",\"params\":{\"a\":$open[]$close}}"
seed jsonrpc id-too-big '{"jsonrpc":"2.0","id":9007199254740992,"method":"system.hello"}'
seed jsonrpc id-max-safe '{"jsonrpc":"2.0","id":-9007199254740991,"method":"system.hello"}'
seed jsonrpc id-huge '{"jsonrpc":"2.0","id":99999999999999999999999,"method":"system.hello"}'
seed jsonrpc id-float '{"jsonrpc":"2.0","id":1.5,"method":"system.hello"}'
seed jsonrpc id-object '{"jsonrpc":"2.0","id":{},"method":"system.hello"}'
seed jsonrpc unknown-member '{"jsonrpc":"2.0","id":1,"method":"system.hello","extra":true}'
seed jsonrpc version-wrong '{"jsonrpc":"2.0 ","id":1,"method":"system.hello"}'
seed jsonrpc method-rpc '{"jsonrpc":"2.0","id":1,"method":"rpc.discover"}'
seed jsonrpc method-unknown '{"jsonrpc":"2.0","id":1,"method":"keys.delete"}'
seed jsonrpc method-bad-chars '{"jsonrpc":"2.0","id":1,"method":"system.hello\u0000"}'
seed jsonrpc params-array '{"jsonrpc":"2.0","id":1,"method":"system.hello","params":[1]}'
seed jsonrpc param-unknown "{$head,\"method\":\"certificates.list\",\"params\":{$token,\"x\":1}}"
seed jsonrpc param-missing "{$head,\"method\":\"keys.generate\",\"params\":{$token}}"
seed jsonrpc param-type "{$head,\"method\":\"keys.generate\",\"params\":{$token,\
\"algorithm\":{\"type\":\"rsa\",\"bits\":\"2048\"}}}"
seed jsonrpc param-bits-huge "{$head,\"method\":\"keys.generate\",\"params\":{$token,\
\"algorithm\":{\"type\":\"rsa\",\"bits\":184467440737095516160}}}"
seed jsonrpc param-control-char "{$head,\"method\":\"keys.generate\",\"params\":{$token,\
\"algorithm\":{\"type\":\"ec\"},\"label\":\"a\\u001bb\"}}"
seed jsonrpc param-too-long "{$head,\"method\":\"keys.generate\",\"params\":{$token,\
\"algorithm\":{\"type\":\"ec\"},\"subject\":{\"C\":\"CHE\"}}}"
seed jsonrpc chain-17 "{$head,\"method\":\"certificates.install\",\"params\":{\"certificate\":\"x\",\
\"chain\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\",\"11\",\"12\",\"13\",\"14\",\
\"15\",\"16\",\"17\"]}}"
seed jsonrpc chain-not-strings "{$head,\"method\":\"certificates.install\",\"params\":{\
\"certificate\":\"x\",\"chain\":[\"a\",1]}}"
seed jsonrpc nan '{"jsonrpc":"2.0","id":NaN,"method":"system.hello"}'
seed jsonrpc single-quotes "{'jsonrpc':'2.0','id':1,'method':'system.hello'}"
seed jsonrpc trailing-data '{"jsonrpc":"2.0","id":1,"method":"system.hello"} {}'
seed jsonrpc trailing-space '{"jsonrpc":"2.0","id":1,"method":"system.hello"} 	
'
seed jsonrpc truncated '{"jsonrpc":"2.0","id":1,"method":"system.hel'
seed jsonrpc empty ''
seed jsonrpc number-forms "{$head,\"method\":\"x\",\"params\":{\"a\":[1E2,-0,0.5e-3,1e400]}}"
printf '{"jsonrpc":"2.0","id":1,"method":"system.hello"}\000' >"$out/jsonrpc/trailing-nul"
printf '{"jsonrpc":"2.0","id":"\300\257","method":"system.hello"}' >"$out/jsonrpc/utf8-overlong"
printf '{"jsonrpc":"2.0","id":"\355\240\200","method":"system.hello"}' >"$out/jsonrpc/utf8-surrogate"
printf '{"jsonrpc":"2.0","id":"\364\220\200\200","method":"x"}' >"$out/jsonrpc/utf8-above-max"
printf '{"jsonrpc":"2.0","id":"\342\202","method":"x"}' >"$out/jsonrpc/utf8-cut"

# --- subject: params.subject of keys.generate, as JSON ---

seed subject all-fields '{"CN":"Anna Example","emailAddress":"anna@example.org","GN":"Anna",
"SN":"Example","O":"Example AG","OU":"IT","C":"ch","L":"Bern","ST":"BE","serialNumber":"ID-4711"}'
seed subject cn-only '{"CN":"Anna"}'
seed subject empty-object '{}'
seed subject cyrillic '{"CN":"Иванов Иван Иванович","O":"ООО «Пример»","C":"RU"}'
# 40 characters in 80 bytes, 22 in 66: X.520 and the helper allow them, the
# daemon counts bytes (doc/TESTING.md, finding D1)
seed subject cyrillic-40-chars '{"CN":"ИвановИвановИвановИвановИвановИвановИван"}'
seed subject cjk-22-chars '{"CN":"山田太郎山田太郎山田太郎山田太郎山田太郎山田"}'
seed subject cn-64 '{"CN":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}'
seed subject cn-65 '{"CN":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}'
seed subject emoji '{"CN":"\ud83d\udd11 Key","OU":"😀"}'
seed subject combining '{"CN":"Zoe\u0301 e\u0308"}'
seed subject bidi-override '{"CN":"Anna \u202egpj.exe"}'
seed subject escapes '{"CN":"a,b+c=d\"e\\\\f<g>h;i#j"}'
seed subject leading-space '{"CN":" #Anna "}'
seed subject country-digits '{"C":"D1"}'
seed subject country-long '{"C":"DEU"}'
seed subject country-non-ascii '{"C":"ÄÖ"}'
seed subject email-no-at '{"emailAddress":"anna.example.org"}'
seed subject email-two-at '{"emailAddress":"a@b@c"}'
seed subject email-space '{"emailAddress":"a b@c"}'
seed subject email-non-ascii '{"emailAddress":"zoé@example.fr"}'
seed subject serial-not-printable '{"serialNumber":"ID_4711"}'
seed subject serial-printable '{"serialNumber":"A-Z a-z 0-9 '\''()+,-./:=?"}'
seed subject control-char '{"CN":"a\u0007b"}'
seed subject c1-control '{"CN":"a\u0085b"}'
seed subject nul '{"CN":"a\u0000b"}'
seed subject empty-value '{"CN":""}'
seed subject null-value '{"CN":null,"O":"Example"}'
seed subject number-value '{"CN":42}'
seed subject nested '{"CN":{"CN":"x"}}'
seed subject unknown-key '{"UID":"anna"}'
seed subject unknown-key-long '{"ИвановИвановИвановИвановИвановИвановИв":"x"}'
seed subject dup-key '{"CN":"a","CN":"b"}'
seed subject not-object '["CN","Anna"]'
seed subject break-out '{"CN":"a"},"label":"x"'

# --- url: scheme-handler URLs, Origin and Host headers ---

seed url start 'cardbridge://start'
seed url start-slash 'cardbridge://start/'
seed url start-upper 'cardbridge://Start'
seed url scheme-upper 'CARDBRIDGE://start'
seed url no-slashes 'cardbridge:start'
seed url query 'cardbridge://start?origin=https://evil.example'
seed url fragment 'cardbridge://start#x'
seed url path 'cardbridge://start/../../etc/passwd'
seed url percent 'cardbridge://st%61rt'
seed url userinfo 'cardbridge://user@start'
seed url port 'cardbridge://start:80'
seed url unknown-verb 'cardbridge://stop'
seed url empty-verb 'cardbridge://'
seed url space 'cardbridge://start '
printf 'cardbridge://start\000/x' >"$out/url/embedded-nul"
printf 'cardbridge://st\303\244rt' >"$out/url/non-ascii"
seed url origin-https 'https://portal.example'
seed url origin-port 'https://portal.example:8443'
seed url origin-default-port 'https://portal.example:443'
seed url origin-http-default-port 'http://localhost:80'
seed url origin-http-remote 'http://portal.example'
seed url origin-http-localhost 'http://localhost:8080'
seed url origin-http-127 'http://127.0.0.1:47110'
seed url origin-http-127-short 'http://127.1:8080'
seed url origin-ipv6-loopback 'http://[::1]:8080'
seed url origin-ipv6-long 'http://[0:0:0:0:0:0:0:1]:8080'
seed url origin-ipv6-mapped 'http://[::ffff:127.0.0.1]'
# regression (fuzz-url): an upper-case IPv6 literal was taken as an origin
seed url origin-ipv6-upper 'http://[::fFff:27.0.0.1]'
seed url origin-ipv6-bad 'https://[::1'
seed url origin-ipv6-zone 'http://[fe80::1%25eth0]'
seed url origin-upper 'https://Portal.example'
seed url origin-slash 'https://portal.example/'
seed url origin-userinfo 'https://user@portal.example'
seed url origin-port-zero 'https://portal.example:0'
seed url origin-port-leading-zero 'https://portal.example:08443'
seed url origin-port-big 'https://portal.example:65536'
seed url origin-port-empty 'https://portal.example:'
seed url origin-dots 'https://portal..example'
seed url origin-trailing-dot 'https://portal.example.'
seed url origin-punycode 'https://xn--bcher-kva.example'
seed url origin-null 'null'
seed url origin-file 'file://'
seed url host-127 '127.0.0.1:47110'
seed url host-localhost 'localhost:47110'
seed url host-localhost-upper 'LocalHost:47110'
seed url host-ipv6 '[::1]:47110'
seed url host-other-port '127.0.0.1:47111'
seed url host-no-port 'localhost'
seed url host-rebind 'evil.example:47110'
seed url host-127-2 '127.0.0.2:47110'
seed url host-trailing-dot 'localhost.:47110'

# --- ipc: byte 0 = chunk-size count - 1 (low 3 bits) | 8 for a small max_frame
#     (then one byte: max_frame - 1), the chunk sizes - 1, then the stream ---

# frame TEXT: 4-byte big-endian length, then TEXT (under 256 bytes)
frame() {
	printf '\000\000\000'"$(printf '\\%03o' ${#1})"'%s' "$1"
}
hello='{"id":1,"method":"hello","params":{}}'
reply='{"id":1,"result":{"name":"cardbridge-pkcs11-helper","modules":[]}}'
event='{"event":"tokens.changed"}'
{ printf '\000\377'; frame "$hello"; } >"$out/ipc/one-frame"
{ printf '\003\000\001\002\003'; frame "$hello"; frame "$reply"; } >"$out/ipc/two-frames-small-chunks"
{ printf '\000\000'; frame "$event"; } >"$out/ipc/byte-by-byte"
{ printf '\001\004\377'; frame "$reply"; frame "$event"; frame "$hello"; } >"$out/ipc/three-frames"
{ printf '\010\017\377'; frame "$hello"; } >"$out/ipc/oversize-small-max"
{ printf '\010\077\002'; frame "$event"; } >"$out/ipc/fits-small-max"
{ printf '\000\377'; frame "$event"; printf '\000\000\000\000'; } >"$out/ipc/empty-frame"
{ printf '\000\377\000\000\000\005ab\000cd'; } >"$out/ipc/nul-in-frame"
{ printf '\000\377'; frame "$hello" | head -c 20; } >"$out/ipc/truncated"
{ printf '\000\002\377\377\377\377xyz'; } >"$out/ipc/length-max"
{ printf '\000\377\000\020\000\001xyz'; } >"$out/ipc/length-just-over-limit"
{ printf '\007\000\001\002\003\004\005\006\007'; frame "$hello"; frame "$event"; frame "$reply"; } \
	>"$out/ipc/eight-sizes"

# --- display: a limit byte, then text a dialog must show safely ---
d="$out/display"
printf '@Zo\303\253 Test' >"$d/plain"
printf '<https://portal.bank.example.com.%s.evil.example' \
	aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa >"$d/long-origin"
printf '\000Joe\342\200\250\342\234\224 Verified\342\200\251Press OK' >"$d/line-separators"
printf '\010\342\200\256eod eoJ\342\200\254 key' >"$d/bidi"
printf '\020ev\342\200\213il\357\273\277.example\302\255' >"$d/zero-width"
printf '\005\345\261\261\345\261\261\345\261\261\345\261\261\345\261\261\345\261\261' >"$d/cut-cjk"
printf '\003a\377b\345\261' >"$d/invalid"

# --- chain: certificates as 2-byte lengths and DER; the first one's path ---
# A root, an intermediate it signed and a leaf the intermediate signed; an
# unrelated CA; a look-alike named like the intermediate with its own key;
# and two CAs that signed each other (a loop).
(
	cd "$tmp"
	printf 'basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\n' >ca.ext
	printf 'basicConstraints=critical,CA:false\n' >leaf.ext
	for k in root sub unrelated lookalike loop-a loop-b leaf; do
		ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $k.key
	done
	ossl req -x509 -new -key root.key -subj "/CN=Demo Root CA" -days 365 -out root.pem
	ossl req -x509 -new -key unrelated.key -subj "/CN=Unrelated CA" -days 365 \
		-out unrelated.pem
	ossl req -x509 -new -key lookalike.key -subj "/CN=Demo Sub CA" -days 365 \
		-out lookalike.pem
	# issue KEY SUBJECT SIGNER-CERT SIGNER-KEY EXT OUT
	serial=7000
	issue() {
		serial=$((serial + 1))
		ossl req -new -key "$1" -subj "$2" -out issue.csr
		ossl x509 -req -in issue.csr -CA "$3" -CAkey "$4" -set_serial "$serial" \
			-days 365 -extfile "$5" -out "$6"
	}
	issue sub.key "/CN=Demo Sub CA" root.pem root.key ca.ext sub.pem
	issue leaf.key "/CN=Anna Example" sub.pem sub.key leaf.ext leaf.pem
	ossl req -x509 -new -key loop-b.key -subj "/CN=Loop B" -days 365 -out loop-b-self.pem
	issue loop-a.key "/CN=Loop A" loop-b-self.pem loop-b.key ca.ext loop-a.pem
	issue loop-b.key "/CN=Loop B" loop-a.pem loop-a.key ca.ext loop-b.pem
	issue leaf.key "/CN=Anna Looped" loop-a.pem loop-a.key leaf.ext leaf-loop.pem
	for c in root sub leaf unrelated lookalike loop-a loop-b leaf-loop; do
		ossl x509 -in $c.pem -outform DER -out $c.der
	done
)
# part FILE: its 2-byte big-endian length, then its bytes
part() {
	n=$(wc -c <"$1")
	printf "\\$(printf %03o $((n / 256)))\\$(printf %03o $((n % 256)))"
	cat "$1"
}
chain() {
	name=$1
	shift
	for c in "$@"; do
		if [ "$c" = garbage ]; then printf '\000\003abc'; else part "$tmp/$c.der"; fi
	done >"$out/chain/$name"
}
chain in-order leaf sub root
chain reversed leaf root sub
chain with-strangers leaf unrelated lookalike root sub
chain lookalike-only leaf lookalike
chain leaf-alone leaf
chain root-alone root root
chain leaf-twice leaf leaf sub
chain garbage-between leaf garbage sub root
chain loop leaf-loop loop-b loop-a
