#!/bin/bash
# test-vcard.sh - the virtual OpenPGP card tier: drive cardbridge-vcard with
# OpenSC's own tools (pkcs11-tool, opensc-tool, opensc-explorer,
# openpgp-tool) through a private pcscd, and check real outcomes with
# openssl. Speaks TAP like every tier (tests/local.mk): "ok"/"not ok" lines,
# the plan at the end, exit 1 if a check failed. Missing pcscd, vpcd, OpenSC
# or openssl: "1..0 # SKIP why" and exit 0, which the TAP driver counts as
# a skip (it would count exit status 77 as an error).
#
# It never touches a system pcscd or a real card: see pcsc-env.sh. Set
# VCARD_TEST_KEEP=1 to keep the work directory (logs, state, keys).

set -u

here=$(cd "$(dirname "$0")" && pwd)
. "$here/tier.sh"
tier_need pcscd pkcs11-tool opensc-tool opensc-explorer openssl
. "$here/pcsc-env.sh"
so_pin=12345678
user_pin=123456
t_list='' t_rsa='' t_sign=''	# set by timed()
tier_start test-vcard

# OpenSC 0.23 gives an OpenPGP card one slot per user PIN: index 0 is
# "User PIN" (PW1 mode 82: decipher, authenticate, keys 2 and 3), index 1 is
# "User PIN (sig)" (PW1 mode 81: the signature key 1).
slot_user="--slot-index 0"
slot_sig="--slot-index 1"

timed() {
	local var=$1 t0
	shift
	t0=$(now_ms)
	"$@"
	local rc=$?
	printf -v "$var" '%s' $(($(now_ms) - t0))
	return $rc
}

start_card() {
	if ! vcard_start "$work" --state "$work/card.state" "$@"; then
		not_ok "virtual card comes up in the private pcscd"
		exit 1
	fi
}

# --- environment ------------------------------------------------------------
if ! pcsc_env_start "$work"; then
	not_ok "private pcscd with vpcd starts"
	exit 1
fi
ok "private pcscd with vpcd starts (socket $PCSCLITE_CSOCK_NAME, port $PCSC_ENV_PORT)"
start_card
ok "virtual card is present in reader 0"

# --- token listing ----------------------------------------------------------
timed t_list p11 -L >"$work/list.out" 2>&1
if grep -q 'token label *: OpenPGP card' "$work/list.out" &&
	grep -q 'serial num *: fffe00000001' "$work/list.out"; then
	ok "pkcs11-tool -L shows the OpenPGP token"
else
	not_ok "pkcs11-tool -L shows the OpenPGP token"
	sed 's/^/#   /' "$work/list.out"
fi
echo "# pkcs11-tool -L: ${t_list} ms"

# --- key generation (admin PIN = CKU_SO) ----------------------------------
keygen() {
	p11 --login --login-type so --so-pin "$so_pin" --keypairgen --key-type "$1" --id "$2"
}
timed t_rsa check "RSA-2048 key pair generated as key 1 with the SO PIN" keygen rsa:2048 01
echo "# RSA-2048 keygen (pkcs11-tool end to end): ${t_rsa} ms"
check "EC P-256 key pair generated as key 3 with the SO PIN" keygen EC:prime256v1 03
check "RSA-2048 key pair generated as key 2 with the SO PIN" keygen rsa:2048 02

# --- public keys read back, signatures verified with openssl --------------
echo "cardbridge test data $$" >"$work/data"
read_pub() {	# read_pub SLOTARGS ID OUT
	p11 $1 --read-object --type pubkey --id "$2" --output-file "$work/$3.der" &&
		openssl pkey -pubin -inform DER -in "$work/$3.der" -out "$work/$3.pem"
}
check "RSA public key of key 1 is read back" read_pub "$slot_sig" 01 pub1
check "EC public key of key 3 is read back" read_pub "$slot_user" 03 pub3
check "RSA public key of key 2 is read back" read_pub "$slot_user" 02 pub2

sign_rsa() {
	p11 $slot_sig --login --pin "$user_pin" --sign --id 01 --mechanism SHA256-RSA-PKCS \
		--input-file "$work/data" --output-file "$work/sig1.bin"
}
timed t_sign check "key 1 signs SHA256-RSA-PKCS with the user PIN" sign_rsa
echo "# RSA-2048 sign (pkcs11-tool end to end): ${t_sign} ms"
check "openssl verifies the RSA signature against the read-back key" \
	openssl dgst -sha256 -verify "$work/pub1.pem" -signature "$work/sig1.bin" "$work/data"

sign_ec() {
	p11 $slot_user --login --pin "$user_pin" --sign --id 03 --mechanism ECDSA-SHA256 \
		--signature-format openssl --input-file "$work/data" --output-file "$work/sig3.der"
}
check "key 3 signs ECDSA-SHA256 (INTERNAL AUTHENTICATE) with the user PIN" sign_ec
check "openssl verifies the ECDSA signature against the read-back key" \
	openssl dgst -sha256 -verify "$work/pub3.pem" -signature "$work/sig3.der" "$work/data"

decrypt_rsa() {
	head -c 32 /dev/urandom >"$work/secret" &&
		openssl pkeyutl -encrypt -pubin -inkey "$work/pub2.pem" -pkeyopt rsa_padding_mode:pkcs1 \
			-in "$work/secret" -out "$work/secret.enc" &&
		p11 $slot_user --login --pin "$user_pin" --decrypt --id 02 --mechanism RSA-PKCS \
			--input-file "$work/secret.enc" --output-file "$work/secret.dec" &&
		cmp "$work/secret" "$work/secret.dec"
}
check "key 2 deciphers (PSO:DECIPHER) what openssl encrypted to its public key" decrypt_rsa

# --- certificate write (SO PIN), listed, read back identical ---------------
make_cert() {
	openssl req -x509 -new -key "$work/throwaway.key" -subj "/CN=cardbridge vcard test" \
		-days 1 -outform DER -out "$work/cert3.der" 2>/dev/null
}
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/throwaway.key" 2>/dev/null
check "a throw-away certificate is made with openssl" make_cert
check "certificate written to id 03 with the SO PIN" \
	p11 --login --login-type so --so-pin "$so_pin" --write-object "$work/cert3.der" --type cert --id 03
cert_listed() {
	p11 $slot_user -O >"$work/objects.out" 2>&1 &&
		grep -q 'Certificate Object' "$work/objects.out" &&
		grep -q 'CN=cardbridge vcard test' "$work/objects.out"
}
check "pkcs11-tool -O lists the certificate" cert_listed
cert_same() {
	p11 $slot_user --read-object --type cert --id 03 --output-file "$work/cert3.read" &&
		cmp "$work/cert3.der" "$work/cert3.read"
}
check "the certificate reads back byte for byte" cert_same

# --- PIN retry counter, lock, admin reset -------------------------------------
login_with() {
	p11 $slot_user --login --pin "$1" -O 2>&1
}
pin_lock() {
	local i
	for i in 1 2 3; do
		login_with 000000 | grep -q CKR_PIN_INCORRECT || { echo "try $i: not CKR_PIN_INCORRECT"; return 1; }
	done
	login_with "$user_pin" | grep -q CKR_PIN_LOCKED || { echo "right PIN not refused as locked"; return 1; }
	p11 -L | grep -q 'user PIN locked'
}
check "three wrong user PINs lock PW1 (CKR_PIN_LOCKED, token flag)" pin_lock
# OpenSC 0.23 has no PKCS#11 path for this on OpenPGP (C_InitPIN is
# CKR_FUNCTION_NOT_SUPPORTED); its card driver does it: VERIFY PW3, then
# RESET RETRY COUNTER P1=02 with the new PIN.
admin_reset() {
	printf 'verify CHV3 "%s"\nunblock CHV1 "" "%s"\n' "$so_pin" "$user_pin" |
		timeout 30 opensc-explorer 2>&1 | tee /dev/stderr | grep -q 'PIN unblocked' &&
		! login_with "$user_pin" | grep -q CKR_
}
check "the admin PIN resets the user PIN (opensc-explorer unblock) and login works again" admin_reset

# --- status words for malformed or unknown commands ---------------------------
sw_of() {	# sw_of APDU: print "SW1 SW2" as opensc-tool reports them
	timeout 10 opensc-tool -r 0 -s 00A4040006D27600012401 -s "$1" 2>&1 |
		sed -n 's/.*SW1=0x\([0-9A-Fa-f]*\), SW2=0x\([0-9A-Fa-f]*\).*/\1 \2/p' | tail -n 1
}
status_words() {
	[ "$(sw_of 00CA123400)" = "6A 88" ] && [ "$(sw_of 80CA006E00)" = "6E 00" ] &&
		[ "$(sw_of 00FE000000)" = "6D 00" ] && [ "$(sw_of 0047800002B600)" = "69 82" ] &&
		[ "$(sw_of 002A9E9A0400112233)" = "69 82" ] && [ "$(sw_of 0020008400)" = "6B 00" ]
}
check "unknown DO, CLA, INS and missing PINs answer 6A88, 6E00, 6D00, 6982, 6B00" status_words

# --- state persists across a restart of the card process ----------------------
vcard_stop
start_card
persisted() {
	p11 $slot_sig -O | grep -q 'Signature key' &&
		p11 $slot_user -O | grep -q 'CN=cardbridge vcard test' &&
		sign_rsa &&
		openssl dgst -sha256 -verify "$work/pub1.pem" -signature "$work/sig1.bin" "$work/data"
}
check "after a restart the keys and certificate are still there and key 1 still signs" persisted

# --- factory reset (TERMINATE DF + ACTIVATE FILE), then ECDH on key 2 ---------
# OpenSC refuses to generate a key over an existing ID (CKR_GENERAL_ERROR,
# "Non unique object ID"), so key 2 gets its EC key on an erased card.
erased() {
	timeout 30 openpgp-tool --erase &&
		! p11 $slot_user -O | grep -q 'Object;' &&
		! p11 $slot_sig -O | grep -q 'Object;' &&
		! login_with "$user_pin" | grep -q CKR_
}
check "openpgp-tool --erase resets the card to factory state (no keys, default PINs)" erased
ecdh() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/peer.key" &&
		openssl pkey -in "$work/peer.key" -pubout -outform DER -out "$work/peer.der" &&
		p11 $slot_user --login --pin "$user_pin" --derive --id 02 --mechanism ECDH1-DERIVE \
			--input-file "$work/peer.der" --output-file "$work/shared.card" &&
		openssl pkeyutl -derive -inkey "$work/peer.key" -peerkey "$work/pub2ec.pem" \
			-out "$work/shared.ssl" &&
		cmp "$work/shared.card" "$work/shared.ssl"
}
check "EC P-256 key pair generated as key 2 (ECDH) with the SO PIN" keygen EC:prime256v1 02
check "EC public key of key 2 is read back" read_pub "$slot_user" 02 pub2ec
check "key 2 derives (PSO:DECIPHER, ECDH) the secret openssl derives" ecdh

# --- card removed mid-operation ----------------------------------------------
# Count the APDUs a key generation sends before GENERATE ASYMMETRIC KEY PAIR
# (a dry run with --verbose on a copy of the state), then pull the card out
# right before it.
vcard_stop
mkdir -p "$work/dry"
cp "$work/card.state" "$work/dry/card.state"
vcard_start "$work/dry" --state "$work/dry/card.state" --verbose
keygen rsa:2048 01 >/dev/null 2>&1
vcard_stop
before_gen=$(grep -a ': C: ' "$work/dry/vcard.log" | grep -n -m 1 ': C: 00478000' | cut -d: -f1)
if [ -z "$before_gen" ]; then
	not_ok "dry run reaches GENERATE ASYMMETRIC KEY PAIR"
	before_gen=30
fi
remove_after=$((before_gen - 1))
start_card --remove-after "$remove_after"
removed_pid=$VCARD_PID
t0=$(now_ms)
keygen rsa:2048 01 >"$work/removed.out" 2>&1
keygen_rc=$?
t_removed=$(($(now_ms) - t0))
vcard_wait "$removed_pid" 10
card_rc=$?
if [ $keygen_rc -ne 0 ] && [ $keygen_rc -ne 124 ] && [ $card_rc -eq 3 ]; then
	ok "card pulled before GENERATE (APDU $((remove_after + 1))): keygen fails in ${t_removed} ms, no hang"
	echo "# pkcs11-tool said: $(grep -m 1 -o 'C_[A-Za-z]* failed: rv = [A-Z_]*' "$work/removed.out")"
else
	not_ok "card removed mid-operation (pkcs11-tool rc $keygen_rc, card rc $card_rc)"
	sed 's/^/#   /' "$work/removed.out"
fi
check "pcscd reports reader 0 empty after the removal" vcard_wait_absent 0
start_card
check "the card comes back with its keys after re-insertion" eval "p11 $slot_user -O | grep -q 'Encryption key'"

# --- injected key generation failure -------------------------------------------
vcard_stop
start_card --fail-keygen
fail_keygen() {
	local rc
	keygen EC:prime256v1 01
	rc=$?
	[ $rc -ne 0 ] && [ $rc -ne 124 ] &&
		grep -q 'fault injection: key generation fails' "$work/vcard.log"
}
check "--fail-keygen makes pkcs11-tool --keypairgen fail cleanly" fail_keygen

vcard_stop
if [ $failures -ne 0 ]; then
	echo "# $failures of $count checks failed"
	exit 1
fi
exit 0
